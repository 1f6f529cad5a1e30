"""The DuckDB warehouse: the one place that knows its path and how to open it.

DuckDB allows one read-write process per file, and that process excludes every other one, readers
included. So: readers open read-only (many may share the file), writers open read-write for as
short a time as possible, and every writing asset sits in the ``duckdb_writer`` pool (limit 1).
A lock can still be held briefly by a process outside Dagster (a notebook, the DuckDB CLI), so
opening retries with backoff before the asset's own RetryPolicy takes over.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from resources.settings import Settings

# The concurrency pool every writer of the warehouse file joins; its limit is 1 in dagster.yaml.
WRITER_POOL = "duckdb_writer"
# Every writer also retries: a lock held outside Dagster (a notebook, the DuckDB CLI) outlasting the
# connect backoff fails the step, which then retries later instead of failing the run. Bad data
# raises Failure(allow_retries=False), so only transient faults are retried.
WRITER_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
SCHEMAS = ("raw", "quarantine", "meta", "analytics")
PROD = "prod"
# Every warehouse records the environment that created it; a prod warehouse stays prod wherever
# the file is moved or however a setting points at it.
ENVIRONMENT_TABLE = "meta.warehouse_environment"
IS_PROD_PATH = "it is the production warehouse (DATAOPS_PROD_WAREHOUSE_PATH)"


def is_lock_message(text: str) -> bool:
    """True for DuckDB's "file is locked by another process" error text (also as dbt reports it)."""
    text = text.lower()
    return "could not set lock" in text or "conflicting lock" in text


def is_lock_error(error: BaseException) -> bool:
    """True for DuckDB's lock error (worth retrying)."""
    return isinstance(error, duckdb.IOException) and is_lock_message(str(error))


def is_same_file(path: Path, other: Path) -> bool:
    """Whether two paths name one file: through links and relative paths when both exist."""
    if path.exists() and other.exists():
        return path.samefile(other)
    return path.resolve() == other.resolve()


class WarehouseLockedError(RuntimeError):
    """The warehouse stayed locked by another process for longer than the connect budget."""


class ProductionWriteError(PermissionError):
    """A process outside the prod environment tried to write the production warehouse."""

    def __init__(self, env: str, path: str, why: str) -> None:
        super().__init__(
            f"refusing to write {path} from env={env!r}: {why}. Only the prod pipeline (DATAOPS_ENV=prod) "
            "writes production data; dev and test read it and write their own warehouse "
            "(DATAOPS_WAREHOUSE_PATH, by default data/warehouse/<env>.duckdb)."
        )


def is_transient(error: BaseException) -> bool:
    """Faults that a later attempt can outlive: the warehouse lock, a file briefly unreadable."""
    if isinstance(error, ProductionWriteError):
        return False  # a setting to fix, not a fault to wait out
    return isinstance(error, WarehouseLockedError) or is_lock_error(error) or isinstance(error, OSError)


@contextmanager
def retry_only_transient() -> Iterator[None]:
    """Let transient faults reach the step's RetryPolicy; make every other error final.

    Dagster's RetryPolicy retries any exception. A bug or a bad file fails the same way every
    time, so it is turned into ``Failure(allow_retries=False)`` instead of retrying with backoff.
    """
    try:
        yield
    except dg.Failure:
        raise
    except Exception as error:
        if is_transient(error):
            raise
        raise dg.Failure(description=f"{type(error).__name__}: {error}", allow_retries=False) from error


class WarehouseResource(dg.ConfigurableResource):
    """Connections to the DuckDB warehouse file, with production write-protected.

    A process whose ``env`` is not prod may read any warehouse but writes none that is production:
    neither the file at ``prod_path`` nor one whose recorded environment is prod (a copy, a
    mistaken setting). The check runs before anything is written, and dbt is held to it too.
    """

    path: str
    env: str = "dev"
    prod_path: str | None = None
    # Retrying the lock here covers short holders; a longer one fails the step into its RetryPolicy.
    lock_attempts: int = 8
    lock_backoff_seconds: float = 0.25

    @classmethod
    def for_settings(cls, settings: Settings, path: Path | None = None) -> WarehouseResource:
        """This environment's warehouse (or the file at ``path``), guarded by its env and prod's path.

        The one way code builds it from settings, so the guard's inputs are never left out.
        """
        return cls(path=str(path or settings.warehouse), env=settings.env, prod_path=str(settings.prod_warehouse))

    @property
    def file(self) -> Path:
        return Path(self.path)

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        delay = self.lock_backoff_seconds
        for attempt in range(1, self.lock_attempts + 1):
            try:
                return duckdb.connect(self.path, read_only=read_only)
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

    @contextmanager
    def read_only(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection; fails clearly if the warehouse has not been built yet."""
        if not self.file.exists():
            raise FileNotFoundError(f"warehouse {self.path} does not exist yet: materialise the raw assets first")
        connection = self._connect(read_only=True)
        try:
            yield connection
        finally:
            connection.close()

    def _is_prod_path(self) -> bool:
        return self.prod_path is not None and is_same_file(self.file, Path(self.prod_path))

    def _refuse(self, recorded: str | None) -> None:
        """Raise ProductionWriteError if this process may not write; ``recorded``: the file's environment."""
        if self.env == PROD:
            return
        if self._is_prod_path():
            raise ProductionWriteError(self.env, self.path, IS_PROD_PATH)
        if recorded == PROD:
            raise ProductionWriteError(self.env, self.path, "this warehouse was created by the prod pipeline")

    def assert_writable(self) -> None:
        """Raise ProductionWriteError unless this process may write the warehouse (before dbt runs)."""
        self._refuse(None)  # the path first: no need to open the prod file to refuse it
        if self.env != PROD and self.file.exists():
            connection = self._connect(read_only=True)
            try:
                self._refuse(recorded_environment(connection))
            finally:
                connection.close()

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection, with the warehouse's schemas in place. Keep it short-lived."""
        self._refuse(None)
        self.file.parent.mkdir(parents=True, exist_ok=True)
        connection = self._connect(read_only=False)
        try:
            recorded = recorded_environment(connection)
            self._refuse(recorded)  # before anything is written
            for schema in SCHEMAS:
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            if recorded is None:
                connection.execute(f"CREATE TABLE {ENVIRONMENT_TABLE} AS SELECT ? AS environment, now() AS created_at",
                                   [self.env])  # fmt: skip
            yield connection
        finally:
            connection.close()


def recorded_environment(connection: duckdb.DuckDBPyConnection) -> str | None:
    """The environment that created the warehouse (None for one built before it was recorded)."""
    # fetchall, not fetchone: DuckDB 2.0 refuses further work on a connection with a result left open.
    schema, table = ENVIRONMENT_TABLE.split(".")
    [(exists,)] = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchall()
    if not exists:
        return None
    rows = connection.execute(f"SELECT environment FROM {ENVIRONMENT_TABLE}").fetchall()
    return rows[0][0] if rows else None
