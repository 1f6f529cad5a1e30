"""The lifecycle policy: what may be deleted, and the clean-up that deletes it (or only says so).

What ages out, each after its own number of days (``LifecyclePolicy``, from settings):

- dev/test warehouse files nobody has written for ``idle_warehouse_days`` (a developer's old
  copy). Never the production warehouse, by path or by its recorded environment, and never a file
  that is open in another process.
- archived deliveries older than ``archive_retention_days``, except the newest delivery of each
  partition: that one is the source of the published rows, which a re-run reads again.
- quarantined rows loaded more than ``quarantine_retention_days`` ago, and for as long the
  versions of the marts that failed their audit (``audit_failed_<run>``, publishing/marts.py):
  both are the evidence of bad data. The next good build drops kept versions anyway.
- finished Dagster runs created more than ``run_retention_days`` ago, with their event logs,
  except each job's latest and each asset's latest materialising run (operations/run_retention.py):
  the instance's own history, which Dagster OSS otherwise keeps forever.
- on the lake: snapshots older than ``lake_snapshot_retention_days`` (DuckLake expires them; time
  travel reaches back that far), the data files that only expired snapshots used, and orphaned
  files in the data path that no snapshot knows (an aborted write's). Files younger than
  ``BACKEND_FILE_GRACE`` stay: a reader may still be on an older snapshot, a writer may be mid-commit.

Published tables (raw, staging, marts, analytics) are never touched: the only rows deleted are
in the ``quarantine`` schema or in a kept failed version, which was never published, and through
the warehouse's guarded writer, so a dev process cannot delete from prod's either.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb

from ingestion.landing import is_manifest, manifest_of, parse_archived_name
from ingestion.lineage import LOADED_AT
from ingestion.pipeline import Severity
from ingestion.storage import LOAD_LOG
from operations.run_retention import old_runs
from publishing.marts import drop_kept, kept_versions
from warehouse.backend import Warehouse
from warehouse.catalog import table_exists, tables_in
from warehouse.environment import PROD, is_same_file, recorded_environment
from warehouse.layout import QUARANTINE
from warehouse.locks import is_lock_error

# What a removal is: "warehouse file", "archived file", "quarantine rows", "failed audit version",
# "dagster run", or what the backend names its own housekeeping (warehouse/backend.py).
Kind = str
# Files the backend no longer needs stay this long: a reader may still be on an older snapshot, a
# writer may be mid-commit.
BACKEND_FILE_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class LifecyclePolicy:
    """Where to look and how long things live; built by resources/operations.py from settings."""

    warehouse_dirs: tuple[Path, ...]
    prod_warehouse: Path
    archive_dir: Path
    idle_warehouse_days: int
    archive_retention_days: int
    quarantine_retention_days: int
    lake_snapshot_retention_days: int
    run_retention_days: int


@dataclass(frozen=True)
class Removal:
    kind: Kind
    target: str
    reason: str
    size_bytes: int = 0
    rows: int = 0
    by_backend: bool = False  # the backend's own housekeeping (``Warehouse.clean_house``)


@dataclass
class CleanupPlan:
    removals: list[Removal] = field(default_factory=list)
    # Things looked at and deliberately kept, with why (shown in dry runs and metadata).
    kept: list[str] = field(default_factory=list)

    def of_kind(self, kind: Kind) -> list[Removal]:
        return [removal for removal in self.removals if removal.kind == kind]

    @property
    def size_bytes(self) -> int:
        return sum(removal.size_bytes for removal in self.removals)

    @property
    def rows(self) -> int:
        return sum(removal.rows for removal in self.removals)


def _warehouse_files(path: Path) -> list[Path]:
    """A DuckDB warehouse on disk: its file, and its write-ahead log when there is one."""
    return [candidate for candidate in (path, path.with_name(path.name + ".wal")) if candidate.exists()]


def _last_written(path: Path) -> datetime:
    return datetime.fromtimestamp(max(file.stat().st_mtime for file in _warehouse_files(path)), UTC)


def _file_environment(path: Path) -> str | None:
    """The environment a warehouse file records; raises duckdb.IOException if it is open elsewhere."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return recorded_environment(connection)


