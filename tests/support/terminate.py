"""Terminate a real run in the middle of a chosen step, as a user does with the UI's Terminate button.

Steps of one day take a fraction of a second, too short to press a button in. So the run worker
(steps run in its process: definitions.py) is watched from /proc and the event log and frozen with
SIGSTOP the moment it is inside the step; then Terminate is sent through the webserver's GraphQL
API, as the UI sends it, and the worker is let go (SIGCONT) once the run is marked canceling. The
interrupt Dagster sends it lands where the step was: in a query, in dbt, in a file copy. What is
timed is what the user waits for: from the Terminate to the run's end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster_graphql import DagsterGraphQLClient

from instance.local import open_local_instance

CANCELING = dg.DagsterEventType.RUN_CANCELING
STEP_ENDS = (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE)
# A step of a fraction of a second can end while the worker is being frozen (the freeze waits for it
# to leave a write to the instance's files): so many runs may slip through before the test fails.
MISSES_ALLOWED = 3


@dataclass
class Worker:
    """A run in flight and the process its steps run in."""

    run_id: str
    pid: int
    seen: set[str] = field(default_factory=set)  # what a phase's condition has seen so far

    def children(self) -> list[str]:
        """The command lines of the worker's child processes (dbt, when it is building)."""
        commands = []
        for task in Path(f"/proc/{self.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    with contextlib.suppress(OSError):
                        commands.append(Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        return commands

    def alive(self) -> bool:
        """Whether the worker still runs (a zombie waiting for its parent to reap it has exited)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return False
        return "\nState:\tZ" not in status


# A phase: given the instance and a worker, whether the worker is inside it now.
Phase = Callable[[dg.DagsterInstance, Worker], bool]


def step_states(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """Each started step of the run and its last event: STEP_START, STEP_SUCCESS or STEP_FAILURE."""
    states: dict[str, str] = {}
    for kind in (dg.DagsterEventType.STEP_START, *STEP_ENDS):
        for record in instance.get_records_for_run(run_id, of_type=kind).records:
            step = record.event_log_entry.step_key
            if step is not None and (kind != dg.DagsterEventType.STEP_START or step not in states):
                states[step] = kind.value
    return states


def in_step(prefix: str) -> Phase:
    """Inside a step whose key starts with ``prefix``: started and not ended."""

    def inside(instance: dg.DagsterInstance, worker: Worker) -> bool:
        states = step_states(instance, worker.run_id)
        return any(step.startswith(prefix) and state == "STEP_START" for step, state in states.items())

    return inside


def building_with_dbt(instance: dg.DagsterInstance, worker: Worker) -> bool:
    """dbt is building: the worker has a ``dbt build`` process (not the short ``--version`` one
    dagster-dbt starts first)."""
    return any("dbt" in command and " build " in command for command in worker.children())


def publishing(instance: dg.DagsterInstance, worker: Worker) -> bool:
    """dbt has run and exited, and the dbt step goes on: it is publishing (or keeping) what dbt wrote."""
    if building_with_dbt(instance, worker):
        worker.seen.add("dbt")
        return False
    return "dbt" in worker.seen and in_step("dbt")(instance, worker)


@dataclass(frozen=True)
class Terminated:
    run: dg.DagsterRun
    seconds: float  # from the Terminate to the run's end
    events: list[dg.DagsterEventType]
    worker: Worker


def terminate_inside(
    home: Path, url: str, phase: Phase, what: str, timeout: float, again: Callable[[], None]
) -> Terminated:
    """Wait for a run to enter ``phase``, freeze it there, Terminate it, and wait for its end.

    A short step can end between the moment it is seen and the freeze: that run is let go, and
    ``again`` (a new delivery) gives another run to catch, up to MISSES_ALLOWED times."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    client = DagsterGraphQLClient(host, port_number=int(port))
    deadline = time.monotonic() + timeout
    workers: dict[str, Worker] = {}
    missed: set[str] = set()
    with open_local_instance(home) as instance:
        while time.monotonic() < deadline:
            for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
                worker = workers.get(run.run_id) or _worker(instance, run.run_id)
                if worker is None or run.run_id in missed:
                    continue
                workers[run.run_id] = worker
                if not phase(instance, worker):
                    continue
                if not _freeze(worker, home):
                    continue
                # Frozen now; what it logged before still says whether it was caught inside.
                if not phase(instance, worker):
                    os.kill(worker.pid, signal.SIGCONT)
                    missed.add(run.run_id)
                    assert len(missed) <= MISSES_ALLOWED, f"{what}: the step ended before the freeze every time"
                    again()
                    continue
                try:
                    asked = time.monotonic()
                    # Terminate's request returns once the worker has taken the termination in,
                    # which a frozen worker cannot: it is sent beside, and the worker let go once
                    # the run's canceling event is logged (the request's first effect).
                    sender = threading.Thread(target=client.terminate_run, args=(run.run_id,))
                    sender.start()
                    while not instance.get_records_for_run(run.run_id, of_type=CANCELING).records:
                        assert time.monotonic() < deadline, f"{what}: Terminate was not taken"
                        time.sleep(0.05)
                finally:
                    os.kill(worker.pid, signal.SIGCONT)
                sender.join()
                while not (ended := instance.get_run_by_id(run.run_id)).is_finished:
                    assert time.monotonic() < deadline, f"{what}: run {run.run_id} still {ended.status} after Terminate"
                    time.sleep(0.2)
                seconds = time.monotonic() - asked
                while worker.alive():
                    assert time.monotonic() < deadline, f"{what}: worker {worker.pid} still running after the run ended"
                    time.sleep(0.2)
                events = [
                    record.event_log_entry.dagster_event.event_type
                    for record in instance.get_records_for_run(run.run_id).records
                    if record.event_log_entry.dagster_event is not None
                ]
                return Terminated(ended, seconds, events, worker)
            time.sleep(0.01)
    raise AssertionError(f"no run reached {what} within {timeout:.0f} s")


def _freeze(worker: Worker, home: Path) -> bool:
    """SIGSTOP the worker at a moment it holds no lock on the instance's SQLite files; False if it
    has exited. A worker frozen inside a write to them would stall every other process of the
    instance (Terminate included) until it was let go."""
    storage = {path.stat().st_ino for path in home.rglob("*.db*") if path.is_file()}  # with -wal, -shm
    while True:
        os.kill(worker.pid, signal.SIGSTOP)
        while (state := _state(worker.pid)) not in {"T", "Z", None}:  # the stop takes effect in the kernel
            time.sleep(0.001)
        if state != "T":
            return False
        if not _locks_held(worker.pid) & storage:
            return True
        os.kill(worker.pid, signal.SIGCONT)
        time.sleep(0.002)  # let it finish that write


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return None


def _locks_held(pid: int) -> set[int]:
    """The inodes of the files ``pid`` holds a POSIX lock on (SQLite's locks are POSIX locks)."""
    held = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "POSIX" and fields[4] == str(pid):
            held.add(int(fields[5].rsplit(":", 1)[1]))
    return held


def _worker(instance: dg.DagsterInstance, run_id: str) -> Worker | None:
    started = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_START).records
    if not started or started[0].event_log_entry.dagster_event is None:
        return None
    return Worker(run_id, started[0].event_log_entry.dagster_event.pid)


def slots_held_by(instance: dg.DagsterInstance, pools: list[str], run_id: str) -> list[str]:
    """The pool slots ``run_id`` still holds (none, once it has ended)."""
    return [
        f"{pool}: {slot.step_key}"
        for pool in pools
        for slot in instance.event_log_storage.get_concurrency_info(pool).claimed_slots
        if slot.run_id == run_id
    ]
