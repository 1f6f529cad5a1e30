"""The warehouse resource against a lock held by a real second process."""

import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from resources.warehouse import (
    WRITER_RETRIES,
    WRITER_RETRY_DELAY_SECONDS,
    WarehouseResource,
    is_transient,
    retry_only_transient,
)
from warehouse.file import FileWarehouse
from warehouse.locks import WarehouseLockedError

HOLD_LOCK = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_lock(path, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_writer_waits_for_a_lock_held_by_another_process(tmp_path):
    warehouse = FileWarehouse(tmp_path / "w.duckdb", "dev", lock_attempts=10, lock_backoff_seconds=0.2)
    holder = hold_lock(warehouse.path, 1.5)
    started = time.monotonic()
    with warehouse.writer() as connection:
        connection.execute("CREATE TABLE raw.t AS SELECT 1 AS x")
    assert time.monotonic() - started >= 1.0, "it waited for the other process"
    holder.wait()


def test_a_lock_that_outlasts_the_budget_is_a_transient_error(tmp_path):
    warehouse = FileWarehouse(tmp_path / "w.duckdb", "dev", lock_attempts=2, lock_backoff_seconds=0.1)
    holder = hold_lock(warehouse.path, 5)
    try:
        with pytest.raises(WarehouseLockedError, match="still locked after 2 attempts") as raised, warehouse.writer():
            pass
        assert is_transient(raised.value)
        # Under retry_only_transient the step asks Dagster for a retry, later each time.
        delays = []
        for retry_number in (0, 1, 2):
            with pytest.raises(dg.RetryRequested) as retry, retry_only_transient(retry_number), warehouse.writer():
                pass
            assert retry.value.max_retries == WRITER_RETRIES
            assert isinstance(retry.value.__cause__, WarehouseLockedError)
            delays.append(retry.value.seconds_to_wait)
        assert [round(delay / 2**n / WRITER_RETRY_DELAY_SECONDS, 1) for n, delay in enumerate(delays)] == [
            pytest.approx(1.0, abs=0.5)
        ] * 3, delays
    finally:
        holder.kill()


def test_readers_share_the_file_and_cannot_write(tmp_path):
    warehouse = WarehouseResource(path=str(tmp_path / "w.duckdb"))
    with warehouse.writer() as connection:
        connection.execute("CREATE TABLE raw.t AS SELECT 1 AS x")
    with warehouse.read_only() as first, warehouse.read_only() as second:
        assert first.execute("SELECT x FROM raw.t").fetchall() == second.execute("SELECT x FROM raw.t").fetchall()
        with pytest.raises(Exception, match="read-only"):
            first.execute("INSERT INTO raw.t VALUES (2)")


def test_reading_a_warehouse_that_does_not_exist_says_what_to_do(tmp_path):
    with (
        pytest.raises(FileNotFoundError, match="materialise the raw assets first"),
        WarehouseResource(path=str(tmp_path / "none.duckdb")).read_only(),
    ):
        pass


def test_a_bug_is_final_not_retried():
    with pytest.raises(dg.Failure) as raised, retry_only_transient():
        raise KeyError("no such column")
    assert raised.value.allow_retries is False
    assert "KeyError" in raised.value.description


def test_a_full_disk_or_a_read_only_file_system_fails_at_once_naming_the_path():
    """Not retried with backoff (a minute per step, three times over): the same write fails the same
    way until someone frees space or fixes the mount. A real ENOSPC, from writing to /dev/full."""
    with pytest.raises(dg.Failure) as raised, retry_only_transient(), Path("/dev/full").open("wb") as full:
        full.write(b"x" * 4096)
        full.flush()
    assert not raised.value.allow_retries
    assert "No space left on device" in raised.value.description
    for final in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS):
        assert not is_transient(OSError(final, os.strerror(final), "/data/warehouse/prod.duckdb"))
    for passing in (errno.ECONNRESET, errno.ECONNREFUSED, errno.ETIMEDOUT, errno.EAGAIN):
        assert is_transient(OSError(passing, os.strerror(passing)))


def test_an_interrupted_query_stops_the_step_as_an_interrupt(tmp_path):
    """Terminate interrupts the worker; DuckDB turns that into an ordinary exception, which would
    be retried. It reaches Dagster as the interrupt it was."""
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    stopped = threading.Event()

    def interrupt_until_stopped() -> None:
        # An interrupt that lands before the query starts is dropped: repeat it until it takes.
        while not stopped.wait(0.05):
            connection.interrupt()

    interrupter = threading.Thread(target=interrupt_until_stopped)
    interrupter.start()
    begun = time.monotonic()
    try:
        with pytest.raises(dg.DagsterExecutionInterruptedError) as raised, retry_only_transient():
            connection.execute("SELECT count(*) FROM range(1000000000000) AS a(x) WHERE x % 7 = 3").fetchall()
    finally:
        stopped.set()
    interrupter.join()
    assert isinstance(raised.value.__cause__, duckdb.InterruptException)
    assert time.monotonic() - begun < 60, "the query stopped when interrupted, not when done"