def idle_warehouses(policy: LifecyclePolicy, now: datetime, plan: CleanupPlan) -> None:
    cutoff = now - timedelta(days=policy.idle_warehouse_days)
    prod = policy.prod_warehouse
    candidates = {file for folder in policy.warehouse_dirs if folder.is_dir() for file in folder.glob("*.duckdb")}
    for path in sorted(candidates):
        if is_same_file(path, prod):
            plan.kept.append(f"{path}: the production warehouse")
            continue
        last_written = _last_written(path)
        if last_written >= cutoff:
            continue
        try:
            environment = _file_environment(path)
        except duckdb.IOException as error:
            if not is_lock_error(error):
                raise
            plan.kept.append(f"{path}: open in another process")
            continue
        if environment == PROD:
            plan.kept.append(f"{path}: records environment prod (a copy of production)")
            continue
        size = sum(file.stat().st_size for file in _warehouse_files(path))
        reason = f"{environment or 'unrecorded'} warehouse last written {last_written:%Y-%m-%d}"
        plan.removals.append(Removal("warehouse file", str(path), reason, size_bytes=size))


def old_archived_files(policy: LifecyclePolicy, warehouse: Warehouse, now: datetime, plan: CleanupPlan) -> None:
    cutoff = now - timedelta(days=policy.archive_retention_days)
    deliveries: dict[tuple[Path, str], list[tuple[datetime, Path]]] = defaultdict(list)
    for path in policy.archive_dir.glob("*/*/*") if policy.archive_dir.is_dir() else []:
        parsed = parse_archived_name(path.name)
        if is_manifest(path):  # goes with its delivery (below)
            continue
        if parsed is not None and path.is_file():  # else not a file the ingestion archived: not ours
            archived_at, original = parsed
            deliveries[(path.parent, original)].append((archived_at, path))
    in_use = deliveries_in_use(warehouse)
    for (_, _), versions in sorted(deliveries.items()):
        *older, _newest = sorted(versions)  # the newest is kept too: a delivery not loaded yet, or loading
        for archived_at, path in older:
            if path.relative_to(policy.archive_dir).as_posix() in in_use:
                plan.kept.append(f"{path}: the published rows of its day came from it (newer deliveries were refused)")
            elif archived_at < cutoff:
                reason = f"archived {archived_at:%Y-%m-%d}, superseded by a newer delivery that loaded"
                plan.removals.append(Removal("archived file", str(path), reason, size_bytes=path.stat().st_size))


def deliveries_in_use(warehouse: Warehouse) -> set[str]:
    """The archived deliveries (archive-relative paths) that the rows in the warehouse came from: each
    day's newest delivery that loaded. A newer one refused (cut short, unreadable) replaced nothing,
    and a reload chooses the one in use, so it must stay."""
    if not warehouse.exists():
        return set()
    with warehouse.read_only() as connection:
        if not table_exists(connection, LOAD_LOG):
            return set()
        rows = connection.execute(
            f"SELECT source_file FROM {LOAD_LOG} WHERE severity != ? QUALIFY row_number() OVER "
            "(PARTITION BY dataset, partition_date ORDER BY loaded_at DESC) = 1",
            [Severity.ERROR.value],
        ).fetchall()
    return {source for (source,) in rows}


def quarantine_cutoff(policy: LifecyclePolicy, now: datetime) -> datetime:
    return now - timedelta(days=policy.quarantine_retention_days)


def snapshot_cutoff(policy: LifecyclePolicy, now: datetime) -> datetime:
    """The lake's snapshots taken before this are expired."""
    return now - timedelta(days=policy.lake_snapshot_retention_days)


def old_quarantine_rows(policy: LifecyclePolicy, warehouse: Warehouse, now: datetime, plan: CleanupPlan) -> None:
    if not warehouse.exists():
        return
    cutoff = quarantine_cutoff(policy, now)
    with warehouse.read_only() as connection:
        for table in tables_in(connection, QUARANTINE):
            [(rows,)] = connection.execute(
                f'SELECT count(*) FROM {QUARANTINE}."{table}" WHERE {LOADED_AT} < ?', [cutoff]
            ).fetchall()
            if rows:
                reason = f"loaded before {cutoff:%Y-%m-%d}"
                plan.removals.append(Removal("quarantine rows", f"{QUARANTINE}.{table}", reason, rows=rows))


