"""The synthetic project (tests/synthetic/) as the pipeline sees it: a dbt project of its own (the
pipeline's project file, profiles and macros, with the synthetic models) and the settings that
point the pipeline at it instead of the project's own content."""

from __future__ import annotations

import shutil
from pathlib import Path

from config.datasets import load_datasets
from config.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from contract.dbt_sources import write_files
from resources.dbt import ensure_manifest

SYNTHETIC = PROJECT_ROOT / "tests" / "synthetic"
DATASETS_PATH = SYNTHETIC / "datasets.yaml"
ANALYTICS_PACKAGE = "tests.synthetic.analytics"
# What the pipeline brings to every dbt project: the rest (models, a project's own macros and
# tests) is the project's content, which the synthetic project replaces.
PIPELINE_DBT_FILES = ("dbt_project.yml", "profiles.yml", "macros/dataops")


def build_dbt_project(target: Path) -> Path:
    """The synthetic dbt project at ``target``, its generated sources written and its manifest parsed."""
    for name in PIPELINE_DBT_FILES:
        source = DBT_PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    shutil.copytree(SYNTHETIC / "dbt", target, dirs_exist_ok=True)
    write_files(load_datasets(DATASETS_PATH), target)
    ensure_manifest(target)
    return target


def content_settings(dbt_project_dir: Path) -> dict[str, object]:
    """Settings that make the synthetic project the pipeline's content."""
    return {"datasets_path": DATASETS_PATH, "dbt_project_dir": dbt_project_dir, "analytics_package": ANALYTICS_PACKAGE}


def content_environment(dbt_project_dir: Path) -> dict[str, str]:
    """The same, as the DATAOPS_* variables of a process (`dagster dev`, a command)."""
    return {f"DATAOPS_{name.upper()}": str(value) for name, value in content_settings(dbt_project_dir).items()}
