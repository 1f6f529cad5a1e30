"""Run retention: the Dagster instance's finished runs past their days, as lifecycle removals.

Dagster OSS keeps every run and its event log forever (tick retention exists, run retention does
not: dagster.*.yaml says so), so the instance grows with every load. The lifecycle clean-up
deletes finished runs created more than ``run_retention_days`` ago through the public
``DagsterInstance.delete_run``, except what is still somebody's latest: each job's last run, and
each asset's last materialising run (the asset page links to it; Dagster keeps the asset's last
materialisation either way, so freshness does not change). Runs still queued or running are never
touched. On SQLite storage the deleted runs' rows go; each run's small event-log shard file stays.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import dagster as dg

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
PAGE = 500


def _old_finished_runs(instance: dg.DagsterInstance, cutoff: datetime) -> Iterator[dg.RunRecord]:
    """Finished runs created before ``cutoff``, oldest first, a page at a time."""
    cursor = None
    while True:
        page = instance.get_run_records(
            filters=dg.RunsFilter(statuses=FINISHED, created_before=cutoff), limit=PAGE, cursor=cursor, ascending=True
        )
        yield from page
        if len(page) < PAGE:
            return
        cursor = page[-1].dagster_run.run_id


def still_latest(instance: dg.DagsterInstance, jobs: set[str]) -> dict[str, str]:
    """Runs that must stay, with why: each job's latest run and each asset's latest materialising run."""
    kept = {}
    for job in sorted(jobs):
        [latest] = instance.get_run_records(filters=dg.RunsFilter(job_name=job), limit=1)
        kept.setdefault(latest.dagster_run.run_id, f"the latest run of {job}")
    for record in instance.get_asset_records():
        last = record.asset_entry.last_materialization_record
        if last is not None:
            kept.setdefault(
                last.run_id, f"the latest materialisation of {record.asset_entry.asset_key.to_user_string()}"
            )
    return kept


def old_runs(instance: dg.DagsterInstance, retention_days: int, now: datetime) -> tuple[list[dg.RunRecord], list[str]]:
    """(runs that may be deleted, runs past retention kept on purpose with why)."""
    candidates = list(_old_finished_runs(instance, now - timedelta(days=retention_days)))
    kept = still_latest(instance, {record.dagster_run.job_name for record in candidates}) if candidates else {}
    removable = [record for record in candidates if record.dagster_run.run_id not in kept]
    reasons = [
        f"run {record.dagster_run.run_id} ({record.dagster_run.job_name}): {kept[record.dagster_run.run_id]}"
        for record in candidates
        if record.dagster_run.run_id in kept
    ]
    return removable, reasons
