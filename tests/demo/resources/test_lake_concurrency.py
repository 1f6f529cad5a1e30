"""The lake backend under concurrent writers and a reader, on a real PostgreSQL catalog.

Two loads of different days and the downstream dbt build run at once, each in its own process as
run workers are, while a reader keeps one session open and queries the marts all along. The loads
and the build must overlap in time, finish without a lock or commit-conflict error reaching their
runs, and leave exact counts; the reader must never wait long and always see one version.
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import closing
from datetime import date

import dagster as dg
import psycopg2
import pytest

from cli.backfill import register_days, run_backfill
from config.datasets import load_datasets
from config.settings import Settings
from definitions import build_definitions
from demo import replay
from jobs.landing import refresh_targets
from resources.warehouse import WarehouseResource
from tests.demo.support.pipeline import Pipeline
from tests.support import lake_worker, postgres
from tests.support.warehouse import query

# Writer and reader processes side by side, waited on: with the servers' tests (tasks.py).
pytestmark = [pytest.mark.integration, pytest.mark.e2e]

FLIGHTS = {"2013-01-01": 842, "2013-01-02": 943, "2013-01-03": 914}  # counted from the package's flights.csv
WORKER_TIMEOUT = 900
# A reader of the file backend waits for the whole load; on the lake a query is never held up by a
# writer. The ceiling is generous for a loaded 2-core machine, far below a build's duration.
READER_QUERY_CEILING_SECONDS = 5.0


class Reader(threading.Thread):
    """One session held open all through, querying the marts in one snapshot per round."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.warehouse = WarehouseResource.for_settings(settings)
        self.stop = threading.Event()
        self.rounds: list[tuple[float, int, int]] = []  # (seconds the round took, fct rows, mart total)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.warehouse.read_only() as connection:
                while not self.stop.is_set():
                    started = time.monotonic()
                    # One snapshot per round. Each table must be whole (one build's version); the two
                    # may differ: a build publishes each model in turn.
                    connection.execute("BEGIN TRANSACTION")
                    [(facts,)] = connection.execute("SELECT count(*) FROM marts.fct_flights").fetchall()
                    [(scheduled,)] = connection.execute(
                        "SELECT sum(flights_scheduled) FROM marts.mart_carrier_daily_performance"
                    ).fetchall()
                    connection.execute("COMMIT")
                    self.rounds.append((time.monotonic() - started, facts, int(scheduled)))
                    time.sleep(0.05)
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error


class CatalogConnections(threading.Thread):
    """The most connections the lake's catalog database had at once, sampled while the writers run."""

    def __init__(self, server_dsn: str, database: str) -> None:
        super().__init__(daemon=True)
        self.server_dsn, self.database, self.peak = server_dsn, database, 0
        self.stop = threading.Event()

    def run(self) -> None:
        with closing(psycopg2.connect(self.server_dsn)) as monitor:
            monitor.autocommit = True
            while not self.stop.is_set():
                with monitor.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.database,))
                    self.peak = max(self.peak, cursor.fetchone()[0])
                time.sleep(0.05)


# What docs/backends.md ("Catalog connections") tells operators to size the catalog for, per run or session.
CATALOG_CONNECTIONS = {"load": 4, "build": 8, "reader": 2}


