"""The alert sensors, driven by a real failure: a landed file with a missing column, on both backends."""

from datetime import date

import dagster as dg
import polars as pl
import pytest

from definitions import build_definitions
from jobs.landing import ingest_job_for
from resources.alerts import AlertsResource
from sensors.alerts import check_failure_alerts, run_failure_alerts
from tests.support.alerts import run_status_context
from tests.support.json_lines import read_json_lines
from tests.synthetic import feed

pytestmark = pytest.mark.backends


@pytest.fixture
def failed_load(make_settings, webhook_server, dbt_manifest, datasets):
    url, received = webhook_server
    settings = make_settings(alert_webhook_url=url)
    feed.land(settings, feed.days(1))
    broken = pl.read_csv(feed.csv_bytes(feed.orders_frame(feed.FIRST_DAY)), infer_schema=False).drop("customer_id")
    (settings.landing / "orders" / "orders_2026-01-01.csv").write_bytes(broken.write_csv().encode())
    defs = build_definitions(settings)
    # A real SQLite instance, as `dagster dev` uses: its event log is sharded by run.
    home = settings.data_dir.parent / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        instance.add_dynamic_partitions("days", ["2026-01-01"])
        result = ingest_job_for(defs, [datasets["orders"]]).execute_in_process(
            instance=instance, partition_key="2026-01-01", raise_on_error=False, tags={"datasets": "orders"}
        )
        assert not result.success
        alerts = AlertsResource(alerts_file=str(settings.alerts), webhook_url=url)
        yield settings, instance, alerts, result, received


def alerts_in_file(settings):
    return read_json_lines(settings.alerts)


def test_a_failed_run_raises_an_alert_with_its_reason_and_failed_checks(failed_load):
    settings, instance, alerts, result, received = failed_load
    context = run_status_context(instance, result.run_id, alerts, dg.DagsterEventType.RUN_FAILURE).for_run_failure()
    run_failure_alerts(context)
    run_alert, check_alert = alerts_in_file(settings)
    assert run_alert["kind"] == "run_failure" and run_alert["run_id"] == result.run_id
    assert run_alert["title"] == "run of ingest (orders) failed"
    assert "orders_2026-01-01.csv" in run_alert["details"]
    assert check_alert["kind"] == "check_failure"
    assert (check_alert["asset"], check_alert["check"]) == ("raw/orders", "pandera_validation")
    assert "missing column(s) ['customer_id']" in check_alert["details"]
    assert [body["title"] for body in received] == [run_alert["title"], check_alert["title"]]


def test_a_successful_run_with_only_warnings_raises_no_alert(failed_load, datasets):
    settings, instance, alerts, _, _ = failed_load
    # The same day, delivered intact: WARN-free, and a WARN is never an alert anyway.
    feed.land(settings, feed.days(1))
    good = ingest_job_for(build_definitions(settings), [datasets["orders"]]).execute_in_process(
        instance=instance, partition_key="2026-01-01"
    )
    check_failure_alerts(run_status_context(instance, good.run_id, alerts, dg.DagsterEventType.RUN_SUCCESS))
    assert not settings.alerts.exists()


def test_schema_drift_alerts_once_per_dataset_and_change(make_settings, dbt_manifest, datasets):
    """A feed that starts sending a new column: the day loads without it, and one alert says so. The
    same column the next day is not news; a second new column is."""
    from sensors.alerts import schema_drift_alerts

    settings = make_settings()
    defs = build_definitions(settings)
    home = settings.data_dir.parent / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        alerts = AlertsResource(alerts_file=str(settings.alerts))
        cursor: list[str | None] = [None]

        def tick() -> list[dict]:
            context = dg.build_sensor_context(instance=instance, cursor=cursor[0], resources={"alerts": alerts})
            schema_drift_alerts(context)
            cursor[0] = context.cursor
            return [alert for alert in read_json_lines(settings.alerts) if alert["kind"] == "schema_drift"]

        def load(day: date, **new_columns: str) -> None:
            frame = pl.read_csv(feed.csv_bytes(feed.orders_frame(day)), infer_schema=False).with_columns(
                **{name: pl.lit(value) for name, value in new_columns.items()}
            )
            path = settings.landing / "orders" / f"orders_{day}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(frame.write_csv().encode())
            instance.add_dynamic_partitions("days", [day.isoformat()])
            job = ingest_job_for(defs, [datasets["orders"]])
            assert job.execute_in_process(instance=instance, partition_key=day.isoformat()).success

        assert tick() == []  # the first tick starts the watch
        load(date(2026, 1, 1), gate="A1")
        load(date(2026, 1, 2), gate="B7")
        [first] = tick()
        assert first["asset"] == "raw/orders" and "new column 'gate' (not loaded)" in first["details"]
        load(date(2026, 1, 3), gate="C2")
        assert len(tick()) == 1, "the same change again is not a new alert"
        load(date(2026, 1, 4), gate="D4", terminal="4")
        *_, second = tick()
        assert "new column 'terminal'" in second["details"] and "'gate'" not in second["details"]
