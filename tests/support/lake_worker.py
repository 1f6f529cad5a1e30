"""One writer of the concurrency tests, in its own process as a run worker is: a load of one day, or
the downstream build. It waits at a barrier so all writers start together, then prints a JSON line:
when its run started and ended, whether it succeeded, any lock or conflict text in its events, and
what its steps logged.

    python -m tests.support.lake_worker BARRIER PARTIES load FIRST_DAY [LAST_DAY]
    python -m tests.support.lake_worker BARRIER PARTIES build

(bench/lake.py runs it too, for the throughput of concurrent writers.)

Settings come from DATAOPS_* variables and the Dagster instance from DAGSTER_HOME, as in a run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from config.datasets import load_datasets
from config.settings import PROJECT_ROOT, get_settings
from definitions import build_definitions
from jobs.landing import RANGE_END_TAG, RANGE_START_TAG, ingest_job_for, refresh_targets

BARRIER_TIMEOUT = 600
# What must never reach a run: the file lock, or a commit conflict the warehouse did not resolve.
TROUBLE = re.compile(r"\b(locked|lock|conflict|conflicting)\b", re.IGNORECASE)


def wait_at_barrier(barrier: Path, parties: int, name: str) -> None:
    barrier.mkdir(parents=True, exist_ok=True)
    (barrier / name).touch()
    deadline = time.monotonic() + BARRIER_TIMEOUT
    while len(list(barrier.iterdir())) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(list(barrier.iterdir()))} of {parties} writers reached the barrier")
        time.sleep(0.05)


def start(barrier: Path, parties: int, role: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """One worker process; its output goes to ``log`` (an unread pipe would fill and stall it)."""
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.lake_worker", str(barrier), str(parties), *role],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def outcome(process: subprocess.Popen, log: Path, timeout: float) -> dict:
    """The worker's JSON line, once it has finished."""
    process.wait(timeout=timeout)
    lines = [line for line in log.read_text().splitlines() if line.startswith('{"role"')]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"a writer failed (exit {process.returncode}): {log.read_text()[-3000:]}")
    return json.loads(lines[-1])


def main(argv: list[str]) -> None:
    barrier, parties, role, *day = argv
    settings = get_settings()
    defs = build_definitions(settings)
    datasets = load_datasets(settings.datasets_path)
    instance = dg.DagsterInstance.get()
    wait_at_barrier(Path(barrier), int(parties), f"{role}-{'-'.join(day)}-{os.getpid()}")  # one file per writer
    started = time.time()
    if role == "load":
        daily = [dataset for dataset in datasets.values() if dataset.kind == "daily"]
        tags = {RANGE_START_TAG: day[0], RANGE_END_TAG: day[-1], "datasets": ",".join(d.name for d in daily)}
        result = ingest_job_for(defs, daily).execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    else:
        result = dg.materialize(
            list(defs.assets or []),
            selection=refresh_targets(defs.assets or [], datasets).selection,
            instance=instance,
            resources=defs.resources,
            raise_on_error=False,
        )
    ended = time.time()
    events = instance.all_logs(result.run_id)
    trouble = [
        f"{event.dagster_event_type}: {event.message} {event.dagster_event.event_specific_data}"
        for event in events
        if event.dagster_event_type in (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.STEP_UP_FOR_RETRY)
        or TROUBLE.search(event.message or "")
    ]
    print(
        json.dumps(
            {
                "role": role,
                "day": day,
                "started": started,
                "ended": ended,
                "success": result.success,
                "run_id": result.run_id,
                "trouble": trouble,
                "said": [event.user_message for event in events if event.dagster_event is None],
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
