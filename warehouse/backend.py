"""The warehouse seam: everything the pipeline does with a warehouse, whatever the backend.

There are two backends, each one class: a DuckDB file (warehouse/file.py) and a DuckLake with its
catalog in PostgreSQL (warehouse/lake.py). resources/warehouse.py picks one from the settings, once.
Code outside this folder and that resource asks the warehouse what it needs (a writer, a reader,
whether readers get a copy, the pools its writers wait in) and never which backend it is on.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import duckdb


class WarehouseConnectionError(RuntimeError):
    """The warehouse cannot be reached or written: a setting to fix, named in the message."""


class WarehouseExistsError(RuntimeError):
    """A restore was pointed at a warehouse that already holds data: it writes an empty one only."""


@dataclass(frozen=True)
class WriterPools:
    """The Dagster concurrency pools the warehouse's writers wait in, and each pool's slots.

    A backend that lets one process write at a time gives every writer the same pool of one slot;
    one that lets many write gives loads a wider pool and keeps only what cannot overlap in narrow ones.
    """

    load: str
    transform: str
    maintenance: str
    limits: dict[str, int]


@dataclass(frozen=True)
class Housekeeping:
    """Something the backend itself may delete (expired snapshots, files no snapshot needs)."""

    kind: str
    target: str
    reason: str
    size_bytes: int = 0


class Warehouse(Protocol):
    """One warehouse. ``WarehouseResource`` hands the chosen backend's methods to Dagster code."""

    @property
    def env(self) -> str:
        """The environment this process runs as (only prod writes prod's warehouse)."""
        ...

    @property
    def catalog(self) -> str:
        """The DuckDB catalog the warehouse is attached as: the "database" of every dbt node."""
        ...

    @property
    def location(self) -> str:
        """Where it is, for messages: the file, or the lake's catalog and data path."""
        ...

    @property
    def lineage_namespace(self) -> str:
        """The warehouse as an OpenLineage dataset namespace."""
        ...

    @property
    def prod_location(self) -> str:
        """Where prod's warehouse is, for messages (slim CI builds against it)."""
        ...

    @property
    def readers_need_a_copy(self) -> bool:
        """Whether readers read a copy (a file locks its readers out while it is written) or the warehouse itself."""
        ...

    def at(self, path: Path) -> Warehouse:
        """The same kind of warehouse in the file ``path`` (a restore's target); raises
        ValueError on a backend whose warehouses are not files."""
        ...

    def exists(self) -> bool:
        """Whether the warehouse has been created (by a first load)."""
        ...

    def read_only(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A read-only session; fails clearly if the warehouse has not been built yet."""
        ...

    def writer(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A read-write session with the warehouse's schemas in place. Keep it short-lived."""
        ...

    def assert_writable(self) -> None:
        """Raise ProductionWriteError unless this process may write it (before dbt or a restore starts)."""
        ...

    def build_lock(self, holder: str, waiting: Callable[[str], None] | None = None) -> AbstractContextManager[None]:
        """Held around a whole build (claim, dbt, publish), so that builds of this warehouse from any
        number of Dagster instances never overlap; ``holder`` names the build to the others, and
        ``waiting`` is told which build this one waits for, if it must."""
        ...

    def publish_reader_copy(self) -> Path | None:
        """Give readers the warehouse as it is now; the copy's path, or None where readers need none."""
        ...

    def restoring(self, catalog: str | None) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A session on a new, empty warehouse here, attached as ``catalog`` (a snapshot's own), to
        import a backup into. Kept only if the block ends without an error; raises
        WarehouseExistsError if a warehouse is already here."""
        ...

    def housekeeping(self, snapshots_before: datetime, files_before: datetime) -> list[Housekeeping]:
        """What the backend may delete of its own history (a dry run); nothing on a backend with none."""
        ...

    def clean_house(self, snapshots_before: datetime, files_before: datetime) -> list[str]:
        """Delete what ``housekeeping`` lists; returns the parts given up on, each with why (a lock
        another session held past the lock timeout), so that the clean-up never waits forever."""
        ...

    def pools(self) -> WriterPools:
        """The pools this backend's writers wait in."""
        ...

    def dbt_vars(self) -> dict[str, str]:
        """What dbt_project/profiles.yml needs to reach this warehouse (never a secret)."""
        ...

    def prepare_for_dbt(self) -> None:
        """What dbt cannot do itself before it connects."""
        ...

    @property
    def slim_ci_target(self) -> str:
        """The dbt target that builds here with prod's warehouse attached read-only."""
        ...

    def slim_ci_vars(self) -> dict[str, str]:
        """``dbt_vars`` plus where prod's warehouse is, for slim CI."""
        ...


def quiet(connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """No progress bar from a session: DuckDB draws one on stdout for a query over 2 seconds, and
    in a run worker stdout is the run's captured log (the setting is per session, never global)."""
    connection.execute("SET enable_progress_bar = false")
    return connection
