"""A catalog or an object store that goes away during a dbt build: the build is retried and named,
never a failed audit.

The lake's catalog is a PostgreSQL server of this module's own. It is stopped the moment the dbt
step's `dbt build` process starts and started again once that process has exited, as a restart
of the catalog host would do. The object store (a local S3 server) is cut off the same way, behind
a link that is unplugged and plugged in again. The step must recognise the fault from dbt's results
(not report a test that could not run as a failed audit), keep no failed version, raise no failed
check, retry, and publish what a full refresh would.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from config.settings import Settings
from tests.demo.support.pipeline import Pipeline
from tests.support import postgres, unpluggable
from tests.support.faults import catalog_down_during_the_next_dbt_build, down_during_the_next_dbt_build
from tests.support.warehouse import query
from warehouse.faults import Cause

pytestmark = pytest.mark.integration

DAYS = [date(2013, 3, 4), date(2013, 3, 5)]


def test_a_catalog_restart_during_dbt_is_retried_and_publishes_what_a_full_refresh_would(
    own_postgres, own_lake, dbt_manifest
):
    data_dir, _ = own_postgres
    pipeline = Pipeline(own_lake)
    pipeline.land_real_days(DAYS)

    with catalog_down_during_the_next_dbt_build(data_dir) as happened:
        result = pipeline.run_build()

    assert happened == ["stopped", "started again"]
    assert_retried_as(Cause.CATALOG_UNREACHABLE, result, pipeline)
    assert not any(postgres.PASSWORD in entry.user_message for entry in pipeline.instance.all_logs(result.run_id))


@pytest.mark.e2e  # starts an object store
def test_an_object_store_cut_off_during_dbt_is_retried_and_publishes_what_a_full_refresh_would(
    tmp_path, dbt_manifest, lake_catalogs, object_store
):
    bucket = object_store.create_bucket("dbt-faults")
    with unpluggable.link_to(object_store.endpoint) as link:
        store = {**object_store.settings(bucket, "lake"), "s3_endpoint": link.endpoint}
        pipeline = Pipeline(Settings(env="test", data_dir=tmp_path / "data", **lake_catalogs(), **store))
        pipeline.land_real_days(DAYS)

        with down_during_the_next_dbt_build(link.unplug, link.plug) as happened:
            result = pipeline.run_build()

        assert happened == ["stopped", "started again"]
        assert_retried_as(Cause.OBJECT_STORE_UNREACHABLE, result, pipeline)


def assert_retried_as(cause: Cause, result: dg.ExecuteInProcessResult, pipeline: Pipeline) -> None:
    """The build succeeded after one retry of its dbt step, which named ``cause``; nothing of the
    failed attempt is reported as an audit failure; the marts are what a full refresh publishes."""
    assert result.success
    retried = [event.step_key for event in result.all_events if event.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retried == ["dbt_models"]
    said = [entry.user_message for entry in pipeline.instance.all_logs(result.run_id)]
    assert any(f"transient fault, nothing published: {cause}" in line for line in said), said
    # Not an audit failure: no failed version kept, no failed check, no mention of a failed test.
    schemas = query(
        pipeline.settings,
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'audit_failed%'",
    )
    assert schemas == []
    failed_checks = [
        evaluation.check_name
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert failed_checks == []
    assert not any("dbt build failed" in line for line in said)

    published = pipeline.marts()
    pipeline.build(full_refresh=True)
    refreshed = pipeline.marts()
    assert all(published[name].equals(refreshed[name]) for name in refreshed), "the marts differ from a full refresh"
    assert published["fct_flights"].height > 0
