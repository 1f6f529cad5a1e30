"""A dbt build starts from the parse of the build before it (resources/dbt.py, ``keep_parse_state``).

dbt keeps one parse state per project, in its target folder, and every build of every test writes
it. So the two builds run in a copy of the project (its code and dbt project, not its environment),
in a process of their own: builds of other tests running meanwhile cannot replace the state checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings
from resources.dbt import FINGERPRINT_FILE, INVOCATION_PREFIX

pytestmark = [pytest.mark.integration, pytest.mark.backends]

# Reference data loaded, then stg_airlines built twice through Dagster, as automation would.
TWO_BUILDS = """
import dagster as dg
from demo import replay
from config.datasets import load_datasets
from config.settings import Settings
from definitions import build_definitions
from jobs.landing import ingest_job_for

settings = Settings()
replay.main(["--reference"], settings=settings)
defs = build_definitions(settings)
instance = dg.DagsterInstance.ephemeral()
airlines = load_datasets(settings.datasets_path)["airlines"]
assert ingest_job_for(defs, [airlines]).execute_in_process(instance=instance).success
for _ in range(2):
    assert dg.materialize(
        list(defs.assets), selection=["staging/stg_airlines"], instance=instance, resources=defs.resources
    ).success
"""


def copy_of_project(root: Path) -> Path:
    """The project's files without its environment, data or dbt invocations; the manifest comes along."""
    skipped = shutil.ignore_patterns(".*", "__pycache__", "data", "target", "logs", "tests", "bench", "deploy")
    shutil.copytree(PROJECT_ROOT, root, ignore=skipped)
    target = root / DBT_PROJECT_DIR.name / "target"
    target.mkdir()
    for name in ("manifest.json", FINGERPRINT_FILE):
        shutil.copy2(DBT_PROJECT_DIR / "target" / name, target / name)
    return root


def test_a_second_dbt_build_reuses_the_parse_of_the_first(tmp_path, dbt_manifest, backend_overrides):
    project = copy_of_project(tmp_path / "project")
    settings = Settings(env="test", data_dir=tmp_path / "data", **backend_overrides())
    done = subprocess.run(
        [sys.executable, "-c", TWO_BUILDS],
        cwd=project,  # the copy's packages come first on the path, so its dbt project is the one used
        env={**os.environ, **settings.environment()},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = sorted((project / "dbt_project" / "target").glob(f"{INVOCATION_PREFIX}*"), key=os.path.getmtime)
    assert "UnableToPartialParse" in (first / "dbt.log").read_text(), "the first build had no state to start from"
    log = (second / "dbt.log").read_text()
    assert "UnableToPartialParse" not in log
    assert "PartialParsingSkipParsing" in log  # "no changes found, skipping parsing"
