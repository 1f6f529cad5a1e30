"""Reading the warehouse in tests, whichever the backend: through the same resource as the pipeline."""

from __future__ import annotations

from typing import Any

import duckdb

from config.settings import Settings
from resources.warehouse import WarehouseResource


def query(settings: Settings, sql: str, parameters: list[Any] | None = None) -> list[tuple]:
    with WarehouseResource.for_settings(settings).read_only() as connection:
        return connection.execute(sql, parameters or []).fetchall()


def warehouse_contents(connection: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Every table's and view's columns (name, type) and rows in a canonical order, by "schema.name"."""
    objects = connection.execute(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables"
        " WHERE table_catalog = current_database() ORDER BY 1, 2"
    ).fetchall()
    found: dict[str, object] = {}
    for schema, table, kind in objects:
        columns = connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = current_database()"
            " AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
        rows = connection.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY ALL').fetchall()
        found[f"{schema}.{table}"] = (kind, columns, rows)
    return found
