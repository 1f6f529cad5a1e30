"""A developer's working copy of the dbt project with one mart changed: what slim CI builds."""

import shutil
from pathlib import Path

import pytest

from config.settings import DBT_PROJECT_DIR, Settings
from resources.warehouse import WarehouseResource
from tests.demo.support.pipeline import audited_model

CHANGED_MODEL = Path("models/marts/mart_carrier_daily_performance.sql")
# Slim CI builds and audits the change where dbt writes the marts, and never publishes it.
CHANGED_TABLE = audited_model(CHANGED_MODEL.stem).audit_table


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


def slim_build_outcome(settings: Settings) -> tuple[list[tuple], list[tuple]]:
    """What a slim build left in the developer's own warehouse: its tables, and the changed mart's
    (rows, distinct build markers) in the audit schema: one marker when the new column was built."""
    with WarehouseResource.for_settings(settings).read_only() as connection:
        tables = connection.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            " WHERE table_catalog = current_database()"
        ).fetchall()
        built = connection.execute(f"SELECT count(*), count(DISTINCT build_marker) FROM {CHANGED_TABLE}").fetchall()
    return tables, built
