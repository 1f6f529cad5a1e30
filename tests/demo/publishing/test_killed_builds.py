"""A build killed at each step leaves readers the old version or the new one, never a mix, and
never leaves dbt running: real builds in a process of their own, killed with SIGKILL, on both
backends.

- while writing: dbt is building a mart into the audit schema;
- while auditing: dbt is running a test on the new version;
- while publishing: the publishing transaction has written every mart and not yet committed.

To kill at a chosen point, the test follows dbt's log and stops the run's process (SIGSTOP) once a
model or a test of the wanted kind is in progress, then kills it, as the OOM killer would. Nothing
the run started may outlive it: its dbt process, left running, would go on holding the file's write
lock after the run was marked failed (resources/dbt_leash.py). Then the next build publishes the
new version whole.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import psutil
import pytest

from config.settings import PROJECT_ROOT, Settings
from tests.demo.support.pipeline import Pipeline, audited_marts
from tests.support.warehouse import query
from warehouse.file import FileWarehouse

pytestmark = [pytest.mark.integration, pytest.mark.backends, pytest.mark.e2e]

FIRST_DAYS = [date(2013, 1, n) for n in range(1, 4)]
# Each kill has a new day of its own to (not) publish.
PHASES = {"writing": date(2013, 1, 4), "auditing": date(2013, 1, 5), "publishing": date(2013, 1, 6)}
# dbt's log: "3 of 21 START sql table model audit.fct_flights ..." / "3 of 21 OK created ...".
STEP = re.compile(r"\b(\d+) of \d+ (START|OK|PASS|WARN|FAIL|ERROR|SKIP)\b(.*)")
IN_PROGRESS = {"writing": "sql table model audit.", "auditing": "test "}
# Generous on a busy 2-core machine; each wait ends as soon as its condition holds.
PHASE_TIMEOUT, EXIT_TIMEOUT = 300, 60


def in_progress(log: Path) -> list[str]:
    """What dbt has started and not finished, from its log."""
    started: dict[str, str] = {}
    if not log.exists():
        return []
    for line in log.read_text(errors="replace").splitlines():
        match = STEP.search(line)
        if match is None:
            continue
        index, status, rest = match.groups()
        if status == "START":
            started[index] = rest.strip()
        else:
            started.pop(index, None)
    return list(started.values())


def tree(worker: psutil.Process) -> list[psutil.Process]:
    """The worker and what it started (dbt runs as its child)."""
    try:
        return [worker, *worker.children(recursive=True)]
    except psutil.NoSuchProcess:
        return [worker]


def dbt_log(worker: psutil.Process) -> Path | None:
    """The log of the dbt invocation the worker started: dbt keeps it open while it runs."""
    for process in tree(worker):
        try:
            found = next((Path(f.path) for f in process.open_files() if Path(f.path).name == "dbt.log"), None)
        except psutil.NoSuchProcess:
            continue
        if found is not None:
            return found
    return None


def described(process: psutil.Process) -> str:
    try:
        return f"{process.pid}: {' '.join(process.cmdline())[:200]}"
    except psutil.Error:
        return str(process.pid)


def signal_tree(processes: list[psutil.Process], signum: int) -> None:
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signum)


def stop_worker_while(phase: str, worker: psutil.Process) -> None:
    """Stop the worker and its dbt once dbt has something of ``phase`` in progress, and leave them stopped."""
    deadline = time.monotonic() + PHASE_TIMEOUT
    log = None
    while time.monotonic() < deadline:
        assert worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE, "the build ended before the phase"
        log = log or dbt_log(worker)
        if log is not None and any(IN_PROGRESS[phase] in step for step in in_progress(log)):
            stopped = tree(worker)
            signal_tree(stopped, signal.SIGSTOP)
            # Stopped: the log is final now. Still in the phase, or did dbt finish it meanwhile?
            if any(IN_PROGRESS[phase] in step for step in in_progress(log)):
                return
            signal_tree(stopped, signal.SIGCONT)
        time.sleep(0.005)
    raise TimeoutError(f"dbt never reached {phase} within {PHASE_TIMEOUT} s (log: {log})")


def wait_for(path: Path, worker: psutil.Process) -> None:
    deadline = time.monotonic() + PHASE_TIMEOUT
    while not path.exists():
        assert worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE, "the build ended before publishing"
        assert time.monotonic() < deadline, f"publishing never started within {PHASE_TIMEOUT} s"
        time.sleep(0.01)


def published_days(settings: Settings) -> dict[str, list[date]]:
    """Per per-day mart, the days readers see."""
    return {
        name: [day for (day,) in query(settings, f"SELECT DISTINCT {column} FROM marts.{name} ORDER BY 1")]
        for name, column in audited_marts().items()
        if column
    }


@pytest.fixture(scope="module")
def pipeline(dbt_manifest, tmp_path_factory, backend_overrides) -> Pipeline:
    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("data"), **backend_overrides())
    pipeline = Pipeline(settings)
    pipeline.land_real_days(FIRST_DAYS)
    assert pipeline.run_build().success
    return pipeline


def kill_build(pipeline: Pipeline, phase: str, workdir: Path) -> None:
    """Start a build in a process of its own and SIGKILL it in ``phase``; nothing it started may outlive it."""
    marker = workdir / f"publishing-{phase}"
    hold = ["--hold-publish", str(marker)] if phase == "publishing" else []
    env = {**os.environ, **pipeline.settings.environment()}
    with (workdir / f"worker-{phase}.log").open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.demo.support.build_worker", *hold],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    worker = psutil.Process(process.pid)
    try:
        if phase == "publishing":
            wait_for(marker, worker)  # dbt has finished: publishing starts after it
        else:
            stop_worker_while(phase, worker)
        started = worker.children(recursive=True)
        worker.kill()  # SIGKILL: nothing in the worker runs after this
        process.wait(timeout=EXIT_TIMEOUT)
        # Let what was stopped with it run again: dbt must then be gone (killed with its parent),
        # and helpers such as multiprocessing's resource tracker end once their parent's pipe closes.
        signal_tree(started, signal.SIGCONT)
        _, alive = psutil.wait_procs(started, timeout=EXIT_TIMEOUT)
        assert not alive, f"{[described(process) for process in alive]} outlived the run worker, killed while {phase}"
    finally:
        if process.poll() is None:
            for child in worker.children(recursive=True):
                child.kill()
            process.kill()


def test_a_build_killed_at_any_step_leaves_the_old_version_whole_and_no_dbt_behind(pipeline, tmp_path):
    settings = pipeline.settings
    old = pipeline.marts()
    days_before = published_days(settings)
    for phase, day in PHASES.items():
        pipeline.land_real_days([day], reference=False)
        kill_build(pipeline, phase, tmp_path)
        # Readers see the old version, row for row, in every mart; readers of the file in their copy too.
        now = pipeline.marts()
        for name, frame in old.items():
            assert now[name].equals(frame), f"{name} changed after a build killed while {phase}"
        if not settings.uses_lake:
            copy = FileWarehouse(settings.warehouse, settings.env).reader_copy
            with duckdb.connect(str(copy), read_only=True) as reader:
                [(rows,)] = reader.execute(
                    "SELECT count(*) FROM marts.fct_flights WHERE flight_date = ?", [day]
                ).fetchall()
            assert rows == 0, f"the readers' copy has {day} after a build killed while {phase}"

    # Nothing of the killed builds was consumed: the next build publishes every new day, whole.
    assert pipeline.run_build().success
    after = published_days(settings)
    for name, days in after.items():
        assert days == sorted([*days_before[name], *PHASES.values()]), name
