"""Write, audit, publish on real data, on both backends: a delivery that passes Pandera but breaks a
mart invariant is audited and never published, and fixing the data publishes the new version.

The bad delivery is a real one: the airlines reference file re-delivered without Virgin America.
Every row of it is valid, so Pandera loads it; but VX still flies, so fct_flights' error-severity
relationship test (every carrier is a known airline) fails on the new version.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl
import pytest

from config.settings import Settings
from demo.nycflights import source_bytes
from publishing.marts import FAILED, PUBLISHED, VERSIONS, failed_name
from resources.alerts import AlertsResource
from sensors.alerts import run_failure_alerts
from tests.demo.support.pipeline import Pipeline, audited_marts
from tests.support.alerts import failure_context
from tests.support.json_lines import read_json_lines
from tests.support.warehouse import query

pytestmark = [pytest.mark.integration, pytest.mark.backends]

DAYS = [date(2013, 1, n) for n in range(1, 5)]
CARRIER_TEST = "relationships_fct_flights_carrier__carrier__ref_stg_airlines_"
ANALYTICS_TABLES = ("carrier_scorecard", "weather_delay_impact")


def airlines_without_virgin_america() -> bytes:
    frame = pl.read_csv(source_bytes("airlines"), infer_schema=False)
    return frame.filter(pl.col("carrier") != "VX").write_csv(null_value="NA").encode()


def schemas(settings: Settings) -> set[str]:
    rows = query(
        settings, "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = current_database()"
    )
    return {name for (name,) in rows}


def analytics(pipeline: Pipeline) -> dict[str, pl.DataFrame]:
    return {name: pipeline.table("analytics", name) for name in ANALYTICS_TABLES}


@pytest.fixture
def pipeline(built_copy: Settings) -> Pipeline:
    """Three days loaded and published, the marts and the analytics (tests/conftest.py's build)."""
    return Pipeline(built_copy)


def test_a_failed_audit_publishes_nothing_keeps_the_version_and_fixing_the_data_publishes(pipeline):
    settings = pipeline.settings
    marts_before, analytics_before = pipeline.marts(), analytics(pipeline)
    [(version_before,)] = query(settings, f"SELECT max(version) FROM {VERSIONS} WHERE outcome = ?", [PUBLISHED])

    # Day 4 lands, and the airlines file is re-delivered without VX: both load (Pandera passes).
    pipeline.land_real_days([DAYS[3]], reference=False)
    pipeline.deliver("airlines", None, airlines_without_virgin_america())
    pipeline.load(["airlines"])
    assert query(settings, "SELECT count(*) FROM raw.airlines WHERE carrier = 'VX'") == [(0,)]

    result = pipeline.run_build(analytics=True)
    assert not result.success
    kept_as = failed_name(result.run_id)

    # Readers see the previous marts and analytics, row for row.
    marts_after = pipeline.marts()
    for name, before in marts_before.items():
        assert marts_after[name].equals(before), name
    for name, before in analytics_before.items():
        assert pipeline.table("analytics", name).equals(before), name
    assert query(settings, "SELECT count(*) FROM marts.fct_flights WHERE flight_date = ?", [DAYS[3]]) == [(0,)]

    # The failing version is kept, named after the run, with the flights that broke the invariant.
    assert kept_as in schemas(settings)
    [(orphans,)] = query(settings, f"SELECT count(*) FROM {kept_as}.fct_flights WHERE carrier_name IS NULL")
    [(vx_flights,)] = query(settings, "SELECT count(*) FROM raw.flights WHERE carrier = 'VX'")
    assert orphans == vx_flights > 0
    versions = f"SELECT outcome, kept_as, failed_tests FROM {VERSIONS} WHERE run_id = ?"
    [(outcome, kept, tests)] = query(settings, versions, [result.run_id])
    assert (outcome, kept) == (FAILED, kept_as)
    assert CARRIER_TEST in tests

    # The step's error, the failed check and the alert all say why, and name the kept version.
    [failure] = [event for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_FAILURE]
    description = failure.step_failure_data.user_failure_data.description
    assert CARRIER_TEST in description and kept_as in description
    assert f"readers still see version {version_before}" in description
    [check] = [
        evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == CARRIER_TEST and evaluation.asset_key == dg.AssetKey(["marts", "fct_flights"])
    ]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert kept_as in (check.description or "")
    assert check.metadata["kept_as"].value == kept_as
    [materialization] = [
        event.event_specific_data.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey(["marts", "fct_flights"])
    ]
    assert materialization.metadata["audit"].value == "failed: not published"
    assert materialization.metadata["published_version"].value == version_before

    alerts = AlertsResource(alerts_file=str(settings.alerts))
    run_failure_alerts(failure_context(pipeline.instance, result.run_id, alerts))
    sent = read_json_lines(settings.alerts)
    [check_alert] = [alert for alert in sent if alert["kind"] == "check_failure" and alert["check"] == CARRIER_TEST]
    assert check_alert["asset"] == "marts/fct_flights" and kept_as in check_alert["details"]
    [run_alert] = [alert for alert in sent if alert["kind"] == "run_failure"]
    assert kept_as in run_alert["details"]

    # The fix: the full airlines file again. The next build audits, publishes and tidies.
    pipeline.deliver("airlines", None, source_bytes("airlines"))
    pipeline.load(["airlines"])
    fixed = pipeline.run_build(analytics=True)
    assert fixed.success
    assert query(settings, "SELECT count(DISTINCT flight_date) FROM marts.fct_flights") == [(4,)]
    assert query(settings, "SELECT count(*) FROM marts.fct_flights WHERE carrier_name IS NULL") == [(0,)]
    [(version_now,)] = query(settings, f"SELECT max(version) FROM {VERSIONS} WHERE outcome = ?", [PUBLISHED])
    assert version_now > version_before
    assert kept_as not in schemas(settings)
    assert query(settings, f"SELECT tidied_at IS NOT NULL FROM {VERSIONS} WHERE kept_as = ?", [kept_as]) == [(True,)]
    published = [
        event.event_specific_data.materialization
        for event in fixed.get_asset_materialization_events()
        if event.asset_key.path[0] == "marts"
    ]
    assert {m.asset_key.path[-1] for m in published} == set(audited_marts())
    for materialization in published:
        assert materialization.metadata["audit"].value == "passed"
        assert materialization.metadata["published_version"].value == version_now
    assert not pipeline.table("analytics", "carrier_scorecard").equals(analytics_before["carrier_scorecard"])
