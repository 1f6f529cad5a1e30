"""End to end under the real `dagster dev` (webserver, daemon, sensors, automation), as a user runs it.

Files are delivered with `replay`; nothing else is done by hand: the landing sensor loads them,
automation builds the marts. Then a bad file lands and the alert must arrive. Run it alone with
``pytest -m e2e``.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

import tasks
from cli import replay
from cli.nycflights import day_csv
from resources.settings import Settings

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = [str(Path(sys.executable).parent / "dagster")]
START_TIMEOUT = 180
PIPELINE_TIMEOUT = 600
ALERT_TIMEOUT = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(what: str, condition, timeout: float, every: float = 3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def marts_days(settings: Settings) -> set[str]:
    """Days in the fact table, or nothing while the warehouse is missing or locked by a writer."""
    try:
        with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
            rows = connection.execute("SELECT DISTINCT flight_date::VARCHAR FROM marts.fct_flights").fetchall()
    except duckdb.Error:
        return set()
    return {row[0] for row in rows}


def alerts(settings: Settings) -> list[dict]:
    if not settings.alerts.exists():
        return []
    return [json.loads(line) for line in settings.alerts.read_text().splitlines()]


@pytest.fixture
def dagster_dev(tmp_path, dbt_manifest):
    home, log = tmp_path / "dagster_home", tmp_path / "dagster_dev.log"
    settings = Settings(env="dev", data_dir=tmp_path / "data")
    env = {**os.environ, "DAGSTER_HOME": str(home), "DATAOPS_DATA_DIR": str(settings.data_dir)}
    tasks.prepare_dagster_home(home, DAGSTER, env)
    port = free_port()
    with log.open("w") as output:
        # Its own session, so the webserver, daemon and code servers it spawns go down with it.
        process = subprocess.Popen(
            [*DAGSTER, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/server_info"

        def answering() -> bool:
            try:
                return urllib.request.urlopen(url, timeout=5).status == 200
            except OSError:
                return False

        wait_for("dagster dev to answer", answering, START_TIMEOUT)
        yield settings, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        # Whatever is left of the group (code servers ignore SIGTERM for a while) goes now.
        subprocess.run(["pkill", "-KILL", "-g", str(process.pid)], check=False)


def test_landed_files_reach_the_marts_and_a_bad_file_raises_an_alert(dagster_dev):
    settings, log = dagster_dev
    replay.main(["--reference", "--days", "2"], settings=settings)
    wanted = {"2013-01-01", "2013-01-02"}
    assert wait_for("the replayed days in the marts", lambda: marts_days(settings) >= wanted, PIPELINE_TIMEOUT, every=5)

    broken = pl.read_csv(day_csv("flights", date(2013, 1, 3)), infer_schema=False)
    replay.write_atomically(
        settings.landing / "flights" / "flights_2013-01-03.csv", broken.drop("carrier").write_csv().encode()
    )
    found = wait_for(
        "the alerts for the bad file",
        lambda: {alert["kind"] for alert in alerts(settings)} >= {"check_failure", "run_failure"},
        ALERT_TIMEOUT,
    )
    assert found, log.read_text()[-3000:]
    check_alert = next(alert for alert in alerts(settings) if alert["kind"] == "check_failure")
    assert check_alert["asset"] == "raw/flights"
    assert "missing column(s) ['carrier']" in check_alert["details"]
    assert marts_days(settings) == {"2013-01-01", "2013-01-02"}, "the bad day was not published"
    assert list(settings.archive.rglob("*__flights_2013-01-03.csv")), "the bad file is kept"
