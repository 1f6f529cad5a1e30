"""dbt in this process (resources/dbt_in_process.py): dagster-dbt's invocation, fed by a dbt thread.

Real dbt commands on a real DuckDB file: their events and errors come through as from dbt's own
process, an interrupt stops a running query, and the file is free for another process afterwards.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from compat.dbt_duckdb import DuckDBConnectionManager
from resources.dbt import dbt_resource
from resources.dbt_in_process import EXIT_ERROR, DbtThread
from resources.settings import Settings
from resources.warehouse import WarehouseResource

# A query DuckDB needs far longer than the test's ceiling for: 10^13 rows.
ENDLESS_QUERY = "select sum(i % 7) as total from range(10000000000000) t(i)"
# Generous on a busy 2-core machine; each wait ends as soon as its condition holds.
TIMEOUT = 120


@pytest.fixture
def settings(tmp_path, dbt_manifest) -> Settings:
    settings = Settings(env="test", data_dir=tmp_path)
    settings.warehouse.parent.mkdir(parents=True)
    duckdb.connect(str(settings.warehouse)).close()
    return settings


def dbt_vars(settings: Settings) -> str:
    return json.dumps(WarehouseResource.for_settings(settings).dbt_vars())


def write_lock_free(path: Path) -> bool:
    """Whether another process can open the file read-write, as the next writer would."""
    probe = f"import duckdb; duckdb.connect({str(path)!r}).execute('select 1')"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def test_a_command_in_process_streams_dbts_events_and_leaves_the_file_free(settings):
    invocation = dbt_resource(settings).cli(
        ["show", "--inline", "select 42 as answer", "--output", "json", "--vars", dbt_vars(settings)],
        target_path=settings.data_dir / "target",
    )
    events = list(invocation.stream_raw_events())
    assert invocation.is_successful()
    assert "(in process)" in invocation.dbt_command
    [shown] = [event.raw_event for event in events if event.raw_event["info"]["name"] == "ShowNode"]
    assert json.loads(shown["data"]["preview"]) == [{"answer": 42}]
    # dbt's debug log is in the invocation's own folder, as from dbt's process.
    assert "select 42 as answer" in (invocation.target_path / "dbt.log").read_text()
    assert DuckDBConnectionManager._ENV is None
    assert write_lock_free(settings.warehouse)


def test_a_failing_command_is_an_error_naming_its_cause(settings):
    invocation = dbt_resource(settings).cli(
        ["show", "--inline", "select * from no_such_table", "--vars", dbt_vars(settings)],
        raise_on_error=False,
        target_path=settings.data_dir / "target",
    )
    assert not invocation.is_successful()
    error = str(invocation.get_error())
    assert "no_such_table" in error and "(in process)" in error
    assert write_lock_free(settings.warehouse)


def test_a_command_dbt_cannot_start_says_why(settings):
    invocation = dbt_resource(settings).cli(
        ["build", "--target", "no_such_target"], raise_on_error=False, target_path=settings.data_dir / "target"
    )
    assert not invocation.is_successful()
    assert "no_such_target" in str(invocation.get_error())


def wait_for_query(log: Path, running: Callable[[], bool]) -> None:
    """Until dbt's debug log shows the endless query sent (dbt logs it before running it)."""
    deadline = time.monotonic() + TIMEOUT
    while not (log.exists() and "range(10000000000000)" in log.read_text()):
        assert running(), "dbt ended before its query ran"
        assert time.monotonic() < deadline, "the query never started"
        time.sleep(0.05)


def test_an_interrupted_run_stops_dbt_through_dagster_dbt(settings):
    """Dagster interrupts a terminated run's main thread; dagster-dbt then stops dbt and waits for it."""
    target = settings.data_dir / "target"
    invocation = dbt_resource(settings).cli(
        ["show", "--inline", ENDLESS_QUERY, "--vars", dbt_vars(settings)], target_path=target
    )
    main = threading.get_ident()

    def interrupt_once_running() -> None:
        wait_for_query(target / "dbt.log", lambda: invocation.process.poll() is None)
        # What Dagster's interrupt handler raises in the run's main thread when the run is terminated.
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(main), ctypes.py_object(dg.DagsterExecutionInterruptedError)
        )

    interrupter = threading.Thread(target=interrupt_once_running)
    interrupter.start()
    started = time.monotonic()
    with pytest.raises(dg.DagsterExecutionInterruptedError):
        list(invocation.stream_raw_events())
    interrupter.join()
    assert invocation.process.poll() == EXIT_ERROR, "dbt stopped before the interrupt returned"
    assert time.monotonic() - started < TIMEOUT
    assert write_lock_free(settings.warehouse)


def test_an_interrupt_stops_a_running_query_and_frees_the_file(settings):
    target = settings.data_dir / "target"
    dbt = DbtThread(
        [
            *("show", "--inline", ENDLESS_QUERY, "--vars", dbt_vars(settings), "--target", settings.dbt_target),
            *(
                "--project-dir",
                str(dbt_resource(settings).project_dir),
                "--profiles-dir",
                str(dbt_resource(settings).profiles_dir),
            ),
            *(
                "--target-path",
                str(target),
                "--log-path",
                str(target),
                "--log-level",
                "none",
                "--log-level-file",
                "debug",
            ),
        ]
    )
    wait_for_query(target / "dbt.log", lambda: dbt.poll() is None)
    dbt.send_signal(2)  # SIGINT, as dagster-dbt sends when the run is interrupted
    assert dbt.wait(timeout=TIMEOUT) == EXIT_ERROR
    assert isinstance(dbt.exception, KeyboardInterrupt) or "nterrupt" in str(dbt.exception)
    assert write_lock_free(settings.warehouse)
