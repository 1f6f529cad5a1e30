import json

from observability.alerts import Alert
from resources.alerts import AlertsResource

ALERT = Alert(
    kind="check_failure",
    title="check pandera_validation failed on raw/orders",
    details="missing column",
    run_id="r1",
    asset="raw/orders",
    check="pandera_validation",
)


def test_every_alert_is_a_json_line_in_the_alerts_file(tmp_path):
    path = tmp_path / "alerts" / "alerts.jsonl"
    AlertsResource(alerts_file=str(path)).send(ALERT)
    AlertsResource(alerts_file=str(path)).send(ALERT)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 2
    assert lines[0]["title"] == ALERT.title and lines[0]["asset"] == "raw/orders"


def test_the_webhook_receives_the_alert_as_json(tmp_path, webhook_server):
    url, received = webhook_server
    AlertsResource(alerts_file=str(tmp_path / "a.jsonl"), webhook_url=url).send(ALERT)
    assert received[0]["kind"] == "check_failure"
    assert received[0]["run_id"] == "r1"


def test_slack_format_is_an_incoming_webhook_text_message(tmp_path, webhook_server):
    url, received = webhook_server
    AlertsResource(alerts_file=str(tmp_path / "a.jsonl"), webhook_url=url, webhook_format="slack").send(ALERT)
    assert set(received[0]) == {"text"}
    assert "check pandera_validation failed on raw/orders" in received[0]["text"]


def test_an_unreachable_webhook_is_logged_and_the_alert_still_recorded(tmp_path, caplog):
    path = tmp_path / "a.jsonl"
    AlertsResource(alerts_file=str(path), webhook_url="http://127.0.0.1:9/nothing-listens").send(ALERT)
    assert "alert webhook" in caplog.text
    assert path.read_text().count("\n") == 1
