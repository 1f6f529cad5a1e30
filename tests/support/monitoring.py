"""The queries of the monitoring config in deploy/ (Grafana dashboard, Prometheus alert rules)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from config.project import NAME

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / f"{NAME}.json"
METRIC = re.compile(r"\bdataops_[a-z_]+\b")


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def rule_queries() -> list[str]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def metrics_queried() -> set[str]:
    """Every metric a dashboard panel or an alert rule reads."""
    return {name for query in dashboard_queries() + rule_queries() for name in METRIC.findall(query)}
