"""The monitoring config in deploy/: Prometheus's scrape config and alert rules, and the Grafana dashboard.

promtool (Debian's prometheus package, unpacked: tests/support/promtool.py) checks the config and
rules and runs the rules' unit tests (alerts_test.yml: which alert fires when, with what text).
Every query of the dashboard and the rules must be PromQL promtool parses, over metrics the
exporter declares (observability/metrics.py); tests/test_dagster_dev.py checks the same queries
against a real scrape.
"""

import json
import subprocess
from pathlib import Path

import yaml

from observability.metrics import HELP, RUN_DURATION
from tests.support.monitoring import DASHBOARD, PROMETHEUS, dashboard_queries, metrics_queried

# Grafana's own variables, replaced by a range for promtool.
GRAFANA_RANGES = {"$__rate_interval": "5m", "$__range": "1h", "$__interval": "1m"}


def promtool_says(promtool: Path, *args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess:
    return subprocess.run([str(promtool), *args], cwd=cwd, capture_output=True, text=True)


def declared_series() -> set[str]:
    """The series names the exporter's metrics are stored under (a histogram's three)."""
    names = set(HELP) - {RUN_DURATION}
    return names | {f"{RUN_DURATION}_{part}" for part in ("bucket", "sum", "count")}


def test_the_scrape_config_and_alert_rules_are_valid(promtool):
    rules = promtool_says(promtool, "check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 7 rules found" in rules.stdout
    config = promtool_says(promtool, "check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_the_alert_rules_fire_when_and_as_their_unit_tests_say(promtool):
    tested = promtool_says(promtool, "test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    alerts = {
        rule["alert"]
        for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    }
    cases = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    assert {check["alertname"] for case in cases for check in case["alert_rule_test"]} == alerts, "every alert tested"


def test_a_broken_rule_or_a_wrong_expectation_fails_promtool(promtool, tmp_path):
    """The checks above can fail: promtool rejects bad PromQL and an alert that does not fire as written."""
    (tmp_path / "bad.yml").write_text("groups:\n- name: x\n  rules:\n  - alert: X\n    expr: sum(dataops_dagster_up\n")
    assert promtool_says(promtool, "check", "rules", "bad.yml", cwd=tmp_path).returncode != 0
    wrong = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())
    wrong["rule_files"] = [str(PROMETHEUS / "alerts.yml")]
    wrong["tests"][-1]["alert_rule_test"][0]["eval_time"] = "1m"  # before the outage began
    (tmp_path / "wrong_test.yml").write_text(yaml.safe_dump(wrong))
    assert promtool_says(promtool, "test", "rules", "wrong_test.yml", cwd=tmp_path).returncode != 0


def test_every_dashboard_and_rule_query_parses_and_reads_declared_metrics(promtool, tmp_path):
    used = metrics_queried()
    assert used - declared_series() == set(), "queries over metrics the exporter does not export"
    assert used >= declared_series() - {f"{RUN_DURATION}_sum", f"{RUN_DURATION}_count"}, "a metric nobody shows"
    # promtool parses PromQL in rules: the dashboard's queries as recording rules.
    records = []
    for index, query in enumerate(dashboard_queries()):
        for variable, value in GRAFANA_RANGES.items():
            query = query.replace(variable, value)
        records.append({"record": f"dashboard:query_{index}", "expr": query})
    (tmp_path / "dashboard_rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    parsed = promtool_says(promtool, "check", "rules", "dashboard_rules.yml", cwd=tmp_path)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr


def test_every_panel_says_what_it_shows():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["templating"]["list"][0]["type"] == "datasource", "any Prometheus data source, chosen on import"
    for panel in dashboard["panels"]:
        assert panel["title"] and panel["description"] and panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"
