"""Day-2 operations: warehouse backup, lifecycle clean-up, pipeline performance report.

Each is a job of one op that reports its outcome as a materialisation of an *external* asset
(``operations/...``). External, because they are not data: "Materialize all" in the UI must mean
the data pipeline, and Dagster never materialises an asset it cannot execute. Yet each pass is
still recorded like the data is: its metadata (snapshot size and duration, what was removed, the
report's figures) is kept per materialisation and the UI plots the numeric ones over time.
schedules/operations.py runs the jobs on a clock; nothing in the data's automation triggers them.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import dagster as dg
import polars as pl
from pydantic import Field

from analytics.charts import bar_chart
from assets.layers import OPERATIONS, PIPELINE_GROUP
from assets.metadata import table_metadata
from operations.backup import prune_snapshots, take_snapshot
from operations.lifecycle import apply_cleanup, plan_cleanup
from operations.performance import build_report
from resources.operations import OperationsResource
from resources.warehouse import WarehouseResource, retry_only_transient

BACKUP = dg.AssetKey([OPERATIONS, "warehouse_backup"])
CLEANUP = dg.AssetKey([OPERATIONS, "lifecycle_cleanup"])
REPORT = dg.AssetKey([OPERATIONS, "pipeline_performance_report"])
BACKUP_JOB = "warehouse_backup_job"
CLEANUP_JOB = "lifecycle_cleanup_job"
REPORT_JOB = "performance_report_job"

BACKUP_DESCRIPTION = (
    "A snapshot of the whole warehouse (DuckDB EXPORT DATABASE to Parquet) in the backup folder; keeps the "
    "newest DATAOPS_BACKUP_KEEP of this environment. Restore one with the `restore` command."
)
CLEANUP_DESCRIPTION = (
    "Removes what the lifecycle policy lets go: idle dev/test warehouse files, superseded archived deliveries "
    "past retention, quarantined rows past retention, the instance's finished runs past DATAOPS_RUN_RETENTION_DAYS "
    "(but each job's and asset's latest). Never prod's warehouse or published tables. dry_run (the default when "
    "launched by hand) only lists them."
)
REPORT_DESCRIPTION = (
    "Run durations and outcomes per job; materialisations, rows processed, check pass rates and freshness per "
    "asset, over the last DATAOPS_REPORT_DAYS days, from the Dagster instance's own records."
)


def _spec(key: dg.AssetKey, description: str, kinds: set[str], job: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key,
        group_name=PIPELINE_GROUP,
        description=f"{description}\n\nReported by the `{job}` job (Jobs in the UI, and its schedule).",
        kinds=kinds,
        tags={"layer": OPERATIONS},
    )


OPERATIONS_SPECS = [
    _spec(BACKUP, BACKUP_DESCRIPTION, {"duckdb", "parquet"}, BACKUP_JOB),
    _spec(CLEANUP, CLEANUP_DESCRIPTION, {"duckdb"}, CLEANUP_JOB),
    _spec(REPORT, REPORT_DESCRIPTION, {"dagster"}, REPORT_JOB),
]


# On the file backend the export reads the file, which DuckDB forbids while another process writes
# it: the backup waits for the writer slot like a load does, and so always sees a committed state.
def build_backup_op(pool: str) -> dg.OpDefinition:
    @dg.op(out={}, pool=pool, description=BACKUP_DESCRIPTION)
    def warehouse_backup(
        context: dg.OpExecutionContext, warehouse: WarehouseResource, operations: OperationsResource
    ) -> Iterator[dg.AssetMaterialization]:
        yield from _backup(warehouse, operations, context.retry_number)

    return warehouse_backup


def _backup(
    warehouse: WarehouseResource, operations: OperationsResource, retry_number: int
) -> Iterator[dg.AssetMaterialization]:
    if not warehouse.exists():  # not a fault to retry: there is nothing to back up yet
        raise dg.Failure(f"no warehouse at {warehouse.location} yet: nothing to back up", allow_retries=False)
    with retry_only_transient(retry_number):
        with warehouse.read_only() as connection:
            snapshot = take_snapshot(connection, operations.backups)
        pruned = prune_snapshots(operations.backups, snapshot.environment, operations.backup_keep)
    tables = pl.DataFrame({"table": list(snapshot.tables), "rows": list(snapshot.tables.values())})
    yield dg.AssetMaterialization(
        asset_key=BACKUP,
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
        },
    )


class CleanupConfig(dg.Config):
    dry_run: bool = Field(
        default=True,
        description="Only list what the lifecycle policy would remove. The weekly schedule sets it to false.",
    )


def build_cleanup_op(pool: str) -> dg.OpDefinition:
    @dg.op(out={}, pool=pool, description=CLEANUP_DESCRIPTION)  # it deletes rows
    def lifecycle_cleanup(
        context: dg.OpExecutionContext,
        config: CleanupConfig,
        warehouse: WarehouseResource,
        operations: OperationsResource,
    ) -> Iterator[dg.AssetMaterialization]:
        yield from _cleanup(config, warehouse, operations, context.instance, context.retry_number)

    return lifecycle_cleanup


def _cleanup(
    config: CleanupConfig,
    warehouse: WarehouseResource,
    operations: OperationsResource,
    instance: dg.DagsterInstance,
    retry_number: int,
) -> Iterator[dg.AssetMaterialization]:
    policy, now = operations.lifecycle_policy(), datetime.now(UTC)
    skipped: list[str] = []
    with retry_only_transient(retry_number):
        plan = plan_cleanup(policy, warehouse, now, instance)
        if not config.dry_run:
            skipped = apply_cleanup(plan, policy, warehouse, now, instance)
    removals = pl.DataFrame(
        [vars(removal) for removal in plan.removals],
        schema={
            "kind": pl.String,
            "target": pl.String,
            "reason": pl.String,
            "size_bytes": pl.Int64,
            "rows": pl.Int64,
            "by_backend": pl.Boolean,
        },
    )
    yield dg.AssetMaterialization(
        asset_key=CLEANUP,
        metadata={
            "dry_run": config.dry_run,
            "warehouse_files": len(plan.of_kind("warehouse file")),
            "archived_files": len(plan.of_kind("archived file")),
            "quarantine_rows": plan.rows,
            "failed_audit_versions": len(plan.of_kind("failed audit version")),
            "backend_housekeeping": sum(removal.by_backend for removal in plan.removals),
            "dagster_runs": len(plan.of_kind("dagster run")),
            "bytes": plan.size_bytes,
            ("would_remove" if config.dry_run else "removed"): table_metadata(removals),
            "kept_on_purpose": dg.MetadataValue.md("\n".join(f"- {line}" for line in plan.kept) or "_(nothing)_"),
            "gave_up": dg.MetadataValue.md("\n".join(f"- {part}" for part in skipped) or "_(nothing)_"),
        },
    )
    if skipped:  # the rest is done; what was not is said, and the run fails so that it alerts
        raise dg.Failure(
            description=f"lifecycle clean-up gave up on {len(skipped)} part(s) of the lake's housekeeping: "
            + " | ".join(skipped),
            allow_retries=False,
        )


def build_performance_report(specs: Sequence[dg.AssetSpec], checks: Sequence[dg.AssetCheckKey]) -> dg.OpDefinition:
    """The report op over ``specs`` and their ``checks`` (the code location's assets).

    Handed the definitions rather than reading the repository at run time: the same op then works
    in-process (tests, scripts), where a run has no repository.
    """

    @dg.op(name="pipeline_performance_report", out={}, description=REPORT_DESCRIPTION)
    def pipeline_performance_report(
        context: dg.OpExecutionContext, operations: OperationsResource
    ) -> Iterator[dg.AssetMaterialization]:
        report = build_report(context.instance, specs, checks, operations.report_days)
        jobs = report.jobs
        yield dg.AssetMaterialization(
            asset_key=REPORT,
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
            },
        )

    return pipeline_performance_report


def _job(name: str, op: dg.OpDefinition, description: str) -> dg.JobDefinition:
    @dg.job(name=name, description=description, executor_def=dg.in_process_executor)
    def _operations_job() -> None:
        op()

    return _operations_job


def build_operations_jobs(data_assets: Sequence[dg.AssetsDefinition], pool: str) -> list[dg.JobDefinition]:
    """The backup, clean-up and report jobs; the report covers ``data_assets`` and the operations.

    ``pool``: the maintenance pool (resources/pools.py) that backup and clean-up wait in.
    """
    specs = [*(spec for assets in data_assets for spec in assets.specs), *OPERATIONS_SPECS]
    checks = [check for assets in data_assets for check in assets.check_keys]
    return [
        _job(BACKUP_JOB, build_backup_op(pool), "Back up the warehouse (operations/warehouse_backup)."),
        _job(CLEANUP_JOB, build_cleanup_op(pool), "Lifecycle clean-up (operations/lifecycle_cleanup)."),
        _job(
            REPORT_JOB,
            build_performance_report(specs, checks),
            "Pipeline performance report (operations/pipeline_performance_report).",
        ),
    ]