def old_failed_audits(policy: LifecyclePolicy, warehouse: Warehouse, now: datetime, plan: CleanupPlan) -> None:
    """Failed versions of the marts kept for inspection for longer than quarantined rows are."""
    if not warehouse.exists():
        return
    cutoff = quarantine_cutoff(policy, now)
    with warehouse.read_only() as connection:
        for version in kept_versions(connection):
            if version.recorded_at < cutoff:
                tests = ", ".join(version.failed_tests) or "a failed build"
                reason = f"version {version.version} failed its audit ({tests}) on {version.recorded_at:%Y-%m-%d}"
                plan.removals.append(Removal("failed audit version", version.kept_as, reason))


def backend_housekeeping(policy: LifecyclePolicy, warehouse: Warehouse, now: datetime, plan: CleanupPlan) -> None:
    """What the backend may delete of its own history: on the lake, snapshots past the retention
    window and files no live snapshot needs; nothing on the file backend."""
    if not warehouse.exists():
        return
    for item in warehouse.housekeeping(snapshot_cutoff(policy, now), now - BACKEND_FILE_GRACE):
        plan.removals.append(Removal(item.kind, item.target, item.reason, item.size_bytes, by_backend=True))


def old_dagster_runs(policy: LifecyclePolicy, instance: dg.DagsterInstance, now: datetime, plan: CleanupPlan) -> None:
    removable, kept = old_runs(instance, policy.run_retention_days, now)
    for record in removable:
        run = record.dagster_run
        reason = f"{run.job_name} {run.status.value.lower()}, created {record.create_timestamp:%Y-%m-%d}"
        plan.removals.append(Removal("dagster run", run.run_id, reason))
    plan.kept.extend(kept)


def plan_cleanup(
    policy: LifecyclePolicy, warehouse: Warehouse, now: datetime, instance: dg.DagsterInstance | None = None
) -> CleanupPlan:
    """What the policy says may go at ``now`` (old runs only with an ``instance``); nothing is deleted."""
    plan = CleanupPlan()
    idle_warehouses(policy, now, plan)
    old_archived_files(policy, warehouse, now, plan)
    old_quarantine_rows(policy, warehouse, now, plan)
    old_failed_audits(policy, warehouse, now, plan)
    backend_housekeeping(policy, warehouse, now, plan)
    if instance is not None:
        old_dagster_runs(policy, instance, now, plan)
    return plan


def apply_cleanup(
    plan: CleanupPlan,
    policy: LifecyclePolicy,
    warehouse: Warehouse,
    now: datetime,
    instance: dg.DagsterInstance | None = None,
) -> list[str]:
    """Delete what ``plan`` lists; pass the ``now`` the plan was made with (the quarantine cut-off)
    and, when it lists runs, the instance they are in. Returns the backend's housekeeping given up
    on, each with why (another session's lock held past the lock timeout); the rest is done."""
    quarantined, failed_audits = plan.of_kind("quarantine rows"), plan.of_kind("failed audit version")
    backend_work = [removal for removal in plan.removals if removal.by_backend]
    if quarantined or failed_audits or backend_work:
        warehouse.assert_writable()  # refuse before deleting anything, not half-way through
    for removal in plan.of_kind("warehouse file"):
        for file in _warehouse_files(Path(removal.target)):
            file.unlink(missing_ok=True)
    for removal in plan.of_kind("archived file"):
        Path(removal.target).unlink(missing_ok=True)
        manifest_of(Path(removal.target)).unlink(missing_ok=True)  # the delivery's manifest, if it had one
    if quarantined:
        cutoff = quarantine_cutoff(policy, now)
        with warehouse.writer() as connection:
            for removal in quarantined:
                schema, table = removal.target.split(".")
                assert schema == QUARANTINE, removal  # the policy never deletes published rows
                connection.execute(f'DELETE FROM {schema}."{table}" WHERE {LOADED_AT} < ?', [cutoff])
    if failed_audits:
        with warehouse.writer() as connection:
            for removal in failed_audits:
                drop_kept(connection, removal.target)  # refuses anything not named as a kept version
    skipped = warehouse.clean_house(snapshot_cutoff(policy, now), now - BACKEND_FILE_GRACE) if backend_work else []
    runs = plan.of_kind("dagster run")
    if runs:
        assert instance is not None, "a plan with runs was made with the instance"
        for removal in runs:
            instance.delete_run(removal.target)
    return skipped
