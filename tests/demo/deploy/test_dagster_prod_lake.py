"""Production past one machine: the daemon on the production instance, the lake's catalog in
PostgreSQL and its files in an S3-compatible bucket, so any machine's run worker shares them.

As on production hosts: DAGSTER_HOME holds the committed prod config (instance on PostgreSQL), the
lake is configured only through DATAOPS_* variables, and `dagster-daemon run` is the only process.
A backfill's days land and load; while that run is going, a burst of later days lands. The queued
coordinator must start the burst's load beside the backfill's (the lake's load pool has several
slots) rather than after it. Every run must succeed, and the marts must hold the real counts, with
the data in the bucket.

"While that run is going" is made to hold on any machine: the test holds a lock on the catalog's
snapshot table, as a long commit elsewhere would, so no load can commit until the burst's run has
started. (Left to timing, a fast machine finished the backfill before the sensor saw the burst.)
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import psycopg2
import pytest

from config.settings import LAKE_PASSWORD_VARIABLE, Settings
from demo import replay
from instance.home import PROD_CONFIG, prepare_dagster_home
from resources.warehouse import WarehouseResource
from tests.support import dev_server
from tests.support.instance_db import IN_FLIGHT, pg_env, rows, run_selections
from tests.support.warehouse import query
from warehouse.ducklake import LakeConnectionError

# e2e: `dagster-daemon run` does the work; the test mostly waits on its loops, beside the in-process tests.
pytestmark = [pytest.mark.integration, pytest.mark.e2e]

BACKFILL = (date(2013, 1, 1), date(2013, 1, 20))
BURST = (date(2013, 1, 21), date(2013, 1, 25))  # lands while the backfill loads (held: commits_held)
# Ceilings, not expectations: each wait ends as soon as its condition holds.
START_TIMEOUT = 600
PIPELINE_TIMEOUT = 900


def real_flights_per_day(*ranges: tuple[date, date]) -> dict[str, int]:
    return {
        day: count
        for day, count in dev_server.real_flights_per_day().items()
        if any(first <= date.fromisoformat(day) <= last for first, last in ranges)
    }


def deliver(settings: Settings, days: tuple[date, date], *options: str) -> None:
    replay.main(["--from", days[0].isoformat(), "--to", days[1].isoformat(), *options], settings=settings)


DAY = "_partition_date::VARCHAR, count(*)"


@contextmanager
def commits_held(settings: Settings) -> Iterator[None]:
    """No DuckLake commit can happen inside: every commit adds a row to the snapshot table; reads go on."""
    catalog = psycopg2.connect(settings.lake_catalog, password=os.environ[LAKE_PASSWORD_VARIABLE])
    try:
        catalog.cursor().execute("LOCK TABLE ducklake_snapshot IN EXCLUSIVE MODE")
        yield
    finally:
        catalog.rollback()
        catalog.close()


def test_the_daemon_runs_loads_side_by_side_on_a_lake_in_object_storage(
    tmp_path, database, dbt_manifest, lake_catalogs, object_store
):
    bucket = object_store.create_bucket("prod-lake")
    home, data_dir = tmp_path / "dagster_home", tmp_path / "data"
    settings = Settings(env="prod", data_dir=data_dir, **lake_catalogs(), **object_store.settings(bucket, "prod"))
    # As on production hosts: only DATAOPS_* variables (the secrets are in the fixtures' environment).
    env = {**os.environ, **pg_env(database), **settings.environment(), "DAGSTER_HOME": str(home)}
    prepare_dagster_home(home, [sys.executable], env, instance_config=PROD_CONFIG)
    daemon = [str(Path(dev_server.DAGSTER[0]).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"]
    expected = real_flights_per_day(BACKFILL, BURST)
    log = tmp_path / "daemon.log"

    def unfinished() -> str:
        found = rows(database, f"SELECT pipeline_name, status FROM runs WHERE status IN {IN_FLIGHT}")
        try:
            marts = f"{len(query(settings, 'SELECT DISTINCT flight_date FROM marts.fct_flights'))} day(s)"
        except (duckdb.Error, LakeConnectionError) as error:  # said, not swallowed
            marts = f"unreadable ({error})"
        return f"runs {found or 'none'}; marts hold {marts} of {len(expected)}"

    def wait(what: str, condition, timeout: float) -> None:
        try:
            dev_server.wait_for(what, condition, timeout, in_flight=unfinished)
        except TimeoutError as timeout_error:
            raise AssertionError(f"{timeout_error}\n{log.read_text()[-4000:]}") from timeout_error

    with WarehouseResource.for_settings(settings).writer():
        pass  # the lake exists, as after a deploy's first run, so its catalog tables can be locked
    loads_started = "SELECT count(*) FROM runs WHERE pipeline_name = 'ingest' AND status = 'STARTED'"
    with dev_server.background(daemon, env, log):
        with commits_held(settings):
            deliver(settings, BACKFILL, "--reference")
            wait("the backfill's load run started", lambda: rows(database, loads_started)[0][0] >= 1, START_TIMEOUT)
            deliver(settings, BURST)
            wait(
                "the burst's load run started beside it",
                lambda: rows(database, loads_started)[0][0] >= 2,
                START_TIMEOUT,
            )

        def settled() -> bool:
            in_flight = rows(database, f"SELECT count(*) FROM runs WHERE status IN {IN_FLIGHT}")[0][0]
            raw = dev_server.rows_per_day(settings, "raw.flights")
            return in_flight == 0 and dev_server.flights_per_day(settings) == raw != {}

        wait("every landed day in the marts, with no run left in flight", settled, PIPELINE_TIMEOUT)

    # Every real flight of every landed day is accounted for: in the marts, or quarantined with a reason.
    quarantined = dict(query(settings, f"SELECT {DAY} FROM quarantine.flights GROUP BY 1"))
    accounted = {day: rows_ + quarantined.get(day, 0) for day, rows_ in dev_server.flights_per_day(settings).items()}
    assert accounted == expected
    assert rows(database, "SELECT DISTINCT status FROM runs") == [("SUCCESS",)], run_selections(database)
    loads = rows(database, "SELECT start_time, end_time FROM runs WHERE pipeline_name = 'ingest' ORDER BY 1")
    assert len(loads) >= 2, run_selections(database)
    overlapping = [(a, b) for a, b in itertools.combinations(loads, 2) if a[0] < b[1] and b[0] < a[1]]
    assert overlapping, f"the load runs ran one after another: {loads}"
    keys = object_store.keys(bucket, "prod/")
    assert any(key.startswith("prod/raw/flights/") for key in keys) and any("/marts/" in key for key in keys)
    assert not (data_dir / "lake").exists() and not (data_dir / "warehouse").exists(), "no warehouse on local disk"
