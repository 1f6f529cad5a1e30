"""dbt commands run in this process, through dbt's Python API, behind the interface dagster-dbt reads.

A one-day build spent 3.4 s in dbt's own process, of which dbt's work was 0.8 s: the rest was a new
interpreter importing dbt (which the run worker has mostly imported already: dagster-dbt reads the
manifest with it) and setting up its adapter. In this process the same build takes 2.1 s the first
time and 0.9 s after (bench/latency.py has the figures).

dagster-dbt 0.29 drives dbt only as a subprocess: ``DbtCliInvocation`` reads dbt's JSON log lines
from the process's stdout and turns them into Dagster events. Here dbt runs in a thread through
``dbtRunner``; each event it fires reaches a callback, which writes the same JSON line dbt's JSON
log would (dbt's own ``msg_to_dict``) to a pipe that ``DbtThread.stdout`` reads. ``DbtThread`` is
the part of ``subprocess.Popen`` that ``DbtCliInvocation`` uses, so the parsing, the events and
the errors stay dagster-dbt's own.

A worker killed outright takes dbt with it (the leash resources/dbt_leash.py puts on a subprocess
comes free); an interrupted run interrupts dbt the way SIGINT would, so dbt cancels its queries.
"""

from __future__ import annotations

import ctypes
import io
import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

# dbt's exit codes (dbt.cli.main): success, a node failed, dbt itself failed.
EXIT_SUCCESS, EXIT_FAILURE, EXIT_ERROR = 0, 1, 2
# What dbt's stdout log shows at its default level, and so what dagster-dbt read from the subprocess.
STDOUT_LEVELS = frozenset({"info", "warn", "error"})
_END = object()
POLL_SECONDS = 0.2


class _EventPipe(io.RawIOBase):
    """dbt's events as JSON lines, read while dbt runs: the stdout of ``DbtThread``."""

    def __init__(self) -> None:
        super().__init__()
        self._lines: queue.SimpleQueue[bytes | object] = queue.SimpleQueue()
        self._ended = False

    def put(self, line: bytes) -> None:
        self._lines.put(line)

    def end(self) -> None:
        self._lines.put(_END)

    def readable(self) -> bool:
        return True

    def __iter__(self) -> Iterator[bytes]:
        while not self._ended:
            try:
                # Timed, so the run's interrupt (a signal handled in this thread) is not held up.
                line = self._lines.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if line is _END:
                self._ended = True
                return
            assert isinstance(line, bytes)
            yield line


class DbtThread:
    """A dbt command running in a thread of this process, with the interface of its subprocess.

    ``args``: dbt's command line, without the executable.
    """

    def __init__(self, args: Sequence[str]) -> None:
        self.args = ["dbt", *args, "(in process)"]
        self.returncode: int | None = None
        self.exception: BaseException | None = None
        self.stdout = _EventPipe()
        # Guards the window in which an interrupt may be raised in the thread: while dbt runs, and
        # never once it has returned (the thread must still close dbt's database and end stdout).
        self._lock = threading.Lock()
        self._in_dbt = False
        self._interrupted = False
        self._thread = threading.Thread(target=self._run, args=(list(args),), name="dbt", daemon=True)
        self._thread.start()

    def _forward(self, message: Any) -> None:
        from dbt_common.events.functions import msg_to_dict

        if message.info.level in STDOUT_LEVELS:
            self.stdout.put(json.dumps(msg_to_dict(message), default=str).encode() + b"\n")

    def _run(self, args: list[str]) -> None:
        try:
            from dbt.cli.main import dbtRunner

            runner = dbtRunner(callbacks=[self._forward])
            with self._lock:
                self._in_dbt = True
            try:
                result = runner.invoke(args)
            finally:
                with self._lock:
                    self._in_dbt = False
            self.exception = result.exception
            if result.exception is not None:
                # dbt failed before or outside its nodes (a bad profile, a compilation error). Its
                # CLI would print this; said as an error event, dagster-dbt puts it in its error.
                self._error_line(f"{type(result.exception).__name__}: {result.exception}")
            self.returncode = EXIT_SUCCESS if result.success else EXIT_ERROR if result.exception else EXIT_FAILURE
        except BaseException as error:  # the interrupt (send_signal) ends dbt here, as SIGINT would
            self.exception = error
            self._error_line(f"dbt stopped: {type(error).__name__}")
            self.returncode = EXIT_ERROR
        finally:
            release_dbt_connections()
            self.stdout.end()

    def _error_line(self, text: str) -> None:
        event = {"info": {"level": "error", "msg": text, "name": "InProcessError"}, "data": {}}
        self.stdout.put(json.dumps(event).encode() + b"\n")

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._thread.is_alive() and (deadline is None or time.monotonic() < deadline):
            left = POLL_SECONDS if deadline is None else min(POLL_SECONDS, max(deadline - time.monotonic(), 0))
            self._thread.join(left)
            if self._interrupted:
                # A query that had not begun when it was cancelled runs on; so does a node dbt
                # started meanwhile. Cancel again until dbt sees the interrupt and stops.
                _cancel_queries()
        if self._thread.is_alive():
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def poll(self) -> int | None:
        return None if self._thread.is_alive() else self.returncode

    def send_signal(self, signum: int) -> None:
        """SIGINT stops dbt as in its own process: its queries are cancelled, and it stops and cleans up.

        dagster-dbt sends it when the run is interrupted. A thread has no signals: the queries are
        cancelled through dbt's adapters (a thread waiting on one would not see the interrupt until
        it ends), and KeyboardInterrupt is raised in dbt's thread, where dbt handles it as Ctrl-C.
        """
        if signum != signal.SIGINT:
            return
        with self._lock:
            if not self._in_dbt or self._interrupted or self._thread.ident is None:
                return
            self._interrupted = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._thread.ident), ctypes.py_object(KeyboardInterrupt)
            )
        _cancel_queries()


def _cancel_queries() -> None:
    """Cancel the queries dbt's adapters have running, as dbt does on Ctrl-C."""
    from dbt.adapters.factory import FACTORY

    for adapter in list(FACTORY.adapters.values()):
        adapter.cancel_open_connections()


def release_dbt_connections() -> None:
    """Close the DuckDB database dbt-duckdb keeps for the process once an invocation has ended.

    In its own process dbt's DuckDB went with the process. Here dbt-duckdb keeps it in a class
    attribute: a file's write lock stays held until the next invocation (publishing needs the file
    right after), and an attached lake keeps its catalog connection and memory. dbt-duckdb's own
    ``close_all_connections`` only drops the reference; this closes it first, as dbt-duckdb does when
    a new invocation's credentials differ.
    """
    from compat.dbt_duckdb import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            environment.close()
        DuckDBConnectionManager.close_all_connections()
