"""Write, audit, publish, on both backends: a delivery that passes Pandera but breaks a mart
invariant is audited and never published, and fixing the data publishes the new version.

The bad delivery: the customer list re-delivered without customer C001. Every row of it is valid,
so Pandera loads it; but C001 still orders, so fct_orders' error-severity relationship test (every
order's customer is on the list) fails on the new version.
"""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from config.settings import Settings
from publishing.marts import FAILED, PUBLISHED, VERSIONS, failed_name
from resources.alerts import AlertsResource
from sensors.alerts import run_failure_alerts
from tests.support.alerts import failure_context
from tests.support.json_lines import read_json_lines
from tests.support.pipeline import Pipeline
from tests.support.warehouse import query
from tests.synthetic import feed

pytestmark = [pytest.mark.integration, pytest.mark.backends]

DAYS = feed.days(4)
CUSTOMER_TEST = "relationships_fct_orders_customer_id__customer_id__ref_stg_customers_"
ANALYTICS_TABLES = ("segment_revenue",)


def customers_without_c001() -> bytes:
    return feed.csv_bytes(feed.customers_frame().filter(pl.col("customer_id") != "C001"))


def schemas(settings: Settings) -> set[str]:
    rows = query(
        settings, "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = current_database()"
    )
    return {name for (name,) in rows}


def analytics(pipeline: Pipeline) -> dict[str, pl.DataFrame]:
    return {name: pipeline.table("analytics", name) for name in ANALYTICS_TABLES}


@pytest.fixture
def pipeline(synthetic_settings: Settings) -> Pipeline:
    """Three days loaded and published, the marts and the analytics."""
    built = Pipeline(synthetic_settings)
    built.land_days(DAYS[:3])
    assert built.run_build(analytics=True).success
    return built


def test_a_failed_audit_publishes_nothing_keeps_the_version_and_fixing_the_data_publishes(pipeline):
    settings = pipeline.settings
    marts_before, analytics_before = pipeline.marts(), analytics(pipeline)
    [(version_before,)] = query(settings, f"SELECT max(version) FROM {VERSIONS} WHERE outcome = ?", [PUBLISHED])

    # Day 4 lands, and the customer list is re-delivered without C001: both load (Pandera passes).
    pipeline.land_days([DAYS[3]], reference=False)
    pipeline.deliver("customers", None, customers_without_c001())
    pipeline.load(["customers"])
    assert query(settings, "SELECT count(*) FROM raw.customers WHERE customer_id = 'C001'") == [(0,)]

    result = pipeline.run_build(analytics=True)
    assert not result.success
    kept_as = failed_name(result.run_id)

    # Readers see the previous marts and analytics, row for row.
    marts_after = pipeline.marts()
    for name, before in marts_before.items():
        assert marts_after[name].equals(before), name
    for name, before in analytics_before.items():
        assert pipeline.table("analytics", name).equals(before), name
    assert query(settings, "SELECT count(*) FROM marts.fct_orders WHERE order_date = ?", [DAYS[3]]) == [(0,)]

    # The failing version is kept, named after the run, with the orders that broke the invariant.
    assert kept_as in schemas(settings)
    [(orphans,)] = query(settings, f"SELECT count(*) FROM {kept_as}.fct_orders WHERE customer_name IS NULL")
    [(c001_orders,)] = query(settings, "SELECT count(*) FROM raw.orders WHERE customer_id = 'C001'")
    assert orphans == c001_orders > 0
    versions = f"SELECT outcome, kept_as, failed_tests FROM {VERSIONS} WHERE run_id = ?"
    [(outcome, kept, tests)] = query(settings, versions, [result.run_id])
    assert (outcome, kept) == (FAILED, kept_as)
    assert CUSTOMER_TEST in tests

    # The step's error, the failed check and the alert all say why, and name the kept version.
    [failure] = [event for event in result.all_events if event.event_type == dg.DagsterEventType.STEP_FAILURE]
    description = failure.step_failure_data.user_failure_data.description
    assert CUSTOMER_TEST in description and kept_as in description
    assert f"readers still see version {version_before}" in description
    [check] = [
        evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == CUSTOMER_TEST and evaluation.asset_key == dg.AssetKey(["marts", "fct_orders"])
    ]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert kept_as in (check.description or "")
    assert check.metadata["kept_as"].value == kept_as
    [materialization] = [
        event.event_specific_data.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey(["marts", "fct_orders"])
    ]
    assert materialization.metadata["audit"].value == "failed: not published"
    assert materialization.metadata["published_version"].value == version_before

    alerts = AlertsResource(alerts_file=str(settings.alerts))
    run_failure_alerts(failure_context(pipeline.instance, result.run_id, alerts))
    sent = read_json_lines(settings.alerts)
    [check_alert] = [alert for alert in sent if alert["kind"] == "check_failure" and alert["check"] == CUSTOMER_TEST]
    assert check_alert["asset"] == "marts/fct_orders" and kept_as in check_alert["details"]
    [run_alert] = [alert for alert in sent if alert["kind"] == "run_failure"]
    assert kept_as in run_alert["details"]

    # The fix: the full customer list again. The next build audits, publishes and tidies.
    pipeline.deliver("customers", None, feed.csv_bytes(feed.customers_frame()))
    pipeline.load(["customers"])
    fixed = pipeline.run_build(analytics=True)
    assert fixed.success
    assert query(settings, "SELECT count(DISTINCT order_date) FROM marts.fct_orders") == [(4,)]
    assert query(settings, "SELECT count(*) FROM marts.fct_orders WHERE customer_name IS NULL") == [(0,)]
    [(version_now,)] = query(settings, f"SELECT max(version) FROM {VERSIONS} WHERE outcome = ?", [PUBLISHED])
    assert version_now > version_before
    assert kept_as not in schemas(settings)
    assert query(settings, f"SELECT tidied_at IS NOT NULL FROM {VERSIONS} WHERE kept_as = ?", [kept_as]) == [(True,)]
    published = [
        event.event_specific_data.materialization
        for event in fixed.get_asset_materialization_events()
        if event.asset_key.path[0] == "marts"
    ]
    assert {m.asset_key.path[-1] for m in published} == set(pipeline.audited_marts())
    for materialization in published:
        assert materialization.metadata["audit"].value == "passed"
        assert materialization.metadata["published_version"].value == version_now
    assert not pipeline.table("analytics", "segment_revenue").equals(analytics_before["segment_revenue"])
