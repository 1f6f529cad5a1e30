"""Where OpenLineage events go: a JSON-lines file by default, a lineage server (Marquez, ...) over HTTP.

From settings (DATAOPS_LINEAGE_FILE, DATAOPS_OPENLINEAGE_URL, ...): the client is built here, with
its transport given explicitly, so no openlineage.yml or OPENLINEAGE__* variable of the host
changes where a deployment's events go.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import dagster as dg
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunEvent
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG
from openlineage.client.transport.transport import Transport

from config.settings import OPENLINEAGE_API_KEY_VARIABLE, Settings
from observability.lineage import LineageNames

HTTP_TIMEOUT_SECONDS = 10


class LineageResource(dg.ConfigurableResource):
    """The lineage destination and the names events carry (the jobs' and the datasets' namespaces)."""

    job_namespace: str
    dataset_namespace: str
    file: str
    url: str | None = None
    endpoint: str = "api/v1/lineage"
    api_key: str | None = None
    # Retries of a failed request within one sensor tick (the client's backoff doubles each time);
    # a tick that still fails keeps its place and the next tick sends again.
    http_retries: int = 5

    @classmethod
    def for_settings(cls, settings: Settings, dataset_namespace: str) -> LineageResource:
        key = dg.EnvVar(OPENLINEAGE_API_KEY_VARIABLE) if settings.openlineage_api_key else None
        return cls(
            job_namespace=settings.lineage_namespace,
            dataset_namespace=dataset_namespace,
            file=str(settings.lineage),
            url=settings.openlineage_url,
            endpoint=settings.openlineage_endpoint,
            api_key=key,  # type: ignore[arg-type]  # resolved by Dagster when the resource is built
        )

    @property
    def names(self) -> LineageNames:
        return LineageNames(jobs=self.job_namespace, datasets=self.dataset_namespace)

    @property
    def destination(self) -> str:
        return f"{self.url.rstrip('/')}/{self.endpoint}" if self.url else self.file

    def transport(self) -> Transport:
        if self.url:
            auth = ApiKeyTokenProvider({"apiKey": self.api_key}) if self.api_key else TokenProvider({})
            attempts = {"total": self.http_retries, "connect": self.http_retries, "read": self.http_retries}
            retry = {**DEFAULT_RETRY_CONFIG, **attempts}  # the client's backoff and retried statuses kept
            config = HttpConfig(
                url=self.url, endpoint=self.endpoint, timeout=HTTP_TIMEOUT_SECONDS, auth=auth, retry=retry
            )
            return HttpTransport(config)
        Path(self.file).parent.mkdir(parents=True, exist_ok=True)
        return FileTransport(FileConfig(log_file_path=self.file, append=True))

    def emit(self, events: Iterable[RunEvent]) -> int:
        """Send ``events`` in order; a failure raises (the caller keeps its place and sends again)."""
        events = list(events)
        if not events:  # the sensor asks for every open run each tick; a client costs config reads and a log line
            return 0
        client = OpenLineageClient(transport=self.transport())
        sent = 0
        try:
            for event in events:
                client.emit(event)
                sent += 1
        finally:
            client.close()
        return sent
