"""Which environment created a warehouse: recorded in it, so a prod warehouse stays prod wherever
the file is moved or however a setting points at it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.backend import Warehouse
from warehouse.catalog import is_attached_catalog, table_exists
from warehouse.layout import CREATED_WITH_THE_WAREHOUSE, meta_table
from warehouse.transactions import retry_conflicts, transaction

PROD = "prod"
ENVIRONMENT_TABLE = meta_table("warehouse_environment")


def recorded_environment(connection: duckdb.DuckDBPyConnection) -> str | None:
    """The environment that created the warehouse (None for one built before it was recorded)."""
    if not table_exists(connection, ENVIRONMENT_TABLE):
        return None
    # fetchall, not fetchone: no result is left open on a connection the caller goes on using.
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


class ProductionWriteError(PermissionError):
    """A process outside the prod environment tried to write the production warehouse."""

    def __init__(self, env: str, location: str, why: str) -> None:
        super().__init__(
            f"refusing to write {location} from env={env!r}: {why}. Only the prod pipeline (DATAOPS_ENV=prod) "
            "writes production data; dev and test read it and write their own warehouse "
            "(DATAOPS_WAREHOUSE_PATH, by default data/warehouse/<env>.duckdb)."
        )


def refuse_production_write(env: str, location: str, prod_location_why: str | None, recorded: str | None) -> None:
    """Raise ProductionWriteError unless ``env`` may write the warehouse at ``location``.

    ``prod_location_why``: why the location is prod's (None when it is not); ``recorded``: the
    environment recorded in the warehouse (None when not opened, or none recorded).
    """
    if env == PROD:
        return
    if prod_location_why is not None:
        raise ProductionWriteError(env, location, prod_location_why)
    if recorded == PROD:
        raise ProductionWriteError(env, location, "this warehouse was created by the prod pipeline")


def open_as_writer(connection: duckdb.DuckDBPyConnection, env: str, location: str) -> None:
    """Refuse a write to a warehouse prod created, then give a new warehouse its schemas and its
    record of ``env``, in one transaction (before anything else is written). The caller has
    refused prod's location already, before connecting."""
    recorded = recorded_environment(connection)
    refuse_production_write(env, location, None, recorded)
    if recorded is not None:
        return

    def create() -> None:
        with transaction(connection):
            for schema in CREATED_WITH_THE_WAREHOUSE:
                if not is_attached_catalog(connection, schema):  # the lake's quarantine is a lake of its own
                    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            record_environment(connection, env)

    retry_conflicts(create)


def guard_writes(warehouse: Warehouse, prod_location_why: str | None) -> None:
    """Raise ProductionWriteError unless this process may write ``warehouse``: its location first
    (no need to open prod to refuse it), then the environment recorded in it."""
    refuse_production_write(warehouse.env, warehouse.location, prod_location_why, None)
    if warehouse.env != PROD and warehouse.exists():
        with warehouse.read_only() as connection:
            refuse_production_write(warehouse.env, warehouse.location, None, recorded_environment(connection))
