"""Day-2 operations settings for the assets and commands that back up and clean up.

One resource, built from settings in one place (``from_settings``), used both by the operations
assets and by the `restore` and `cleanup` commands, so a schedule and a person at a terminal apply
the same policy.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from config.settings import Settings
from operations.lifecycle import LifecyclePolicy


class OperationsResource(dg.ConfigurableResource):
    backup_dir: str
    backup_keep: int
    warehouse_dirs: list[str]
    prod_warehouse: str
    archive_dir: str
    idle_warehouse_days: int
    archive_retention_days: int
    quarantine_retention_days: int
    lake_snapshot_retention_days: int
    run_retention_days: int
    report_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> OperationsResource:
        return cls(
            backup_dir=str(settings.backups),
            backup_keep=settings.backup_keep,
            # Where old dev/test warehouse files are looked for: next to this one and next to prod.
            warehouse_dirs=sorted({str(settings.warehouse.parent), str(settings.prod_warehouse.parent)}),
            prod_warehouse=str(settings.prod_warehouse),
            archive_dir=str(settings.archive),
            idle_warehouse_days=settings.idle_warehouse_days,
            archive_retention_days=settings.archive_retention_days,
            quarantine_retention_days=settings.quarantine_retention_days,
            lake_snapshot_retention_days=settings.lake_snapshot_retention_days,
            run_retention_days=settings.run_retention_days,
            report_days=settings.report_days,
        )

    @property
    def backups(self) -> Path:
        return Path(self.backup_dir)

    def lifecycle_policy(self) -> LifecyclePolicy:
        return LifecyclePolicy(
            warehouse_dirs=tuple(Path(folder) for folder in self.warehouse_dirs),
            prod_warehouse=Path(self.prod_warehouse),
            archive_dir=Path(self.archive_dir),
            idle_warehouse_days=self.idle_warehouse_days,
            archive_retention_days=self.archive_retention_days,
            quarantine_retention_days=self.quarantine_retention_days,
            lake_snapshot_retention_days=self.lake_snapshot_retention_days,
            run_retention_days=self.run_retention_days,
        )
