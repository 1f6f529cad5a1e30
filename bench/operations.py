"""Benchmark: day-2 operations on a full year's warehouse.

    python3 tasks.py run python bench/operations.py

Builds the full 2013 year the way a backfill does (as bench/full_year.py), then times what the
schedules run: a backup (EXPORT DATABASE to Parquet), a restore into a fresh file with every
table's rows verified, the lifecycle clean-up's planning pass, and the performance report over
the run history. Each is run three times; the median is printed beside the sizes involved.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPEATS = 3


def median_seconds(action: Callable[[int], object]) -> float:
    timings = []
    for attempt in range(REPEATS):
        started = time.perf_counter()
        action(attempt)
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings), 3)


def main() -> int:
    from datetime import UTC, datetime, timedelta

    import dagster as dg
    import duckdb

    from bench.full_year import land_full_year
    from cli.backfill import run_backfill
    from config.settings import Settings
    from definitions import build_definitions
    from operations.backup import restore_snapshot, take_snapshot
    from operations.lifecycle import plan_cleanup
    from operations.performance import build_report
    from resources.dbt import ensure_manifest
    from resources.operations import OperationsResource
    from resources.warehouse import WarehouseResource

    ensure_manifest()
    workdir = Path(tempfile.mkdtemp(prefix="bench-operations-"))
    try:
        settings = Settings(env="test", data_dir=workdir / "data")
        land_full_year(settings.data_dir)
        defs = build_definitions(settings)
        with dg.DagsterInstance.ephemeral() as instance:
            started = time.perf_counter()
            assert run_backfill(settings, instance, defs=defs).success
            print(f"built the full year in {time.perf_counter() - started:.1f} s (not counted below)\n", flush=True)

            start = datetime(2026, 1, 1, tzinfo=UTC)
            snapshots = []

            def backup(attempt: int) -> None:
                with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
                    snapshots.append(take_snapshot(connection, settings.backups, now=start + timedelta(days=attempt)))

            backup_s = median_seconds(backup)
            warehouse = WarehouseResource.for_settings(settings)
            restore_s = median_seconds(
                lambda n: restore_snapshot(snapshots[-1], warehouse.at(workdir / f"restored-{n}.duckdb"))
            )
            policy = OperationsResource.from_settings(settings).lifecycle_policy()
            cleanup_s = median_seconds(lambda _: plan_cleanup(policy, warehouse, datetime.now(UTC)))
            covered = [assets for assets in defs.assets if isinstance(assets, dg.AssetsDefinition)]
            specs = [spec for assets in covered for spec in assets.specs]
            checks = [check for assets in covered for check in assets.check_keys]
            report_s = median_seconds(lambda _: build_report(instance, specs, checks, days=7))

        snapshot = snapshots[-1]
        rows = sum(snapshot.tables.values())
        print(f"{'warehouse file':34}{settings.warehouse.stat().st_size / 1e6:>10.1f} MB")
        print(
            f"{'snapshot (Parquet, zstd)':34}{snapshot.size_bytes / 1e6:>10.1f} MB  "
            f"{len(snapshot.tables)} tables, {rows:,} rows"
        )
        print(f"{'backup (median of 3)':34}{backup_s:>10.2f} s")
        print(f"{'restore + verify (median of 3)':34}{restore_s:>10.2f} s")
        print(f"{'clean-up plan (median of 3)':34}{cleanup_s:>10.2f} s")
        print(f"{'performance report (median of 3)':34}{report_s:>10.2f} s")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
