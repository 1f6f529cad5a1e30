"""The metrics exporter: a small process beside the webserver and the daemon, serving /metrics.

    metrics-exporter [--host H] [--port P] [--graphql-url URL]

It reads the instance through the webserver's GraphQL API (observability/dagster_state.py) and the
landing zone from the settings; it writes nothing. `python3 tasks.py dev` starts it beside
`dagster dev`; in production it is a systemd unit (deploy/systemd/) or a container beside the
webserver (deploy/kubernetes/values.yaml). While Dagster does not answer, /metrics still answers,
with dataops_dagster_up 0 and what needs no Dagster (the landing zone).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Sequence

from prometheus_client import start_http_server
from prometheus_client.registry import CollectorRegistry

from config.datasets import load_datasets
from config.settings import Settings, exits_on_settings_error, get_settings
from observability.graphql import DagsterGraphQL, DagsterUnavailableError
from observability.metrics import PipelineCollector

logger = logging.getLogger("metrics-exporter")


def pipeline_collector(settings: Settings, client: DagsterGraphQL) -> PipelineCollector:
    """Every metric: the instance's state through ``client``, the landing zone of ``settings``."""
    # Names and file patterns are all the exporter needs of the datasets: not their Pandera models.
    datasets = load_datasets(settings.datasets_path, check_schemas=False)
    return PipelineCollector(client, datasets, settings.landing)


def serve(settings: Settings, host: str, port: int, graphql_url: str, stop: threading.Event) -> None:
    """Serve /metrics until ``stop`` is set, reading newly finished runs every poll interval."""
    client = DagsterGraphQL(graphql_url)
    collector = pipeline_collector(settings, client)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    server, thread = start_http_server(port, addr=host, registry=registry)
    print(f"metrics-exporter: http://{host}:{server.server_port}/metrics, reading {graphql_url}", flush=True)
    unavailable = None
    try:
        while not stop.is_set():
            try:
                read = collector.ledger.catch_up(client)
                if read:
                    logger.info("read %d finished run(s)", read)
                if unavailable:
                    logger.warning("Dagster answers again")
                unavailable = None
            except DagsterUnavailableError as error:
                if str(error) != unavailable:  # once per outage, not every poll
                    logger.warning("%s; retrying every %s s", error, settings.metrics_poll_seconds)
                unavailable = str(error)
            stop.wait(settings.metrics_poll_seconds)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@exits_on_settings_error
def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    settings = settings or get_settings()
    parser = argparse.ArgumentParser(prog="metrics-exporter", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=settings.metrics_host, help="address to listen on (DATAOPS_METRICS_HOST)")
    parser.add_argument("--port", type=int, default=settings.metrics_port, help="port (DATAOPS_METRICS_PORT)")
    parser.add_argument(
        "--graphql-url",
        default=settings.dagster_graphql_url,
        help="the webserver's GraphQL (DATAOPS_DAGSTER_GRAPHQL_URL)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serve(settings, args.host, args.port, args.graphql_url, stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
