"""What code outside the resources needs of a warehouse: a way to open it, on either backend.

Day-2 operations (operations/) take a ``Warehouse``, not the Dagster resource: they are plain code
that the operations assets, the `cleanup` and `restore` commands and the tests all call, and
resources/warehouse.py's WarehouseResource is one implementation.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

import duckdb


class Warehouse(Protocol):
    @property
    def is_lake(self) -> bool: ...

    @property
    def catalog(self) -> str:
        """The DuckDB catalog the warehouse is attached as."""
        ...

    @property
    def location(self) -> str:
        """Where it is, for messages: the file, or the lake's catalog and data path."""
        ...

    def exists(self) -> bool: ...

    def read_only(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]: ...

    def writer(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]: ...

    def assert_writable(self) -> None:
        """Raise unless this process may write it (only the prod pipeline writes prod)."""
        ...

    def restoring_session(self, catalog: str) -> AbstractContextManager[duckdb.DuckDBPyConnection]: ...
