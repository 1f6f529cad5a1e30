"""Which environment created a warehouse: recorded in it, so a prod warehouse stays prod wherever
the file is moved or however a setting points at it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.catalog import table_exists
from warehouse.layout import meta_table

PROD = "prod"
ENVIRONMENT_TABLE = meta_table("warehouse_environment")


def recorded_environment(connection: duckdb.DuckDBPyConnection) -> str | None:
    """The environment that created the warehouse (None for one built before it was recorded)."""
    # fetchall, not fetchone: DuckDB 2.0 refuses further work on a connection with a result left open.
    if not table_exists(connection, ENVIRONMENT_TABLE):
        return None
    rows = connection.execute(f"SELECT environment FROM {ENVIRONMENT_TABLE}").fetchall()
    return rows[0][0] if rows else None


def record_environment(connection: duckdb.DuckDBPyConnection, env: str) -> None:
    """Record ``env`` as the warehouse's creator, unless one is recorded (inside the caller's transaction)."""
    if recorded_environment(connection) is None:
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {ENVIRONMENT_TABLE} (environment VARCHAR, created_at TIMESTAMPTZ)"
        )
        connection.execute(f"INSERT INTO {ENVIRONMENT_TABLE} SELECT ?, now()", [env])


def is_same_file(path: Path, other: Path) -> bool:
    """Whether two paths name one file: through links and relative paths when both exist."""
    if path.exists() and other.exists():
        return path.samefile(other)
    return path.resolve() == other.resolve()
