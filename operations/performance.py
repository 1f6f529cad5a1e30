"""The pipeline performance report, from Dagster's own records (the instance's run and event storage).

For the last N days: per job, how many runs, how many failed, and how long they took; per asset,
how often it was materialised, the rows it processed (its ``dagster/row_count``), how its checks
fared, and how fresh it is against its freshness policy. Nothing is counted twice or estimated:
every figure is a count or a timing the instance recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import polars as pl

# Not exported by dagster: the policy class with the windows, and the check record's status.
from compat.dagster import AssetCheckExecutionRecordStatus, TimeWindowFreshnessPolicy

# Enough for a year of one run a day per asset; the window cut-off stops the reads far sooner.
RECORD_PAGE = 1000

JOB_SCHEMA = {
    "job": pl.String,
    "runs": pl.Int64,
    "succeeded": pl.Int64,
    "failed": pl.Int64,
    "success_rate": pl.Float64,
    "p50_duration_s": pl.Float64,
    "max_duration_s": pl.Float64,
}
ASSET_SCHEMA = {
    "asset": pl.String,
    "materializations": pl.Int64,
    "rows_processed": pl.Int64,
    "checks_run": pl.Int64,
    "checks_passed": pl.Int64,
    "check_pass_rate": pl.Float64,
    "last_materialized": pl.String,
    "age_hours": pl.Float64,
    "freshness": pl.String,
}


@dataclass(frozen=True)
class PerformanceReport:
    since: datetime
    jobs: pl.DataFrame
    assets: pl.DataFrame

    @property
    def check_pass_rate(self) -> float | None:
        run = self.assets.get_column("checks_run").sum()
        return round(self.assets.get_column("checks_passed").sum() / run, 4) if run else None

    @property
    def run_success_rate(self) -> float | None:
        runs = self.jobs.get_column("runs").sum()
        return round(self.jobs.get_column("succeeded").sum() / runs, 4) if runs else None


def job_stats(records: Iterable[dg.RunRecord]) -> pl.DataFrame:
    """Finished runs per job: counts and durations (start to end, queue time excluded)."""
    rows = [
        {
            "job": record.dagster_run.job_name,
            "status": record.dagster_run.status.value,
            "duration_s": record.end_time - record.start_time,
        }
        for record in records
        if record.start_time is not None and record.end_time is not None
    ]
    if not rows:
        return pl.DataFrame(schema=JOB_SCHEMA)
    return (
        pl.DataFrame(rows)
        .group_by("job")
        .agg(
            runs=pl.len(),
            succeeded=(pl.col("status") == "SUCCESS").sum(),
            failed=(pl.col("status") == "FAILURE").sum(),
            p50_duration_s=pl.col("duration_s").median().round(2),
            max_duration_s=pl.col("duration_s").max().round(2),
        )
        .with_columns(success_rate=(pl.col("succeeded") / pl.col("runs")).round(4))
        .select(list(JOB_SCHEMA))
        .cast(JOB_SCHEMA)
        .sort("job")
    )


def freshness_status(policy: dg.FreshnessPolicy | None, age: timedelta | None) -> str:
    if not isinstance(policy, TimeWindowFreshnessPolicy):
        return "no policy"
    if age is None:
        return "FAIL (never materialised)"
    if age > policy.fail_window.to_timedelta():
        return "FAIL"
    if policy.warn_window is not None and age > policy.warn_window.to_timedelta():
        return "WARN"
    return "PASS"


def _materializations(instance: dg.DagsterInstance, key: dg.AssetKey, since: datetime) -> list[dg.EventLogRecord]:
    records, cursor = [], None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_timestamp=since.timestamp()), limit=RECORD_PAGE, cursor=cursor
        )
        records += page.records
        if not page.has_more:
            return records
        cursor = page.cursor


def _check_results(instance: dg.DagsterInstance, keys: Iterable[dg.AssetCheckKey], since: datetime) -> tuple[int, int]:
    """(completed, passed) executions of ``keys`` since ``since``."""
    completed = passed = 0
    for key in keys:
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=RECORD_PAGE)
        for record in history:
            if record.create_timestamp < since.timestamp():
                break  # newest first
            if record.status == AssetCheckExecutionRecordStatus.SUCCEEDED:
                completed, passed = completed + 1, passed + 1
            elif record.status == AssetCheckExecutionRecordStatus.FAILED:
                completed += 1
    return completed, passed


def asset_stats(
    instance: dg.DagsterInstance,
    specs: Sequence[dg.AssetSpec],
    checks: Sequence[dg.AssetCheckKey],
    since: datetime,
    now: datetime,
) -> pl.DataFrame:
    rows = []
    for spec in sorted(specs, key=lambda spec: spec.key.to_user_string()):
        materializations = _materializations(instance, spec.key, since)
        # Per run, not per event: a run over a range of days records its total on every day's event.
        row_counts = {
            record.run_id: record.asset_materialization.metadata["dagster/row_count"].value
            for record in materializations
            if record.asset_materialization and "dagster/row_count" in record.asset_materialization.metadata
        }
        latest = instance.get_latest_materialization_event(spec.key)
        last = datetime.fromtimestamp(latest.timestamp, UTC) if latest else None
        age = now - last if last else None
        completed, passed = _check_results(instance, [c for c in checks if c.asset_key == spec.key], since)
        rows.append(
            {
                "asset": spec.key.to_user_string(),
                "materializations": len(materializations),
                "rows_processed": int(sum(row_counts.values())),
                "checks_run": completed,
                "checks_passed": passed,
                "check_pass_rate": round(passed / completed, 4) if completed else None,
                "last_materialized": last.isoformat(timespec="seconds") if last else None,
                "age_hours": round(age.total_seconds() / 3600, 2) if age else None,
                "freshness": freshness_status(spec.freshness_policy, age),
            }
        )
    return pl.DataFrame(rows, schema=ASSET_SCHEMA)


def build_report(
    instance: dg.DagsterInstance,
    specs: Sequence[dg.AssetSpec],
    checks: Sequence[dg.AssetCheckKey],
    days: int,
    now: datetime | None = None,
) -> PerformanceReport:
    """The report over the last ``days`` for every asset in ``specs`` and its ``checks``."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    runs = instance.get_run_records(filters=dg.RunsFilter(created_after=since))
    assets = asset_stats(instance, specs, checks, since, now)
    return PerformanceReport(since=since, jobs=job_stats(runs), assets=assets)
