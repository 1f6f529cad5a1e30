"""A crash of the whole process tree mid-load, under the real `dagster dev`: it recovers by itself.

`dagster dev` and everything it spawned are SIGKILLed while a load run is STARTED (a host crash or an
OOM kill of the tree, as the run sees it), then started again on the same instance and data. Nobody
touches anything: the run watchdog fails the dead run (freeing the writer slot and raising the
run-failure alert), the run is loaded again, and every day ends up in the warehouse exactly once.
On both backends: on the lake, the killed load's open transaction dies with its PostgreSQL session.
"""

import json

import dagster as dg
import duckdb
import pytest

from config.settings import Settings
from demo import replay
from instance.local import open_local_instance
from tests.support import dev_server
from tests.support.warehouse import query
from warehouse.ducklake import LakeConnectionError

pytestmark = [pytest.mark.e2e, pytest.mark.backends]

DAYS = 15  # a load run of several seconds: long enough to be caught STARTED and killed
# Ceilings, not expectations: each wait ends as soon as its condition holds.
START_TIMEOUT = 900
RECOVERY_TIMEOUT = 1200


def real_flights_per_day() -> dict[str, int]:
    return {day: n for day, n in dev_server.real_flights_per_day().items() if day <= f"2013-01-{DAYS:02d}"}


def raw_days(settings: Settings) -> tuple[dict[str, int], int]:
    """Flights per day in raw.flights, and how many rows repeat a key (0 when loaded exactly once)."""
    try:
        per_day = dict(query(settings, "SELECT _partition_date::VARCHAR, count(*) FROM raw.flights GROUP BY 1"))
        [(repeated,)] = query(
            settings,
            "SELECT count(*) - count(DISTINCT (year, month, day, carrier, flight, origin, sched_dep_time)) "
            "FROM raw.flights",
        )
    except (FileNotFoundError, duckdb.Error, LakeConnectionError):  # no warehouse yet, or no table yet
        return {}, 0
    return per_day, repeated


def test_a_killed_process_tree_is_recovered_with_every_day_loaded_once(tmp_path, dbt_manifest, backend_overrides):
    settings = Settings(env="dev", data_dir=tmp_path / "data", **backend_overrides())
    with dev_server.dagster_dev(tmp_path, settings, "before_the_crash.log") as server:
        replay.main(["--reference", "--days", str(DAYS)], settings=settings)

        def a_load_running() -> str | None:
            started = [
                r
                for r in dev_server.runs(server.home)
                if r.job_name == "ingest" and r.status == dg.DagsterRunStatus.STARTED
            ]
            return started[0].run_id if started else None

        victim = dev_server.wait_for("a daily load to be STARTED", a_load_running, START_TIMEOUT, every=0.2)
        server.kill()
    assert {r.run_id: r.status for r in dev_server.runs(server.home)}[victim] == dg.DagsterRunStatus.STARTED, (
        "left hanging"
    )

    with dev_server.dagster_dev(tmp_path, settings, "after_the_restart.log") as server:

        def victim_failed() -> bool:
            return {r.run_id: r.status for r in dev_server.runs(server.home)}[victim] == dg.DagsterRunStatus.FAILURE

        in_flight = lambda: dev_server.runs_in_flight(server.home)  # noqa: E731
        dev_server.wait_for("the watchdog to fail the dead run", victim_failed, RECOVERY_TIMEOUT, 2, in_flight)
        expected = real_flights_per_day()
        dev_server.wait_for(
            "every day loaded and in the marts",
            lambda: raw_days(settings)[0] == expected and dev_server.flights_per_day(settings) == expected,
            RECOVERY_TIMEOUT,
            every=5,
            in_flight=in_flight,
        )
        assert raw_days(settings)[1] == 0, "no day loaded twice"

    with open_local_instance(server.home) as instance:
        failure = instance.get_records_for_run(victim, of_type=dg.DagsterEventType.RUN_FAILURE).records[-1]
    assert "run worker (pid" in failure.event_log_entry.dagster_event.message
    alerts = [json.loads(line) for line in settings.alerts.read_text().splitlines()]
    assert any(alert["kind"] == "run_failure" and alert["run_id"] == victim for alert in alerts)
    landing = [path for path in settings.landing.rglob("*") if path.is_file()]
    assert landing == [], f"every delivery left landing: {landing}"
    assert not settings.rejected.exists(), "nothing was rejected: the crash is not the file's fault"
