"""The landing sensor evaluated as Dagster runs it, against a real (ephemeral) instance."""

import os
import time
from pathlib import Path

import dagster as dg

from cli import replay
from definitions import build_definitions
from resources.landing import LandingZoneResource
from sensors.landing import RANGE_END_TAG, RANGE_START_TAG


def age_files(folder: Path, seconds: float = 60) -> None:
    """Replay's files are brand new and the sensor waits until files settle: make them older."""
    stamp = time.time() - seconds
    for path in folder.rglob("*.csv"):
        os.utime(path, (stamp, stamp))


def evaluate(defs, instance, settings, cursor=None):
    sensor = defs.resolve_sensor_def("landing_zone_sensor")
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        resources={
            "landing_zone": LandingZoneResource(landing_dir=str(settings.landing), archive_dir=str(settings.archive))
        },
    )
    return sensor(context), context


def test_replayed_days_become_partitions_and_ranged_runs(settings, dbt_manifest):
    replay.main(["--reference", "--days", "3"], settings=settings)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    age_files(settings.landing)
    result, _ = evaluate(defs, instance, settings)
    assert {
        request.partitions_def_name: list(request.partition_keys) for request in result.dynamic_partitions_requests
    } == {"days": ["2013-01-01", "2013-01-02", "2013-01-03"]}
    # Two runs: the three days of flights and weather as one range, and the reference files.
    by_job = {request.job_name: request for request in result.run_requests}
    assert set(by_job) == {"ingest_daily", "ingest_reference"}
    daily = by_job["ingest_daily"]
    assert (daily.tags[RANGE_START_TAG], daily.tags[RANGE_END_TAG]) == ("2013-01-01", "2013-01-03")
    assert set(daily.asset_selection) == {dg.AssetKey(["raw", "flights"]), dg.AssetKey(["raw", "weather"])}
    # Only the checks the loads report themselves; dbt's source tests wait for the next dbt build.
    assert {key.name for key in daily.asset_check_keys} == {"pandera_validation", "schema_drift", "volume_anomaly"}
    reference = by_job["ingest_reference"]
    assert reference.partition_key is None
    assert {key.path[-1] for key in reference.asset_selection} == {"airlines", "airports", "planes"}

    # The next tick, from the stored cursor, requests nothing: the runs are already asked for.
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    again, _ = evaluate(defs, instance, settings, cursor=result.cursor)
    assert again.run_requests == []
    assert again.skip_reason and "no new files" in again.skip_reason.skip_message
