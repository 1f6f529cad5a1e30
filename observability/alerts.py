"""Alerts: what one says, and the channels that carry it (plain Python: the sensors and the
Dagster resource that sends them both use it).

Always on: a structured JSON line in the alerts file (and the Dagster log), so an alert is never
lost even with no channel configured. When configured: a webhook, either generic JSON or a Slack
incoming webhook. A failing channel is logged, never raised: the sensor that alerts must not die
because Slack is down.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

logger = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 5
# Alerts that say a problem is over (the others say one began).
RESOLVING_KINDS = frozenset({"data_recovered"})


@dataclass(frozen=True)
class Alert:
    kind: Literal[
        "run_failure",
        "check_failure",
        "schema_drift",
        "rejected_file",
        "invalid_partition",
        "late_data",
        "data_recovered",
    ]
    title: str
    details: str
    run_id: str | None = None
    asset: str | None = None
    check: str | None = None
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def as_text(self) -> str:
        icon = ":white_check_mark:" if self.kind in RESOLVING_KINDS else ":rotating_light:"
        return f"{icon} {self.title}\n{self.details}" + (f"\nrun: {self.run_id}" if self.run_id else "")


class Notifier(Protocol):
    def notify(self, alert: Alert) -> None: ...


class AlertsFileNotifier:
    """Appends each alert as one JSON line: greppable, and what tests and on-call tooling read."""

    def __init__(self, path: Path):
        self.path = path

    def notify(self, alert: Alert) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(alert), sort_keys=True) + "\n")
        logger.warning("ALERT %s: %s", alert.kind, alert.title)


class WebhookNotifier:
    """POSTs the alert: the alert as JSON, or Slack's incoming-webhook ``{"text": ...}`` format."""

    def __init__(self, url: str, payload_format: Literal["json", "slack"] = "json"):
        self.url, self.payload_format = url, payload_format

    @property
    def where(self) -> str:
        """The webhook's host, for messages: its path and query often are the secret (Slack's are)."""
        parts = urllib.parse.urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")

    def notify(self, alert: Alert) -> None:
        body = {"text": alert.as_text()} if self.payload_format == "slack" else asdict(alert)
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
                response.read()
        except OSError as error:  # URLError, timeouts, refused connections
            logger.error("alert webhook at %s failed: %s (the alert is in the alerts file)", self.where, error)
