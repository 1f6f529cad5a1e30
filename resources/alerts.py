"""The alerts resource: the configured channels (observability/alerts.py), as Dagster hands them to
sensors and assets. Settings decide them (config/settings.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import dagster as dg

from observability.alerts import Alert, AlertsFileNotifier, Notifier, WebhookNotifier


class AlertsResource(dg.ConfigurableResource):
    """The configured channels; settings decide them (config/settings.py)."""

    alerts_file: str
    webhook_url: str | None = None
    webhook_format: Literal["json", "slack"] = "json"

    def notifiers(self) -> list[Notifier]:
        channels: list[Notifier] = [AlertsFileNotifier(Path(self.alerts_file))]
        if self.webhook_url:
            channels.append(WebhookNotifier(self.webhook_url, self.webhook_format))
        return channels

    def send(self, alert: Alert) -> None:
        for channel in self.notifiers():
            channel.notify(alert)
