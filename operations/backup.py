"""Warehouse snapshots: take one, keep the newest N, restore one into a fresh file or an empty lake.

A snapshot is a folder ``<backup_dir>/<env>-<UTC stamp>/`` made by DuckDB's ``EXPORT DATABASE``:
``schema.sql`` (schemas, tables, views), ``load.sql`` and one Parquet file per table, plus our
``snapshot.json`` (row counts per table, size, source, environment). Parquet keeps it readable by
any tool, compressed, and independent of the DuckDB file format version.

The export is written under a hidden name and renamed when complete, so a listing never shows a
half-written snapshot, and retention never counts one.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse.backend import Warehouse, WarehouseExistsError
from warehouse.catalog import is_attached_catalog
from warehouse.environment import recorded_environment
from warehouse.layout import QUARANTINE
from warehouse.transactions import transaction

MANIFEST = "snapshot.json"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


class RestoreError(RuntimeError):
    """A snapshot cannot be restored, or the restored copy does not match what was backed up."""


@dataclass(frozen=True)
class Snapshot:
    path: Path
    environment: str
    created_at: datetime
    tables: dict[str, int]  # "schema.table" -> rows
    size_bytes: int
    duration_seconds: float
    # The exported database's catalog name (the warehouse file's stem): views that dbt wrote name
    # their tables with it, so a restore imports under the same name. None in older snapshots.
    catalog: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def read(cls, path: Path) -> Snapshot:
        manifest = json.loads((path / MANIFEST).read_text())
        return cls(
            path=path,
            environment=manifest["environment"],
            created_at=datetime.fromisoformat(manifest["created_at"]),
            tables=manifest["tables"],
            size_bytes=manifest["size_bytes"],
            duration_seconds=manifest["duration_seconds"],
            catalog=manifest.get("catalog"),
        )


def table_counts(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of every base table (views hold no data of their own), by "schema.table"; on the lake,
    quarantine's lake's tables as "quarantine.table" too (warehouse/lake.py)."""
    tables = connection.execute(
        "SELECT CASE WHEN table_catalog = current_database() THEN table_schema ELSE table_catalog END, table_name "
        "FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND (table_catalog = current_database() "
        "OR (table_catalog = ? AND table_schema = 'main')) ORDER BY 1, 2",
        [QUARANTINE],
    ).fetchall()
    return {
        f"{schema}.{table}": connection.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][0]
        for schema, table in tables
    }


def _folder_size(folder: Path) -> int:
    return sum(file.stat().st_size for file in folder.rglob("*") if file.is_file())


def take_snapshot(connection: duckdb.DuckDBPyConnection, backup_dir: Path, now: datetime | None = None) -> Snapshot:
    """Export the warehouse behind ``connection`` (read-only is enough) into a new snapshot folder."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    environment = recorded_environment(connection) or "unrecorded"
    final = backup_dir / f"{environment}-{now.strftime(STAMP_FORMAT)}"
    if final.exists():
        raise FileExistsError(f"snapshot {final} already exists")
    partial = backup_dir / f".partial-{final.name}"
    shutil.rmtree(partial, ignore_errors=True)  # left by an export that died part-way
    backup_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tables = table_counts(connection)
    connection.execute(f"EXPORT DATABASE '{partial}' (FORMAT parquet, COMPRESSION zstd)")
    if is_attached_catalog(connection, QUARANTINE):  # the lake's quarantine, a lake of its own
        connection.execute(
            f"EXPORT DATABASE {QUARANTINE} TO '{partial / QUARANTINE}' (FORMAT parquet, COMPRESSION zstd)"
        )
    duration = time.perf_counter() - started
    size = _folder_size(partial)
    manifest = {
        "environment": environment,
        "created_at": now.isoformat(),
        "tables": tables,
        "size_bytes": size,
        "duration_seconds": round(duration, 3),
        "duckdb_version": duckdb.__version__,
        "catalog": connection.execute("SELECT current_database()").fetchall()[0][0],
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    partial.rename(final)
    return Snapshot.read(final)


def list_snapshots(backup_dir: Path) -> list[Snapshot]:
    """Complete snapshots, oldest first."""
    if not backup_dir.is_dir():
        return []
    found = [Snapshot.read(folder) for folder in backup_dir.iterdir() if (folder / MANIFEST).is_file()]
    return sorted(found, key=lambda snapshot: snapshot.created_at)


def prune_snapshots(backup_dir: Path, environment: str, keep: int) -> list[Snapshot]:
    """Delete all but the newest ``keep`` snapshots of ``environment``; returns what was deleted.

    Per environment: where dev and prod share a backup folder, dev's backups never push out prod's.
    """
    if keep < 1:
        raise ValueError("keep at least one snapshot")
    snapshots = [snapshot for snapshot in list_snapshots(backup_dir) if snapshot.environment == environment]
    removed = snapshots[:-keep]
    for snapshot in removed:
        shutil.rmtree(snapshot.path)
    return removed


def find_snapshot(backup_dir: Path, name: str | None) -> Snapshot:
    """The snapshot called ``name``, or the newest one."""
    snapshots = list_snapshots(backup_dir)
    if not snapshots:
        raise RestoreError(f"no snapshot in {backup_dir}")
    if name is None:
        return snapshots[-1]
    for snapshot in snapshots:
        if snapshot.name == name:
            return snapshot
    raise RestoreError(f"no snapshot {name!r} in {backup_dir}; there are: {', '.join(s.name for s in snapshots)}")


def _verified(expected: dict[str, int], restored: dict[str, int]) -> dict[str, int]:
    """``restored`` if it is ``expected`` row for row; else a RestoreError naming the differences."""
    if restored != expected:
        differences = {
            table: (expected.get(table), restored.get(table))
            for table in expected.keys() | restored.keys()
            if expected.get(table) != restored.get(table)
        }
        raise RestoreError(f"restored rows differ from the snapshot (table: (backed up, restored)): {differences}")
    return restored


def restore_snapshot(snapshot: Snapshot, warehouse: Warehouse) -> dict[str, int]:
    """Import ``snapshot`` into ``warehouse``, which must be empty, and verify every table's rows.

    A restore never overwrites a warehouse: move the damaged file aside, or point the lake's
    catalog at a new database, first. Import and check succeed together or leave nothing behind.
    The restored warehouse keeps the environment recorded in the snapshot, so a restored prod
    warehouse stays write-protected from dev and test.

    On the lake, quarantine's own lake (warehouse/lake.py) was exported beside the lake; it is
    imported after it, in a transaction of its own (a transaction writes one catalog).
    """
    quarantine_export = snapshot.path / QUARANTINE
    in_quarantine_lake = (
        {table for table in snapshot.tables if table.startswith(f"{QUARANTINE}.")}
        if quarantine_export.is_dir()
        else set()
    )
    try:
        with warehouse.restoring(snapshot.catalog) as connection:
            connection.execute(f"IMPORT DATABASE '{snapshot.path}'")
            expected = {table: rows for table, rows in snapshot.tables.items() if table not in in_quarantine_lake}
            restored = _verified(expected, table_counts(connection))
    except WarehouseExistsError as error:
        raise RestoreError(str(error)) from error
    if in_quarantine_lake:
        with warehouse.writer() as connection:
            [(catalog,)] = connection.execute("SELECT current_database()").fetchall()
            with transaction(connection):
                connection.execute(f"USE {QUARANTINE}")
                try:
                    connection.execute(f"IMPORT DATABASE '{quarantine_export}'")
                finally:
                    connection.execute(f'USE "{catalog}"')
            restored = _verified(snapshot.tables, table_counts(connection))
    return restored