def test_two_loads_and_a_build_write_the_lake_at_once_while_a_reader_is_never_blocked(
    tmp_path, dbt_manifest, lake_catalogs, postgres_server
):
    settings = Settings(env="test", data_dir=tmp_path / "data", **lake_catalogs())
    connections = CatalogConnections(postgres_server, postgres.database_of(settings.lake_catalog))
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance = dg.DagsterInstance.local_temp(str(home))  # shared with the workers through DAGSTER_HOME
    replay.main(["--reference", "--days", "3"], settings=settings)
    # Reference data, the first day and the marts: what the reader reads from the start.
    assert run_backfill(settings, instance, end=date(2013, 1, 1)).success
    datasets = load_datasets(settings.datasets_path)
    register_days(instance, datasets, ["2013-01-02", "2013-01-03"], date.today())

    reader = Reader(settings)
    reader.start()
    connections.start()
    env = {**os.environ, **settings.environment(), "DAGSTER_HOME": str(home)}
    barrier = tmp_path / "barrier"
    roles = [["load", "2013-01-02"], ["load", "2013-01-03"], ["build"]]
    logs = [tmp_path / f"worker-{n}.log" for n in range(len(roles))]
    workers = [lake_worker.start(barrier, len(roles), role, env, log) for role, log in zip(roles, logs, strict=True)]
    results = [lake_worker.outcome(worker, log, WORKER_TIMEOUT) for worker, log in zip(workers, logs, strict=True)]
    reader.stop.set()
    reader.join(timeout=60)
    connections.stop.set()
    connections.join(timeout=60)

    for result in results:
        assert result["success"] and result["trouble"] == [], json.dumps(result)
    # They ran at once: every run started before any of them ended.
    assert max(r["started"] for r in results) < min(r["ended"] for r in results), results
    # Exact counts: each day once, every delivery logged once.
    per_day = dict(
        query(settings, "SELECT strftime(_partition_date, '%Y-%m-%d'), count(*) FROM raw.flights GROUP BY 1")
    )
    assert per_day == FLIGHTS
    [(logged,)] = query(settings, "SELECT count(*) FROM meta.file_loads WHERE dataset = 'flights'")
    assert logged == len(FLIGHTS)
    # The concurrent build saw one consistent snapshot of raw: day 1, plus none, one or both others.
    possible = {842, 842 + 943, 842 + 914, sum(FLIGHTS.values())}
    build = next(r for r in results if r["role"] == "build")
    built = instance.get_latest_materialization_event(dg.AssetKey(["marts", "fct_flights"]))
    assert built is not None and built.run_id == build["run_id"]
    assert built.asset_materialization.metadata["dagster/row_count"].value in possible
    # The reader: never failed, never waited on a writer, and every round saw one version.
    assert reader.error is None, reader.error
    assert len(reader.rounds) >= 5, "the reader queried all through the writes"
    slowest = max(seconds for seconds, _, _ in reader.rounds)
    assert slowest < READER_QUERY_CEILING_SECONDS, f"a read waited {slowest:.1f} s"
    odd = [
        (facts, scheduled)
        for _, facts, scheduled in reader.rounds
        if facts not in possible or scheduled not in possible
    ]
    assert odd == [], f"rounds that saw part of a table: {odd}"
    # The catalog's connections stay within what docs/backends.md says to size it for.
    bound = 2 * CATALOG_CONNECTIONS["load"] + CATALOG_CONNECTIONS["build"] + CATALOG_CONNECTIONS["reader"]
    assert 0 < connections.peak <= bound, f"{connections.peak} connections at once, over the documented {bound}"
    # And the next build catches up with everything loaded.
    defs = build_definitions(settings)
    rebuild = dg.materialize(
        list(defs.assets or []),
        selection=refresh_targets(defs.assets or [], datasets).selection,
        instance=instance,
        resources=defs.resources,
        raise_on_error=False,
    )
    failures = [str(event.step_failure_data.error) for event in rebuild.all_events if event.is_step_failure]
    assert rebuild.success, failures
    assert query(settings, "SELECT count(*) FROM marts.fct_flights") == [(sum(FLIGHTS.values()),)]


def test_loads_and_builds_from_two_dagster_instances_on_one_lake_stay_exact(tmp_path, dbt_manifest, lake_catalogs):
    """Each instance loads a day and builds at once. The transform pool orders builds within an
    instance only: the lake's build lock makes one of the two builds wait for the other, and say so."""
    settings = Settings(env="test", data_dir=tmp_path / "data", **lake_catalogs())
    replay.main(["--reference", "--days", "3"], settings=settings)
    datasets = load_datasets(settings.datasets_path)
    homes = [tmp_path / "instance_a", tmp_path / "instance_b"]
    for home in homes:
        home.mkdir()
    first = dg.DagsterInstance.local_temp(str(homes[0]))
    assert run_backfill(settings, first, end=date(2013, 1, 1)).success
    register_days(first, datasets, ["2013-01-02"], date.today())
    register_days(dg.DagsterInstance.local_temp(str(homes[1])), datasets, ["2013-01-03"], date.today())

    barrier = tmp_path / "barrier"
    writers = [(homes[0], ["load", "2013-01-02"]), (homes[0], ["build"]), (homes[1], ["load", "2013-01-03"])]
    writers.append((homes[1], ["build"]))
    logs = [tmp_path / f"worker-{n}.log" for n in range(len(writers))]
    env = {**os.environ, **settings.environment()}
    workers = [
        lake_worker.start(barrier, len(writers), role, {**env, "DAGSTER_HOME": str(home)}, log)
        for (home, role), log in zip(writers, logs, strict=True)
    ]
    results = [lake_worker.outcome(worker, log, WORKER_TIMEOUT) for worker, log in zip(workers, logs, strict=True)]

    for result in results:
        assert result["success"] and result["trouble"] == [], json.dumps(result)
    builds = [result for result in results if result["role"] == "build"]
    waited = [result for result in builds if any("this one waits for it" in line for line in result["said"])]
    assert len(waited) == 1, builds  # the second build waited for the first, named in its log
    per_day = dict(
        query(settings, "SELECT strftime(_partition_date, '%Y-%m-%d'), count(*) FROM raw.flights GROUP BY 1")
    )
    assert per_day == FLIGHTS
    [(logged,)] = query(settings, "SELECT count(*) FROM meta.file_loads WHERE dataset = 'flights'")
    assert logged == len(FLIGHTS)

    # A build that follows (from a third instance) catches up, and equals a full refresh.
    pipeline = Pipeline(settings)
    pipeline.build()
    caught_up = pipeline.marts()
    assert caught_up["fct_flights"].height == sum(FLIGHTS.values())
    pipeline.build(full_refresh=True)
    refreshed = pipeline.marts()
    assert all(caught_up[name].equals(refreshed[name]) for name in refreshed), "the marts differ from a full refresh"
