"""The file backend: the warehouse is one DuckDB file.

DuckDB lets one read-write process have a file, and that process excludes every other one, readers
included. So readers open read-only (many may share the file), writers open read-write for as short
a time as possible, every writer waits in one pool of one slot, and the readers outside the pipeline
(a notebook, a BI tool) read a copy that a build publishes (``publish_reader_copy``). A lock can
still be held briefly by a process outside Dagster (the DuckDB CLI), so opening retries with backoff.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.backend import Housekeeping, WarehouseExistsError, WriterPools, quiet
from warehouse.environment import guard_writes, is_same_file, open_as_writer, refuse_production_write
from warehouse.layout import QUARANTINE
from warehouse.locks import WarehouseLockedError, is_lock_error

WRITER_POOL = "duckdb_writer"
IS_PROD_PATH = "it is the production warehouse (DATAOPS_PROD_WAREHOUSE_PATH)"
SLIM_TARGET = "slim_ci"  # dbt_project/profiles.yml


@dataclass(frozen=True)
class FileWarehouse:
    path: Path
    env: str
    prod_path: Path | None = None
    # Retrying the lock here covers short holders; a longer one fails the step, which then asks for
    # a retry (resources/warehouse.py: retry_only_transient).
    lock_attempts: int = 8
    lock_backoff_seconds: float = 0.25

    @property
    def catalog(self) -> str:
        """The file's stem: DuckDB names a file's catalog after it, so prod's is "prod"."""
        return self.path.stem

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def lineage_namespace(self) -> str:
        return f"duckdb://{self.path}"

    @property
    def prod_location(self) -> str:
        return str(self.prod_path)

    @property
    def readers_need_a_copy(self) -> bool:
        return True

    def at(self, path: Path) -> FileWarehouse:
        return replace(self, path=path)

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        delay = self.lock_backoff_seconds
        for attempt in range(1, self.lock_attempts + 1):
            try:
                return quiet(duckdb.connect(str(self.path), read_only=read_only))
            except duckdb.IOException as error:
                if not is_lock_error(error):
                    raise
                if attempt == self.lock_attempts:
                    raise WarehouseLockedError(
                        f"warehouse {self.path} still locked after {attempt} attempts: {error}"
                    ) from error
                time.sleep(delay)
                delay = min(delay * 2, 4.0)
        raise AssertionError("unreachable")

    def exists(self) -> bool:
        return self.path.exists()

    @contextmanager
    def read_only(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if not self.path.exists():
            raise FileNotFoundError(f"warehouse {self.path} does not exist yet: materialise the raw assets first")
        connection = self._connect(read_only=True)
        try:
            yield connection
        finally:
            connection.close()

    def _prod_why(self) -> str | None:
        is_prod = self.prod_path is not None and is_same_file(self.path, self.prod_path)
        return IS_PROD_PATH if is_prod else None

    def assert_writable(self) -> None:
        guard_writes(self, self._prod_why())

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        refuse_production_write(self.env, self.location, self._prod_why(), None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = self._connect(read_only=False)
        try:
            open_as_writer(connection, self.env, self.location)
            yield connection
        finally:
            connection.close()

    @property
    def reader_copy(self) -> Path:
        """``<env>.reader.duckdb`` beside the warehouse. DuckDB names a file's catalog after the part
        before the first dot, so the copy is catalog ``<env>`` too, and the views dbt wrote
        (catalog-qualified) resolve in it."""
        return self.path.with_name(f"{self.path.stem}.reader{self.path.suffix}")

    def build_lock(self, holder: str, waiting: Callable[[str], None] | None = None) -> AbstractContextManager[None]:
        return nullcontext()  # a build holds the file's own lock, which excludes every other writer

    def publish_reader_copy(self) -> Path:
        """Replace the readers' copy with the warehouse as it is now.

        Written beside and renamed into place, so a reader with the copy open keeps its version
        and the next one opens the new. Called by a writer holding the writer slot, after a
        successful build: the file is quiescent.
        """
        with self.writer() as connection:
            connection.execute("CHECKPOINT")  # everything in the file itself, nothing left in the WAL
        staged = self.reader_copy.with_name(f".{self.reader_copy.name}.partial")
        try:
            shutil.copyfile(self.path, staged)
            # Quarantined records are what the pipeline refused (a hostile file's lines among them):
            # they stay with the pipeline's owners, never in what readers open.
            with duckdb.connect(str(staged)) as copy:
                copy.execute(f"DROP SCHEMA IF EXISTS {QUARANTINE} CASCADE")
                copy.execute("CHECKPOINT")
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        staged.replace(self.reader_copy)
        return self.reader_copy

    @contextmanager
    def restoring(self, catalog: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A new file, written under a temporary name and renamed into place only when the block
        succeeds. ``catalog``: the name the snapshot's views give their tables' catalog, which
        must resolve whatever this file is called."""
        if self.path.exists():
            raise WarehouseExistsError(
                f"{self.path} exists; a restore writes a fresh file only (move the old one aside)"
            )
        refuse_production_write(self.env, self.location, self._prod_why(), None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".restoring-{self.path.name}")
        partial.unlink(missing_ok=True)
        if catalog is None:
            connection = duckdb.connect(str(partial))
        else:
            connection = duckdb.connect()
            quoted = catalog.replace('"', '""')
            connection.execute(f"ATTACH '{partial}' AS \"{quoted}\"")
            connection.execute(f'USE "{quoted}"')
        try:
            yield connection
        except BaseException:
            connection.close()
            partial.unlink(missing_ok=True)
            raise
        connection.close()
        partial.rename(self.path)

    def housekeeping(self, snapshots_before: datetime, files_before: datetime) -> list[Housekeeping]:
        return []  # a file keeps no history of its own: backups are the history

    def clean_house(self, snapshots_before: datetime, files_before: datetime) -> list[str]:
        return []

    def pools(self) -> WriterPools:
        return WriterPools(WRITER_POOL, WRITER_POOL, WRITER_POOL, {WRITER_POOL: 1})

    def dbt_vars(self) -> dict[str, str]:
        return {"warehouse_path": str(self.path)}

    def prepare_for_dbt(self) -> None:
        return None

    @property
    def slim_ci_target(self) -> str:
        return SLIM_TARGET

    def slim_ci_vars(self) -> dict[str, str]:
        return {**self.dbt_vars(), "prod_warehouse_path": str(self.prod_path or "")}
