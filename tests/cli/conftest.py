"""A developer's working copy of the dbt project with one mart changed: what slim CI builds."""

import shutil
from pathlib import Path

import pytest

from resources.settings import DBT_PROJECT_DIR

CHANGED_MODEL = Path("models/marts/mart_carrier_daily_performance.sql")


def copy_of_dbt_project(folder: Path) -> Path:
    """The repository's dbt project as a developer's working copy, without build output."""
    project = folder / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    return project


@pytest.fixture
def working_copy(tmp_path) -> Path:
    """A developer's copy of the dbt project, with one mart changed (a new column)."""
    project = copy_of_dbt_project(tmp_path)
    model = project / CHANGED_MODEL
    model.write_text(model.read_text().replace("    carrier,\n", "    carrier,\n    'slim' as build_marker,\n", 1))
    return project
