"""Backup and restore on the lake: snapshot through Dagster, lose the catalog, restore, compare."""

import json
import shutil

import dagster as dg
import pytest

from cli import restore
from cli.backfill import run_backfill
from config.settings import Settings
from definitions import build_definitions
from demo import replay
from operations.backup import MANIFEST, RestoreError, list_snapshots, restore_snapshot
from resources.warehouse import WarehouseResource
from tests.support.warehouse import warehouse_contents

pytestmark = pytest.mark.integration


def contents(settings: Settings) -> dict[str, object]:
    with WarehouseResource.for_settings(settings).read_only() as connection:
        return warehouse_contents(connection)


def test_a_lake_backup_restores_into_an_empty_lake_row_for_row(tmp_path, dbt_manifest, lake_catalogs, capsys):
    settings = Settings(env="test", data_dir=tmp_path / "data", **lake_catalogs())
    replay.main(["--reference", "--days", "1"], settings=settings)
    assert run_backfill(settings, dg.DagsterInstance.ephemeral()).success
    before = contents(settings)
    assert before["marts.fct_flights"][2], "the lake under test has data"

    defs = build_definitions(settings)
    result = defs.resolve_job_def("warehouse_backup_job").execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    [snapshot] = list_snapshots(settings.backups)
    assert snapshot.catalog == "test" and snapshot.tables["raw.flights"] == 842

    # A restore never writes over a lake that holds a warehouse.
    assert restore.main([], settings=settings) == 1
    assert "already holds a warehouse" in capsys.readouterr().err

    # The disaster: the catalog is gone. Restore into a new, empty catalog database.
    fresh = settings.model_copy(update={**lake_catalogs(), "lake_data_path": f"{tmp_path / 'restored'}/"})
    damaged = snapshot.path.with_name(f"{snapshot.name}-damaged")
    shutil.copytree(snapshot.path, damaged)
    manifest = json.loads((damaged / MANIFEST).read_text())
    (damaged / MANIFEST).write_text(json.dumps({**manifest, "tables": {**manifest["tables"], "raw.flights": 843}}))
    [bad] = [s for s in list_snapshots(settings.backups) if s.name == damaged.name]
    with pytest.raises(RestoreError, match=r"raw\.flights"):
        restore_snapshot(bad, WarehouseResource.for_settings(fresh))
    assert not WarehouseResource.for_settings(fresh).exists(), "a failed restore leaves the lake empty"

    assert restore.main([snapshot.name], settings=fresh) == 0
    after = contents(fresh)
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], f"{name} differs after restore"
