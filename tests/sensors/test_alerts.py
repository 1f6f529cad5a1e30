"""The alert sensors, driven by a real failure: a landed file with a missing column."""

import json

import dagster as dg
import polars as pl
import pytest

from cli import replay
from cli.nycflights import day_csv
from definitions import build_definitions
from resources.alerts import AlertsResource
from sensors.alerts import check_failure_alerts, run_failure_alerts


@pytest.fixture
def failed_load(make_settings, webhook_server, dbt_manifest):
    url, received = webhook_server
    settings = make_settings(alert_webhook_url=url)
    replay.main(["--days", "1"], settings=settings)
    broken = pl.read_csv(day_csv("flights", __import__("datetime").date(2013, 1, 1)), infer_schema=False).drop(
        "carrier"
    )
    (settings.landing / "flights" / "flights_2013-01-01.csv").write_bytes(broken.write_csv().encode())
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("flights_days", ["2013-01-01"])
    alerts = AlertsResource(alerts_file=str(settings.alerts), webhook_url=url)
    # The check sensor's first tick only sets its starting point (history is not news).
    first_tick = dg.build_sensor_context(instance=instance, resources={"alerts": alerts})
    check_failure_alerts(first_tick)
    result = defs.resolve_job_def("ingest_flights").execute_in_process(
        instance=instance, partition_key="2013-01-01", raise_on_error=False
    )
    assert not result.success
    return settings, instance, alerts, result, received, first_tick.cursor


def alerts_in_file(settings):
    return [json.loads(line) for line in settings.alerts.read_text().splitlines()]


def test_a_failed_error_check_raises_an_alert(failed_load):
    settings, instance, alerts, _, received, cursor = failed_load
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"alerts": alerts})
    check_failure_alerts(context)
    [alert] = alerts_in_file(settings)
    assert alert["kind"] == "check_failure"
    assert alert["asset"] == "raw/flights" and alert["check"] == "pandera_validation"
    assert "missing column(s) ['carrier']" in alert["details"]
    assert received[0]["title"] == alert["title"]
    # Next tick from the stored cursor: already said, not said again.
    check_failure_alerts(
        dg.build_sensor_context(instance=instance, cursor=context.cursor, resources={"alerts": alerts})
    )
    assert len(alerts_in_file(settings)) == 1


def test_a_failed_run_raises_an_alert(failed_load):
    settings, instance, alerts, result, _, _ = failed_load
    [record] = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    failure = record.event_log_entry.dagster_event
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alerts", dagster_event=failure, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id), resources={"alerts": alerts},
    ).for_run_failure()  # fmt: skip
    run_failure_alerts(context)
    [alert] = alerts_in_file(settings)
    assert alert["kind"] == "run_failure" and alert["run_id"] == result.run_id
    assert "ingest_flights" in alert["title"]
    assert "flights_2013-01-01.csv" in alert["details"]
