"""Backup and restore on a real warehouse: snapshot through Dagster, destroy, restore, compare."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pytest

from assets.operations import BACKUP
from cli import restore
from config.settings import Settings
from definitions import build_definitions
from operations.backup import (
    MANIFEST,
    RestoreError,
    find_snapshot,
    list_snapshots,
    prune_snapshots,
    restore_snapshot,
    take_snapshot,
)
from resources.warehouse import WarehouseResource
from tests.support.warehouse import warehouse_contents

pytestmark = pytest.mark.integration


def contents(path) -> dict[str, object]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return warehouse_contents(connection)


def test_a_backup_restores_every_table_row_for_row(built_copy):
    settings = built_copy
    defs = build_definitions(settings)
    before = contents(settings.warehouse)
    assert before["marts.fct_flights"][2], "the warehouse under test has data"

    result = defs.resolve_job_def("warehouse_backup_job").execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    [event] = result.get_asset_materialization_events()
    assert event.asset_key == BACKUP
    metadata = event.materialization.metadata
    [snapshot] = list_snapshots(settings.backups)
    assert metadata["size_bytes"].value == snapshot.size_bytes > 0
    assert metadata["duration_seconds"].value >= 0
    assert metadata["rows"].value == sum(len(rows) for kind, _, rows in before.values() if kind == "BASE TABLE")

    settings.warehouse.unlink()  # the disaster
    assert restore.main([], settings=settings) == 0

    after = contents(settings.warehouse)
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], f"{name} differs after restore"
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        assert connection.execute("SELECT environment FROM meta.warehouse_environment").fetchall() == [("test",)]


def test_restore_refuses_to_overwrite_and_to_write_prod_from_dev(built_copy, capsys):
    settings = built_copy
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        take_snapshot(connection, settings.backups)

    assert restore.main([], settings=settings) == 1
    assert "exists; a restore writes a fresh file only" in capsys.readouterr().err

    dev = Settings(env="dev", data_dir=settings.data_dir)
    assert restore.main(["--to", str(dev.prod_warehouse)], settings=dev) == 1
    assert "refusing to write" in capsys.readouterr().err
    assert not dev.prod_warehouse.exists()


def test_a_damaged_snapshot_is_not_restored(built_copy, tmp_path):
    settings = built_copy
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        snapshot = take_snapshot(connection, settings.backups)
    manifest = json.loads((snapshot.path / MANIFEST).read_text())
    manifest["tables"]["raw.flights"] += 1  # the snapshot no longer holds what was backed up
    (snapshot.path / MANIFEST).write_text(json.dumps(manifest))

    target = tmp_path / "restored.duckdb"
    with pytest.raises(RestoreError, match=r"raw\.flights"):
        restore_snapshot(
            find_snapshot(settings.backups, snapshot.name), WarehouseResource.for_settings(settings).at(target)
        )
    assert not target.exists()
    assert not list(tmp_path.glob(".restoring-*"))


def test_retention_keeps_the_newest_snapshots_of_each_environment(built_copy):
    settings = built_copy
    start = datetime(2026, 11, 1, 2, tzinfo=UTC)
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        taken = [take_snapshot(connection, settings.backups, now=start + timedelta(days=n)) for n in range(4)]
    other = settings.backups / "prod-20261101T020000Z"
    taken[0].path.rename(other)  # as if prod shared the folder
    manifest = json.loads((other / MANIFEST).read_text())
    (other / MANIFEST).write_text(json.dumps({**manifest, "environment": "prod"}))
    (settings.backups / ".partial-test-20261110T020000Z").mkdir()  # an export that died

    removed = prune_snapshots(settings.backups, "test", keep=2)

    assert [snapshot.name for snapshot in removed] == [taken[1].name]
    assert [snapshot.name for snapshot in list_snapshots(settings.backups)] == [
        other.name,
        taken[2].name,
        taken[3].name,
    ]
    assert find_snapshot(settings.backups, None).name == taken[3].name


def test_a_backup_with_no_warehouse_fails_once_saying_so(tmp_path, dbt_manifest):
    settings = Settings(env="test", data_dir=tmp_path / "data")
    defs = build_definitions(settings)
    result = defs.resolve_job_def("warehouse_backup_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert "nothing to back up" in failure.step_failure_data.user_failure_data.description
    assert not [event for event in result.all_events if event.event_type_value == "STEP_UP_FOR_RETRY"]
    assert not settings.backups.exists()
