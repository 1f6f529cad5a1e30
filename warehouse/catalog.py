"""What the warehouse's catalog holds, asked the same way on either backend (a DuckDB file or a
DuckLake): the current database's own tables, never those of another attached catalog."""

from __future__ import annotations

import duckdb


def tables_in(connection: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The tables of ``schema``, by name."""
    rows = connection.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_catalog = current_database() AND table_schema = ? ORDER BY 1",
        [schema],
    ).fetchall()
    return [name for (name,) in rows]


def table_exists(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``schema.name`` exists."""
    schema, name = table.split(".")
    return name in tables_in(connection, schema)
