"""The lake under the real `dagster dev`, its catalog on a PostgreSQL server of this module's own.

Loads of days that land apart run side by side, as the lake's load pool allows: two loads wait to
commit at the same moment. And a catalog that goes away right after a load's commit neither fails
the load that committed nor leaves a mart short of the day: afterwards every day is in the marts
once, and the marts equal a full refresh.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager

import dagster as dg
import psycopg2
import pytest

from config.settings import LAKE_PASSWORD_VARIABLE, Settings
from demo import replay
from instance.local import open_local_instance
from resources.warehouse import WarehouseResource
from tests.demo.support.pipeline import Pipeline
from tests.support import dev_server, postgres

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

# Ceilings, not expectations: each wait ends as soon as its condition holds.
RUN_TIMEOUT = 900
# The loads below wait behind a lock this test holds on the catalog: longer than any wait here, so
# that they wait for the test rather than give up and retry.
LOCK_TIMEOUT_SECONDS = 1800
# How many deliveries may pass before the catalog goes away between a commit and what follows it:
# the test stops the server the moment it sees the commit, which is nearly always in time.
RESTART_ATTEMPTS = 4
LOAD_LOG_WARNING = "loaded, but the volume check could not read the history"


@pytest.fixture(scope="module")
def lake_dev(tmp_path_factory, own_postgres, dbt_manifest) -> Iterator[tuple[Settings, dev_server.DevServer, str]]:
    """`dagster dev` on a new lake whose catalog is on the module's server; yields its settings, the
    server and the catalog's conninfo."""
    _, dsn = own_postgres
    catalog = postgres.conninfo(dsn, postgres.create_database(dsn, "lake"))
    workdir = tmp_path_factory.mktemp("lake_dev")
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv(LAKE_PASSWORD_VARIABLE, postgres.PASSWORD)  # read by Settings, as in production
        settings = Settings(
            env="dev",
            data_dir=workdir / "data",
            backend="ducklake",
            lake_catalog=catalog,
            lake_lock_timeout_seconds=LOCK_TIMEOUT_SECONDS,
        )
        with WarehouseResource.for_settings(settings).writer():
            pass  # the catalog's tables, for the test to lock one of them before any load
        with dev_server.dagster_dev(workdir, settings) as server:
            yield settings, server, catalog


def catalog_session(catalog: str):
    return closing(psycopg2.connect(catalog, password=postgres.PASSWORD))


def sessions_waiting_to_commit(catalog: str) -> int:
    """Sessions of the catalog waiting for the lock on its snapshot table (a commit of the lake)."""
    with catalog_session(catalog) as session, session.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND relation = 'ducklake_snapshot'::regclass"
        )
        [(waiting,)] = cursor.fetchall()
    return waiting


def load_runs(home, status: dg.DagsterRunStatus | None = None) -> list[dg.DagsterRun]:
    """The runs that load raw flights (a landing run, with or without the build after it)."""
    raw_flights = dg.AssetKey(["raw", "flights"])
    return [
        run
        for run in dev_server.runs(home)
        if raw_flights in (run.asset_selection or ()) and (status is None or run.status == status)
    ]


def settled(settings: Settings, home, days: int) -> bool:
    """The first ``days`` real days are in the marts, and no run is in flight."""
    expected = {day: n for day, n in dev_server.real_flights_per_day().items() if day <= f"2013-01-{days:02d}"}
    return dev_server.flights_per_day(settings) == expected and all(run.is_finished for run in dev_server.runs(home))


