"""The pipeline performance report, from the records of a real pipeline build, on both backends."""

from datetime import timedelta

import dagster as dg
import pytest

from assets.operations import REPORT
from operations.performance import freshness_status

pytestmark = [pytest.mark.integration, pytest.mark.backends]

FLIGHTS_OF_THE_BUILT_DAYS = 842 + 943 + 914


def rows_by(metadata_table, key):
    return {record.data[key]: record.data for record in metadata_table.records}


def test_the_report_counts_runs_rows_checks_and_freshness_from_the_instance(built):
    result = built.defs.resolve_job_def("performance_report_job").execute_in_process(instance=built.instance)
    assert result.success
    [event] = result.get_asset_materialization_events()
    assert event.asset_key == REPORT
    metadata = event.materialization.metadata

    jobs = rows_by(metadata["jobs"].value, "job")
    assert jobs["ingest"]["runs"] == 2  # the backfill loads reference data, then the days
    assert all(job["success_rate"] == 1.0 for job in jobs.values())
    assert jobs["ingest"]["p50_duration_s"] > 0
    assert metadata["runs"].value == sum(job["runs"] for job in jobs.values()) >= 3
    assert "(data:image/png;base64," in metadata["p50_run_duration_by_job"].value

    assets = rows_by(metadata["assets"].value, "asset")
    flights = assets["raw/flights"]
    assert flights["materializations"] == len(built.instance.get_dynamic_partitions("days"))  # one per day
    assert flights["rows_processed"] == FLIGHTS_OF_THE_BUILT_DAYS
    assert flights["checks_run"] >= 1 and flights["check_pass_rate"] == 1.0
    assert flights["freshness"] == "PASS"
    assert assets["marts/fct_flights"]["rows_processed"] == FLIGHTS_OF_THE_BUILT_DAYS
    # Real gaps in the data (tail numbers missing from the registry) fail a WARN test: not 100%.
    assert assets["marts/fct_flights"]["check_pass_rate"] < 1.0
    assert assets["analytics/carrier_scorecard"]["freshness"] == "no policy"
    assert assets["operations/warehouse_backup"]["materializations"] == 0
    assert 0 < metadata["check_pass_rate"].value < 1.0


def test_freshness_follows_the_policy_windows():
    policy = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=36), warn_window=timedelta(hours=26))
    assert freshness_status(policy, timedelta(hours=1)) == "PASS"
    assert freshness_status(policy, timedelta(hours=30)) == "WARN"
    assert freshness_status(policy, timedelta(hours=40)) == "FAIL"
    assert freshness_status(policy, None) == "FAIL (never materialised)"
    assert freshness_status(None, timedelta(hours=40)) == "no policy"
