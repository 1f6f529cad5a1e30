"""Day-2 operations as assets: warehouse backup, lifecycle clean-up, pipeline performance report.

Assets rather than ad-hoc jobs, so each pass is recorded like the data is: its metadata (snapshot
size and duration, what was removed, the report's figures) is kept per materialisation and the UI
plots the numeric ones over time. schedules/operations.py runs them on a clock; none has an
automation condition, so a data update never triggers them.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg
import polars as pl
from pydantic import Field

from assets.charts import bar_chart
from assets.metadata import table_metadata
from operations.backup import prune_snapshots, take_snapshot
from operations.lifecycle import apply_cleanup, plan_cleanup
from operations.performance import build_report
from resources.operations import OperationsResource
from resources.warehouse import WRITER_POOL, WRITER_RETRY, WarehouseResource, retry_only_transient

OPERATIONS_GROUP = "operations"
BACKUP = dg.AssetKey([OPERATIONS_GROUP, "warehouse_backup"])
CLEANUP = dg.AssetKey([OPERATIONS_GROUP, "lifecycle_cleanup"])
REPORT = dg.AssetKey([OPERATIONS_GROUP, "pipeline_performance_report"])


@dg.asset(
    key=BACKUP,
    group_name=OPERATIONS_GROUP,
    kinds={"duckdb", "parquet"},
    # The export reads the file, which DuckDB forbids while another process writes it: the backup
    # waits for the writer slot like a load does, and so always sees a committed state.
    pool=WRITER_POOL,
    retry_policy=WRITER_RETRY,
    description="A snapshot of the whole warehouse (DuckDB EXPORT DATABASE to Parquet) in the backup folder; "
    "keeps the newest DATAOPS_BACKUP_KEEP of this environment. Restore one with the `restore` command.",
)
def warehouse_backup(warehouse: WarehouseResource, operations: OperationsResource) -> dg.MaterializeResult:
    if not warehouse.file.exists():  # not a fault to retry: there is nothing to back up yet
        raise dg.Failure(f"no warehouse at {warehouse.path} yet: nothing to back up", allow_retries=False)
    with retry_only_transient():
        with warehouse.read_only() as connection:
            snapshot = take_snapshot(connection, operations.backups)
        pruned = prune_snapshots(operations.backups, snapshot.environment, operations.backup_keep)
    tables = pl.DataFrame({"table": list(snapshot.tables), "rows": list(snapshot.tables.values())})
    return dg.MaterializeResult(
        metadata={
            "snapshot": dg.MetadataValue.path(str(snapshot.path)),
            "size_bytes": snapshot.size_bytes,
            "size_mb": round(snapshot.size_bytes / 1e6, 3),
            "duration_seconds": snapshot.duration_seconds,
            "tables": len(snapshot.tables),
            "rows": sum(snapshot.tables.values()),
            "rows_by_table": table_metadata(tables),
            "pruned": [old.name for old in pruned],
            "retention_keep": operations.backup_keep,
        }
    )


class CleanupConfig(dg.Config):
    dry_run: bool = Field(
        default=True,
        description="Only list what the lifecycle policy would remove. The weekly schedule sets it to false.",
    )


@dg.asset(
    key=CLEANUP,
    group_name=OPERATIONS_GROUP,
    kinds={"duckdb"},
    pool=WRITER_POOL,  # it deletes quarantine rows
    retry_policy=WRITER_RETRY,
    description="Removes what the lifecycle policy lets go: idle dev/test warehouse files, superseded archived "
    "deliveries past retention, quarantined rows past retention. Never prod's warehouse or published tables. "
    "dry_run (the default when launched by hand) only lists them.",
)
def lifecycle_cleanup(
    config: CleanupConfig, warehouse: WarehouseResource, operations: OperationsResource
) -> dg.MaterializeResult:
    policy, now = operations.lifecycle_policy(), datetime.now(UTC)
    with retry_only_transient():
        plan = plan_cleanup(policy, warehouse, now)
        if not config.dry_run:
            apply_cleanup(plan, policy, warehouse, now)
    removals = pl.DataFrame(
        [vars(removal) for removal in plan.removals],
        schema={"kind": pl.String, "target": pl.String, "reason": pl.String, "size_bytes": pl.Int64, "rows": pl.Int64},
    )
    return dg.MaterializeResult(
        metadata={
            "dry_run": config.dry_run,
            "warehouse_files": len(plan.of_kind("warehouse file")),
            "archived_files": len(plan.of_kind("archived file")),
            "quarantine_rows": plan.rows,
            "bytes": plan.size_bytes,
            ("would_remove" if config.dry_run else "removed"): table_metadata(removals),
            "kept_on_purpose": dg.MetadataValue.md("\n".join(f"- {line}" for line in plan.kept) or "_(nothing)_"),
        }
    )


def build_performance_report(covered: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """The report asset over ``covered`` (the code location's other assets).

    Handed the definitions rather than reading the repository at run time: the same asset then
    works under `materialize` (tests, scripts), where a run has no repository.
    """

    @dg.asset(
        key=REPORT,
        group_name=OPERATIONS_GROUP,
        kinds={"dagster"},
        description="Run durations and outcomes per job; materialisations, rows processed, check pass rates "
        "and freshness per asset, over the last DATAOPS_REPORT_DAYS days, from the Dagster instance's own "
        "records.",
    )
    def pipeline_performance_report(
        context: dg.AssetExecutionContext, operations: OperationsResource
    ) -> dg.MaterializeResult:
        report = build_report(context.instance, covered, operations.report_days)
        jobs = report.jobs
        return dg.MaterializeResult(
            metadata={
                "since": report.since.isoformat(timespec="seconds"),
                "runs": int(jobs.get_column("runs").sum()),
                "run_success_rate": report.run_success_rate,
                "check_pass_rate": report.check_pass_rate,
                "stale_assets": report.assets.filter(pl.col("freshness").str.starts_with("FAIL")).height,
                "jobs": table_metadata(jobs),
                "assets": table_metadata(report.assets),
                "p50_run_duration_by_job": bar_chart(
                    jobs.get_column("job").to_list(),
                    jobs.get_column("p50_duration_s").to_list(),
                    title="Median run duration by job",
                    unit=" s",
                ),
            }
        )

    return pipeline_performance_report


def build_operations_assets(covered: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Backup, clean-up, and the performance report over ``covered`` and the first two."""
    return [
        warehouse_backup,
        lifecycle_cleanup,
        build_performance_report([*covered, warehouse_backup, lifecycle_cleanup]),
    ]
