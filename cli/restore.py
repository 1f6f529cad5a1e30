"""`restore`: list warehouse snapshots, or restore one into a fresh warehouse.

    restore --list                          snapshots in the backup folder, oldest first
    restore                                 the newest snapshot into this environment's warehouse path
                                            (on the lake: into its catalog, which must be empty)
    restore prod-20261122T020000Z --to /tmp/prod-copy.duckdb

The target must not exist: move a damaged warehouse aside first (a restore never overwrites one).
Every table's row count is checked against the snapshot before the file appears under its name.
The restored file keeps the environment the snapshot was taken from, so a restored production
warehouse is as write-protected as the original; and only a prod process may restore onto the
production path.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from config.settings import Settings, exits_on_settings_error, get_settings
from operations.backup import RestoreError, find_snapshot, list_snapshots, restore_snapshot
from resources.warehouse import WarehouseResource
from warehouse.environment import ProductionWriteError


@exits_on_settings_error
def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restore", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("snapshot", nargs="?", help="snapshot folder name (default: the newest)")
    parser.add_argument("--to", type=Path, help="warehouse file to create (default: this environment's warehouse)")
    parser.add_argument("--list", action="store_true", help="list the snapshots and exit")
    args = parser.parse_args(argv)
    settings = settings or get_settings()

    if args.list:
        snapshots = list_snapshots(settings.backups)
        for snapshot in snapshots:
            size, tables, rows = snapshot.size_bytes / 1e6, len(snapshot.tables), sum(snapshot.tables.values())
            print(f"{snapshot.name}  {size:8.2f} MB  {tables:3d} tables  {rows:>10,} rows")
        if not snapshots:
            print(f"restore: no snapshots in {settings.backups} yet (warehouse_backup_job takes one nightly)")
        return 0

    warehouse = WarehouseResource.for_settings(settings).chosen()
    if args.to:
        try:
            warehouse = warehouse.at(args.to.resolve())
        except ValueError as error:
            print(f"restore: --to: {error}", file=sys.stderr)
            return 2
    try:
        warehouse.assert_writable()
        snapshot = find_snapshot(settings.backups, args.snapshot)
        restored = restore_snapshot(snapshot, warehouse)
    except (RestoreError, ProductionWriteError) as error:
        print(f"restore: {error}", file=sys.stderr)
        return 1
    rows = sum(restored.values())
    print(f"restore: {snapshot.name} -> {warehouse.location}: {len(restored)} tables, {rows:,} rows, verified")
    if snapshot.environment != settings.env:
        print(f"restore: the warehouse records environment {snapshot.environment!r}, as its source did")
    return 0


if __name__ == "__main__":
    sys.exit(main())
