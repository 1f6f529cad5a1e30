"""The local instance's batched event storage records exactly what Dagster's own SQLite storage does.

A ranged run over many day partitions is made twice, once in Dagster's default SQLite storage
(``DagsterInstance.local_temp``) and once in the dev config's (instance/storage.py), and what each
recorded is compared: every event of the run in order, the asset's record, its materialised
partitions, the indexed tags, the check's execution. A batch that fails halfway leaves nothing
behind, so Dagster's fallback (the events one by one) records each event exactly once.
"""

from pathlib import Path

import dagster as dg
import pytest

from instance.local import open_local_instance
from instance.storage import BatchedSqliteEventLogStorage

DAYS = dg.DynamicPartitionsDefinition(name="days")
KEYS = [f"day-{n:03d}" for n in range(120)]


@dg.asset(
    partitions_def=DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    code_version="1",  # materialisations carry data-version tags, which the index keeps
    check_specs=[dg.AssetCheckSpec("rows_counted", asset="daily")],
)
def daily(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"days": len(context.partition_keys)},
        check_results=[dg.AssetCheckResult(passed=True)],
    )


def ranged_run(instance: dg.DagsterInstance) -> str:
    instance.add_dynamic_partitions(DAYS.name, KEYS)
    result = dg.materialize(
        [daily],
        instance=instance,
        tags={"dagster/asset_partition_range_start": KEYS[0], "dagster/asset_partition_range_end": KEYS[-1]},
    )
    assert result.success
    return result.run_id


def recorded(instance: dg.DagsterInstance, run_id: str) -> dict[str, object]:
    """What the instance holds of the run, without ids and times (which differ between instances)."""
    key = daily.key
    events = instance.get_records_for_run(run_id, limit=10_000).records
    [asset_record] = instance.get_asset_records([key])
    last = asset_record.asset_entry.last_materialization_record
    materializations = instance.fetch_materializations(key, limit=10_000).records
    return {
        "events": [
            (record.event_log_entry.dagster_event_type, record.asset_key, record.partition_key)
            for record in events
            if record.event_log_entry.is_dagster_event
        ],
        "materialized": sorted(instance.get_materialized_partitions(key)),
        "materializations": sorted(record.partition_key for record in materializations),
        "last_materialization": (last.partition_key, last.run_id == run_id),
        "last_run": asset_record.asset_entry.last_run_id == run_id,
        "tags": sorted(sorted(tags.items()) for tags in instance.get_event_tags_for_asset(key)),
        "check": instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(key, "rows_counted")]
        )[dg.AssetCheckKey(key, "rows_counted")].status,
    }


@pytest.fixture
def dagsters_own(tmp_path: Path) -> dict[str, object]:
    (tmp_path / "plain").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "plain")) as instance:
        return recorded(instance, ranged_run(instance))


def test_a_ranged_run_is_recorded_as_dagsters_own_sqlite_storage_records_it(tmp_path, dagsters_own, capfd):
    with open_local_instance(tmp_path / "batched") as instance:
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
        batched = recorded(instance, ranged_run(instance))
    assert "Exception while storing event batch" not in capfd.readouterr().err  # no fallback was needed
    assert batched == dagsters_own
    assert len(batched["materializations"]) == len(KEYS)
    planned = [event for event in batched["events"] if event[0] == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED]
    assert sorted(partition for *_, partition in planned) == KEYS


def test_a_batch_that_fails_halfway_leaves_nothing_so_dagsters_fallback_records_each_event_once(
    tmp_path, dagsters_own, monkeypatch, capfd
):
    write_in_bulk = BatchedSqliteEventLogStorage._store_asset_events

    def write_then_fail(self, events):  # every batch: the planned events', the materialisations'
        write_in_bulk(self, events)
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(BatchedSqliteEventLogStorage, "_store_asset_events", write_then_fail)
    with open_local_instance(tmp_path / "batched") as instance:
        batched = recorded(instance, ranged_run(instance))
    assert capfd.readouterr().err.count("Exception while storing event batch: the disk went away") == 2
    assert batched == dagsters_own


def test_the_local_instance_keeps_its_files_in_its_own_home_whatever_dagster_home_says(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    home = tmp_path / "home"
    with open_local_instance(home) as instance:
        ranged_run(instance)
    assert (home / "history" / "runs" / "index.db").is_file()
    assert not (tmp_path / "elsewhere").exists()
    with open_local_instance(home) as instance:
        assert len(instance.get_materialized_partitions(daily.key)) == len(KEYS)
