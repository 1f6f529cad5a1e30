"""What the warehouse's catalog holds, asked the same way on either backend (a DuckDB file or a
DuckLake): the current database's own tables, never those of another attached catalog."""

from __future__ import annotations

import duckdb


def tables_in(connection: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The tables of ``schema``, by name: a schema of the current catalog, or (as DuckDB resolves
    ``schema.table``) an attached catalog of that name (the lake's quarantine: warehouse/lake.py)."""
    rows = connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE (table_catalog = current_database() AND "
        "table_schema = ?) OR (table_catalog = ? AND table_schema = 'main' AND table_catalog != current_database()) "
        "ORDER BY 1",
        [schema, schema],
    ).fetchall()
    return [name for (name,) in rows]


def is_attached_catalog(connection: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether ``name`` is a catalog attached beside the current one (not a schema of it)."""
    [(found,)] = connection.execute(
        "SELECT count(*) FROM duckdb_databases() WHERE database_name = ? AND database_name != current_database()",
        [name],
    ).fetchall()
    return found > 0


def table_exists(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``schema.name`` exists."""
    schema, name = table.split(".")
    return name in tables_in(connection, schema)
