"""The production instance (deploy/dagster.prod.yaml) on a real PostgreSQL server, run by the daemon.

As on the production host: DAGSTER_HOME holds a copy of the committed config, the PostgreSQL
credentials come from DAGSTER_PG_* variables, DATAOPS_ENV=prod, and `dagster-daemon run` is the
only process. Files land; the landing sensor queues runs, the queued run coordinator starts them,
automation builds the marts. Then the runs, check results and events must be in PostgreSQL (and
no SQLite file in DAGSTER_HOME), and the marts must hold the real counts.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from config.settings import Settings
from demo import replay
from instance.home import PROD_CONFIG
from resources.pools import pool_limits
from tests.support import dev_server, systemd
from tests.support.instance_db import IN_FLIGHT, pg_env, rows, run_selections

# e2e: `dagster-daemon run` does the work; the test mostly waits on its loops, beside the in-process tests.
pytestmark = [pytest.mark.integration, pytest.mark.e2e]

# A ceiling, not an expectation: the wait ends as soon as the condition holds (under a minute idle).
PIPELINE_TIMEOUT = 1500
FLIGHTS_PER_DAY = {"2013-01-01": 842, "2013-01-02": 943}  # counted from the package's flights.csv


def deployed_variable(name: str) -> str:
    """A variable as the systemd units' environment file sets it (deploy/systemd/)."""
    env_file = Path(__file__).resolve().parents[3] / "deploy" / "systemd" / "dataops-template.env.example"
    [value] = [line.split("=", 1)[1] for line in env_file.read_text().splitlines() if line.startswith(f"{name}=")]
    return value


def test_the_daemon_runs_the_pipeline_on_the_postgres_backed_production_instance(tmp_path, database, dbt_manifest):
    home, data_dir = tmp_path / "dagster_home", tmp_path / "data"
    env = {
        **os.environ,
        **pg_env(database),
        "DAGSTER_HOME": str(home),
        "DATAOPS_ENV": "prod",
        "DATAOPS_DATA_DIR": str(data_dir),
        # As the deploy sets it: a ranged load's materialisations written in batches.
        "DAGSTER_EVENT_BATCH_SIZE": deployed_variable("DAGSTER_EVENT_BATCH_SIZE"),
        "DAGSTER_LOG_FORMAT": deployed_variable("DAGSTER_LOG_FORMAT"),
    }
    home.mkdir()
    (home / "dagster.yaml").write_text((systemd.ROOT / "deploy" / PROD_CONFIG).read_text())  # as installed
    settings = Settings(env="prod", data_dir=data_dir)
    # The daemon's unit, command for command: what it runs before the daemon, then the daemon.
    unit = "dataops-template-daemon.service"
    for command in systemd.commands(unit, "ExecStartPre", env):
        subprocess.run(command, cwd=systemd.working_directory(unit), env=env, check=True)
    [daemon] = systemd.commands(unit, "ExecStart", env)

    with dev_server.background(daemon, env, tmp_path / "daemon.log"):
        replay.main(["--reference", "--days", "2"], settings=settings)

        def settled() -> bool:
            in_flight = rows(database, f"SELECT count(*) FROM runs WHERE status IN {IN_FLIGHT}")[0][0]
            return dev_server.flights_per_day(settings) == FLIGHTS_PER_DAY and in_flight == 0

        def in_flight() -> str:
            unfinished = rows(database, f"SELECT pipeline_name, status FROM runs WHERE status IN {IN_FLIGHT}")
            return f"runs {unfinished or 'none'}; marts hold {dev_server.flights_per_day(settings)}"

        try:
            dev_server.wait_for(
                "the two days in the marts, with no run left in flight", settled, PIPELINE_TIMEOUT, in_flight=in_flight
            )
        except TimeoutError as timeout:
            raise AssertionError(f"{timeout}\n" + (tmp_path / "daemon.log").read_text()[-4000:]) from timeout

    jobs = dict(rows(database, "SELECT pipeline_name, count(*) FROM runs GROUP BY 1"))
    # Reference data and two days landed together: one load run, then one dbt build (+ analytics).
    assert jobs == {"ingest": 1, "__ASSET_JOB": 1}, run_selections(database)
    assert rows(database, "SELECT DISTINCT status FROM runs") == [("SUCCESS",)]
    # Every run went through the queue: enqueued, then dequeued by the daemon's coordinator.
    [(enqueued,)] = rows(
        database, "SELECT count(DISTINCT run_id) FROM event_logs WHERE dagster_event_type = 'PIPELINE_ENQUEUED'"
    )
    assert enqueued == sum(jobs.values())
    daemons = {row[0] for row in rows(database, "SELECT daemon_type FROM daemon_heartbeats")}
    assert {"SENSOR", "QUEUED_RUN_COORDINATOR", "ASSET"} <= daemons, daemons

    materialized = {
        key
        for (key,) in rows(
            database, "SELECT DISTINCT asset_key FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
        )
    }
    for asset in ('["raw", "flights"]', '["raw", "planes"]', '["marts", "fct_flights"]'):
        assert asset in materialized
    checks = dict(rows(database, "SELECT execution_status, count(*) FROM asset_check_executions GROUP BY 1"))
    assert checks.get("SUCCEEDED", 0) > 0, checks
    [(pandera,)] = rows(
        database,
        "SELECT count(*) FROM asset_check_executions WHERE check_name = "
        "'pandera_validation' AND asset_key = '[\"raw\", \"flights\"]'",
    )
    assert pandera == 1
    [(ticks,)] = rows(database, "SELECT count(*) FROM job_ticks")
    assert ticks > 0, "sensor ticks are kept in PostgreSQL too"

    limits = dict(rows(database, 'SELECT concurrency_key, "limit" FROM concurrency_limits'))
    assert limits == pool_limits(settings), "the unit set the backend's writer pools before the daemon started"
    assert not list(home.rglob("*.db")), "no SQLite storage next to the production instance"
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        assert connection.execute("SELECT environment FROM meta.warehouse_environment").fetchall() == [("prod",)]
    assert settings.warehouse == settings.prod_warehouse
