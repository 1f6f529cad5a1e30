"""The freshness alert sensor with a controlled clock, on a real instance and real loads.

The clock starts 50 hours in the past: the watch begins, no orders have come; an hour before
"now" the policy's 48 hours have passed and one alert goes out (alerts file and Slack webhook);
later ticks say nothing more; a real load of a day brings orders, and the next tick sends one
"recovered" notice. Weather, never loaded, stays late without a second alert.
"""

import time

import dagster as dg
import pytest

from definitions import build_definitions
from jobs.landing import ingest_job_for
from resources.alerts import AlertsResource
from sensors.freshness import build_freshness_sensor
from tests.support.json_lines import read_json_lines
from tests.synthetic import feed

pytestmark = pytest.mark.integration  # a real load of a day
HOUR = 3600.0


def alerts_in_file(settings) -> list[dict]:
    return read_json_lines(settings.alerts)


def test_late_data_alerts_once_and_recovery_once(make_settings, webhook_server, dbt_manifest, datasets, tmp_path):
    url, received = webhook_server
    settings = make_settings(alert_webhook_url=url, alert_webhook_format="slack")
    defs = build_definitions(settings)
    data_assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    now = {"value": time.time() - 50 * HOUR}
    sensor = build_freshness_sensor(datasets, data_assets, clock=lambda: now["value"])
    alerts = AlertsResource(alerts_file=str(settings.alerts), webhook_url=url, webhook_format="slack")

    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        cursor = None

        def tick(at: float) -> list[dict]:
            nonlocal cursor
            before = len(alerts_in_file(settings))
            now["value"] = at
            context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"alerts": alerts})
            sensor(context)
            cursor = context.cursor
            return alerts_in_file(settings)[before:]

        real_now = time.time()
        assert tick(real_now - 50 * HOUR) == [], "the watch begins: nothing has had time to be late"
        late = tick(real_now - 1 * HOUR)
        assert sorted((alert["kind"], alert["asset"]) for alert in late) == [
            ("late_data", "raw/orders"),
            ("late_data", "raw/shipments"),
        ]
        orders = next(alert for alert in late if alert["asset"] == "raw/orders")
        assert orders["title"] == "raw/orders is late: nothing new for 49.0 h (policy: late after 48.0 h)"
        assert "orders_{date}.csv in the landing zone's orders/ folder" in orders["details"]
        assert tick(real_now - 0.5 * HOUR) == [], "still late: no second alert"

        feed.land(settings, feed.days(1))
        instance.add_dynamic_partitions("days", ["2026-01-01"])
        result = ingest_job_for(defs, [datasets["orders"]]).execute_in_process(
            instance=instance, partition_key="2026-01-01"
        )
        assert result.success
        loaded = instance.get_latest_materialization_event(dg.AssetKey(["raw", "orders"])).timestamp
        recovered = tick(loaded + 60)
        assert [(alert["kind"], alert["asset"]) for alert in recovered] == [("data_recovered", "raw/orders")]
        assert recovered[0]["title"].startswith("raw/orders is fresh again after ")
        assert tick(loaded + 120) == [], "fresh, and shipments still late: nothing new to say"

    texts = [body["text"] for body in received]
    assert len(texts) == 3, "the webhook got the same three alerts as the file"
    assert sorted(text.split("\n")[0] for text in texts) == [
        ":rotating_light: raw/orders is late: nothing new for 49.0 h (policy: late after 48.0 h)",
        ":rotating_light: raw/shipments is late: nothing new for 49.0 h (policy: late after 48.0 h)",
        ":white_check_mark: " + recovered[0]["title"],
    ]
