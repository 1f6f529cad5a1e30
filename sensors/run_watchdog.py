"""The run watchdog: fail runs whose worker process is gone, so nothing waits behind a dead run.

With the default run launcher (`dagster dev`, and the systemd host) a run worker is a process on
this machine. If it dies with its parents (the machine restarts, an OOM kill takes the process tree,
`dagster dev` is killed), nobody reports the run's end: it stays STARTED forever, keeps the writer
pool's slot, and every later load and dbt build waits in the queue without a failure or an alert.
Dagster's run monitoring cannot see this for that launcher (it has no worker health check; it only
enforces start timeouts and ``max_runtime_seconds``, set in the instance configs as a ceiling).

So every tick this sensor looks at the STARTED runs of this instance, finds each one's worker by the
pid Dagster recorded when the worker started (the ``pid`` metadata of the run's first engine event
that has one: steps run in the worker's own process, so every such pid is the worker's), and if that process no
longer exists (or the pid now belongs to a process that started after the run), marks the run
failed. From there the usual machinery takes over: the pool slot is free again, the run-failure
sensor alerts, the run-retry policy re-executes it, and the landing sensor requests any file the
run did not load. Runs launched elsewhere (Kubernetes jobs) are left to Dagster's own monitoring.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg

WATCHDOG_INTERVAL_SECONDS = 15
PROC = Path("/proc")


# How much later than the run's start its worker may seem to have started: the two times come from
# different clocks (/proc counts from boot; the run's from the wall clock, which NTP may step).
START_TIME_MARGIN_SECONDS = 60.0


def process_alive(pid: int, not_started_after: float) -> bool:
    """Whether ``pid`` is a live process that started no later than ``not_started_after`` (epoch s).

    The start time matters after a restart: a new process may have been given the dead worker's pid.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    facts = process_facts(pid)
    if facts is None:
        return True  # no /proc (not Linux): existence is all we can tell
    started, state, booted = facts
    if state == "Z" or booted > not_started_after:
        return False  # a zombie, or the machine restarted since the run began: not its worker
    return started <= not_started_after + START_TIME_MARGIN_SECONDS


def process_facts(pid: int) -> tuple[float, str, float] | None:
    """(start time, state letter, boot time) of ``pid`` from /proc; None where /proc does not say."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        boot = next(
            float(line.split()[1]) for line in (PROC / "stat").read_text().splitlines() if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError):
        return None
    # After the ")" that ends the command name: field 3 (state) first, field 22 (starttime, clock
    # ticks since boot) 19 further.
    fields = stat.rsplit(")", 1)[1].split()
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK"), fields[0], boot


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid of a run's worker: the ``pid`` metadata of its first engine event that has one."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=20).records
    for record in records:
        event = record.event_log_entry.dagster_event
        pid = event.event_specific_data.metadata.get("pid") if event and event.event_specific_data else None
        if pid is not None and str(pid.value).isdigit():  # Dagster records it as text
            return int(str(pid.value))
    return None


def died_unreported(instance: dg.DagsterInstance, run_id: str, pid: int, started: float) -> bool:
    """Whether the run's worker ``pid`` is gone and the run is still STARTED after it went.

    The order matters. A worker that ends normally stores the run's end before it exits, so the
    status read after its exit is conclusive; the status listed before the pid was looked at is
    not: a run that finished in between would be failed with its work done (and then retried).
    """
    if process_alive(pid, started):
        return False
    record = instance.get_run_record_by_id(run_id)
    return record is not None and record.dagster_run.status == dg.DagsterRunStatus.STARTED


def dead_runs(instance: dg.DagsterInstance) -> list[tuple[dg.DagsterRun, int]]:
    """STARTED runs of this host whose worker process is gone, with the pid it had."""
    found = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        run_id = record.dagster_run.run_id
        pid = worker_pid(instance, run_id)
        # The worker reports its pid before it marks the run started; no pid: not ours to judge.
        started = record.start_time or record.create_timestamp.timestamp()
        if pid is not None and died_unreported(instance, run_id, pid, started):
            found.append((record.dagster_run, pid))
    return found


@dg.sensor(
    name="run_worker_watchdog",
    description="Fails STARTED runs whose worker process has died (host restart, OOM kill, `dagster dev` "
    "killed), so their pool slot is freed, they are alerted on and retried, and their files loaded again.",
    minimum_interval_seconds=WATCHDOG_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_worker_watchdog(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    if not isinstance(context.instance.run_launcher, dg.DefaultRunLauncher):
        return dg.SkipReason("runs are not local processes here; Dagster's run monitoring watches them")
    failed = []
    for run, pid in dead_runs(context.instance):
        message = (
            f"run worker (pid {pid}) is gone: it died without reporting (a host restart, an OOM kill, or "
            f"`dagster dev` killed). Marked failed by run_worker_watchdog at {time.strftime('%Y-%m-%dT%H:%M:%S')}."
        )
        context.instance.report_run_failed(run, message)
        context.log.warning(f"run {run.run_id} ({run.job_name}): {message}")
        failed.append(run.run_id)
    if failed:
        return dg.SkipReason(f"marked {len(failed)} dead run(s) failed: {', '.join(failed)}")
    return dg.SkipReason("every started run has a live worker")
