"""Run the real `dagster dev` (or one Dagster service) in the background, for end-to-end tests and benchmarks.

It gets its own DAGSTER_HOME (prepared like `tasks.py dev` does) and data folder, a free local
port, and its own process session, so the webserver, daemon and code servers it spawns all stop
with it: `dagster dev` does not exit promptly on SIGTERM, so what is left is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from config.settings import PROJECT_ROOT as ROOT
from config.settings import Settings
from instance.home import prepare_dagster_home
from resources.warehouse import WarehouseResource
from tests.support.processes import free_port
from warehouse.ducklake import LakeConnectionError

DAGSTER = [str(Path(sys.executable).parent / "dagster")]
# Generous: on a busy machine (CI beside other work) `dagster dev` took minutes to answer.
START_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class DevServer:
    url: str
    home: Path
    log: Path
    process: subprocess.Popen

    def kill(self) -> None:
        """SIGKILL `dagster dev` and everything it spawned at once: a host crash, as the workers see it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)


def wait_for(
    what: str,
    condition: Callable[[], object],
    timeout: float,
    every: float = 3.0,
    in_flight: Callable[[], str] | None = None,
) -> object:
    """Poll ``condition`` until it is truthy; fail naming ``what`` after ``timeout`` seconds.

    ``in_flight`` describes what was still going on (runs queued or started, files waiting): on a
    busy machine a timeout must say whether the work was stuck or merely slow.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    state = f"; still in flight: {in_flight()}" if in_flight else ""
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{state}")


def runs(home: Path) -> list:
    """Every run of the instance in ``home``, newest first."""
    # Only in tests and benchmarks that ask: the polls themselves need no Dagster.
    from instance.local import open_local_instance

    with open_local_instance(home) as instance:
        return list(instance.get_runs())


def describe_runs(runs: list) -> str:
    """Each run, oldest first, with what it targeted and what started it: why there were more than expected."""
    lines = []
    for run in reversed(runs):
        assets = sorted(key.to_user_string() for key in run.asset_selection or ())
        checks = sorted(key.name for key in run.asset_check_selection or ())
        started_by = run.tags.get("dagster/sensor_name") or run.tags.get("dagster/backfill") or "by hand"
        if parent := run.tags.get("dagster/parent_run_id"):
            started_by += f", retry of {parent[:8]}"
        lines.append(f"{run.job_name} {run.run_id[:8]} {run.status.value} ({started_by}): {assets} checks {checks}")
    return "\n".join(lines)


def runs_in_flight(home: Path) -> str:
    """The runs of the instance in ``home`` that had not finished, and the last few that had."""
    latest = runs(home)[:30]
    unfinished = [f"{run.job_name} {run.run_id[:8]} {run.status.value}" for run in latest if not run.is_finished]
    finished = [f"{run.job_name} {run.run_id[:8]} {run.status.value}" for run in latest if run.is_finished][:5]
    return f"unfinished runs {unfinished or 'none'}; latest finished {finished or 'none'}"


def wait_for_automation_after(home: Path, run_id: str, timeout: float, ticks: int = 2) -> None:
    """Until the automation sensor has ticked ``ticks`` times since run ``run_id`` ended: only then is
    the absence of a run it would have started evidence that it starts none."""
    from instance.local import open_local_instance

    with open_local_instance(home) as instance:
        automation = next(state for state in instance.all_instigator_state() if state.name == "automation_sensor")
        end = instance.get_run_record_by_id(run_id).end_time
        origin, selector = automation.instigator_origin_id, automation.selector_id
        wait_for(
            f"{ticks} automation ticks after run {run_id[:8]}",
            lambda: len(instance.get_ticks(origin, selector, after=end)) >= ticks,
            timeout,
        )


def rows_per_day(settings: Settings, table: str, day_column: str = "_partition_date") -> dict[str, int]:
    """Rows per day of ``table`` (raw.flights, quarantine.flights: by their partition day); empty while
    the warehouse or the table is missing, or the file is locked by a writer."""
    try:
        with WarehouseResource.for_settings(settings).read_only() as connection:
            rows = connection.execute(f"SELECT {day_column}::VARCHAR, count(*) FROM {table} GROUP BY 1").fetchall()
    except (duckdb.Error, FileNotFoundError, LakeConnectionError):
        return {}
    return dict(rows)


def flights_per_day(settings: Settings) -> dict[str, int]:
    """Flights per day in marts.fct_flights (see rows_per_day)."""
    return rows_per_day(settings, "marts.fct_flights", "flight_date")


def real_flights_per_day() -> dict[str, int]:
    """Flights per day in the real 2013 data, as delivered, by ISO day."""
    from demo.nycflights import daily_table  # the demo pack's

    counts = daily_table("flights").group_by(pl.col("_day").cast(pl.String)).len()
    return dict(counts.iter_rows())


@contextlib.contextmanager
def background(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Run a Dagster service in its own process session; on exit stop it and everything it spawned."""
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):  # already gone if a test killed it
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        subprocess.run(["pkill", "-KILL", "-g", str(process.pid)], check=False)


@contextlib.contextmanager
def dagster_dev(
    workdir: Path, settings: Settings, log_name: str = "dagster_dev.log", log_format: str = "colored"
) -> Iterator[DevServer]:
    """`dagster dev` on a free port with ``settings`` (either backend); started again with the same
    ``workdir``, it has the same instance. ``log_format="json"``: JSON lines from every process, as
    `python3 tasks.py dev --log-format json` gives them."""
    home, log = workdir / "dagster_home", workdir / log_name
    env = {**os.environ, **settings.environment(), "DAGSTER_HOME": str(home)}
    prepare_dagster_home(home, [sys.executable], env, json_logs=log_format == "json")
    url = f"http://127.0.0.1:{free_port()}"
    port = url.rsplit(":", 1)[1]
    command = [*DAGSTER, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", port, "--log-format", log_format]
    with background(command, env, log) as process:

        def answering() -> bool:
            try:
                return urllib.request.urlopen(f"{url}/server_info", timeout=5).status == 200
            except OSError:
                return False

        wait_for("dagster dev to answer", answering, START_TIMEOUT_SECONDS)
        yield DevServer(url, home, log, process)


@contextlib.contextmanager
def metrics_exporter(workdir: Path, settings: Settings, server: DevServer) -> Iterator[str]:
    """The metrics exporter as `tasks.py dev` starts it, reading ``server``; yields its /metrics URL."""
    env = {**os.environ, **settings.environment()}
    url = f"http://127.0.0.1:{free_port()}/metrics"
    port = url.split(":")[2].split("/")[0]
    exporter = str(Path(sys.executable).with_name("metrics-exporter"))
    command = [exporter, "--host", "127.0.0.1", "--port", port, "--graphql-url", f"{server.url}/graphql"]
    with background(command, env, workdir / "metrics_exporter.log"):

        def answering() -> bool:
            try:
                return urllib.request.urlopen(url, timeout=5).status == 200
            except OSError:
                return False

        wait_for("the metrics exporter to answer", answering, START_TIMEOUT_SECONDS, every=1)
        yield url