def test_loads_of_days_landing_apart_run_side_by_side(lake_dev):
    settings, server, catalog = lake_dev
    in_flight = lambda: dev_server.runs_in_flight(server.home)  # noqa: E731
    with catalog_session(catalog) as holder, holder.cursor() as cursor:
        # Nothing commits to the lake while this transaction holds the snapshot table: a load that
        # reaches its commit waits there, so two loads running at once are seen waiting together.
        cursor.execute("LOCK TABLE ducklake_snapshot IN EXCLUSIVE MODE")
        replay.main(["--reference", "--days", "1"], settings=settings)
        dev_server.wait_for("the first load to start", lambda: load_runs(server.home), RUN_TIMEOUT, 1, in_flight)
        replay.main(["--days", "1"], settings=settings)  # the next day, in a run of its own
        dev_server.wait_for(
            "two loads waiting to commit at once",
            lambda: sessions_waiting_to_commit(catalog) >= 2,
            RUN_TIMEOUT,
            1,
            in_flight,
        )
        started = load_runs(server.home, dg.DagsterRunStatus.STARTED)
        holder.rollback()
    assert len(started) == 2, dev_server.describe_runs(dev_server.runs(server.home))

    dev_server.wait_for("both days in the marts", lambda: settled(settings, server.home, 2), RUN_TIMEOUT, 3, in_flight)
    runs = dev_server.runs(server.home)
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs), dev_server.describe_runs(runs)


@contextmanager
def catalog_down_after_the_next_commit(data_dir, catalog: str, home) -> Iterator[list[str]]:
    """Stop the catalog's server the moment a new snapshot of the lake is committed; start it again
    once a step of the run that committed has ended after that. Yields what happened, in order."""
    happened: list[str] = []
    done = threading.Event()

    def latest_snapshot(cursor) -> int:
        cursor.execute("SELECT max(snapshot_id) FROM ducklake_snapshot")
        return cursor.fetchall()[0][0]

    def a_step_ended_since(run_id: str, stopped_at: float) -> bool:
        ended = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
        with open_local_instance(home) as instance:
            return any(entry.timestamp > stopped_at for entry in instance.all_logs(run_id, of_type=ended))

    def watch() -> None:
        deadline = time.monotonic() + RUN_TIMEOUT
        with catalog_session(catalog) as session:
            session.autocommit = True
            with session.cursor() as cursor:
                before = latest_snapshot(cursor)
                while latest_snapshot(cursor) == before:
                    if done.is_set() or time.monotonic() > deadline:
                        return
                    time.sleep(0.005)
        postgres.stop(data_dir)
        stopped_at = time.time()
        happened.append("stopped")
        [run] = load_runs(home, dg.DagsterRunStatus.STARTED)
        while not a_step_ended_since(run.run_id, stopped_at) and time.monotonic() < deadline:
            time.sleep(0.2)
        postgres.start_again(data_dir)
        happened.append("started again")

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield happened
    finally:
        done.set()
        watcher.join(timeout=RUN_TIMEOUT)


def test_a_catalog_gone_right_after_a_load_s_commit_leaves_every_day_in_the_marts(lake_dev, own_postgres):
    settings, server, catalog = lake_dev
    data_dir, _ = own_postgres
    in_flight = lambda: dev_server.runs_in_flight(server.home)  # noqa: E731
    dev_server.wait_for("the earlier days in the marts", lambda: settled(settings, server.home, 2), RUN_TIMEOUT)

    days, unjudged = 2, []
    while not unjudged and days - 2 < RESTART_ATTEMPTS:
        days += 1
        with catalog_down_after_the_next_commit(data_dir, catalog, server.home) as happened:
            replay.main(["--days", "1"], settings=settings)
            in_the_marts = functools.partial(settled, settings, server.home, days)
            dev_server.wait_for(f"day {days} in the marts", in_the_marts, RUN_TIMEOUT, 3, in_flight)
        assert happened == ["stopped", "started again"]
        [run] = [run for run in load_runs(server.home) if f"2013-01-{days:02d}" in run.tags.values()]
        assert run.status == dg.DagsterRunStatus.SUCCESS, dev_server.describe_runs(dev_server.runs(server.home))
        with open_local_instance(server.home) as instance:
            said = [entry.user_message for entry in instance.all_logs(run.run_id)]
        unjudged = [line for line in said if LOAD_LOG_WARNING in line]
    assert unjudged, f"in {RESTART_ATTEMPTS} deliveries the catalog never went away between a commit and its report"
    assert not any(postgres.PASSWORD in line for line in said)

    # Every day once in every per-day mart: what a full refresh of the same lake publishes.
    pipeline = Pipeline(settings)
    published = pipeline.marts()
    pipeline.build(full_refresh=True)
    refreshed = pipeline.marts()
    assert all(published[name].equals(refreshed[name]) for name in refreshed), "the marts differ from a full refresh"
