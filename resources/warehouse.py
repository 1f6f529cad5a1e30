"""The warehouse: the one place that knows where it is and how to open it, on either backend.

The file backend (``duckdb``): DuckDB allows one read-write process per file, and that process
excludes every other one, readers included. So readers open read-only (many may share the file),
writers open read-write for as short a time as possible, and every writing asset sits in one pool
of limit 1 (resources/pools.py). A lock can still be held briefly by a process outside Dagster (a
notebook, the DuckDB CLI), so opening retries with backoff before the asset's RetryPolicy does.

The lake backend (``ducklake``, resources/lake.py): every session attaches the same DuckLake;
writers commit optimistically and readers see a consistent snapshot, never a lock. A commit that
conflicts with a concurrent one is redone (``retry_conflicts``).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import SecretStr

from config.settings import (
    FILE_BACKEND,
    LAKE_BACKEND,
    LAKE_PASSWORD_VARIABLE,
    PROD_LAKE_PASSWORD_VARIABLE,
    S3_SECRET_VARIABLE,
    SLIM_LAKE_S3_TARGET,
    SLIM_LAKE_TARGET,
    SLIM_TARGET,
    Settings,
)
from resources.lake import (
    S3_SETTINGS,
    LakeConnectionError,
    LakeLocation,
    LakeNotCreatedError,
    ObjectStore,
    attach,
    catalog_address,
    describe,
    install_extensions,
    is_object_storage,
    same_catalog,
)
from warehouse.environment import PROD, is_same_file, record_environment, recorded_environment
from warehouse.layout import CREATED_WITH_THE_WAREHOUSE
from warehouse.locks import is_lock_error
from warehouse.transactions import is_conflict, retry_conflicts, transaction

# Every writer also retries: a lock held outside Dagster (a notebook, the DuckDB CLI) outlasting the
# connect backoff fails the step, which then retries later instead of failing the run. Bad data
# raises Failure(allow_retries=False), so only transient faults are retried.
WRITER_RETRY = dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
IS_PROD_PATH = "it is the production warehouse (DATAOPS_PROD_WAREHOUSE_PATH)"
IS_PROD_LAKE = "it is the production lake's catalog (DATAOPS_PROD_LAKE_CATALOG)"

# The lake's sessions are cursors of one DuckDB instance per process and attachment (lake, alias,
# mode): a new instance verifies the signatures of the DuckLake and PostgreSQL extensions (78 MB
# hashed, 0.14 s) and attaches the catalog again, ~0.2 s of every session, and a run opens dozens.
# Each session still begins its own transactions, and DuckLake reads the catalog's latest snapshot
# at each, so what other processes committed is seen as before. A session that ends in an error
# drops the instances (``forget_shared_lakes``): the next session attaches afresh. Only the most
# recently used are kept, as each holds connections to its catalog's PostgreSQL database.
SHARED_LAKES_KEPT = 4
_SHARED_LAKES: OrderedDict[tuple[object, ...], duckdb.DuckDBPyConnection] = OrderedDict()
_SHARED_LAKES_LOCK = threading.Lock()


def forget_shared_lakes() -> None:
    """Attach anew at the next session. An instance closes (and leaves its catalog's database) once
    no session is open on it; sessions open now keep theirs until they close."""
    with _SHARED_LAKES_LOCK:
        _SHARED_LAKES.clear()


@contextmanager
def _session(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``connection`` for the block, closed after it; an error in it drops the shared lake instances."""
    try:
        yield connection
    except BaseException:
        forget_shared_lakes()
        raise
    finally:
        connection.close()


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
    """Faults that a later attempt can outlive: the warehouse lock, a commit conflict, a file briefly unreadable."""
    if isinstance(error, ProductionWriteError | LakeConnectionError):
        return False  # a setting to fix, not a fault to wait out
    return (
        isinstance(error, WarehouseLockedError)
        or is_lock_error(error)
        or is_conflict(error)
        or isinstance(error, OSError)
    )


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
    """Connections to the warehouse (a DuckDB file, or a DuckLake), with production write-protected.

    A process whose ``env`` is not prod may read any warehouse but writes none that is production:
    neither the file at ``prod_path`` (or prod's lake catalog) nor one whose recorded environment
    is prod (a copy, a mistaken setting). The check runs before anything is written, and dbt is
    held to it too. On the lake, PostgreSQL enforces it as well: dev and test reach prod's catalog
    only through a role that can only read.
    """

    path: str  # the file backend's DuckDB file
    env: str = "dev"
    prod_path: str | None = None
    backend: str = FILE_BACKEND
    # The lake backend (resources/lake.py); secrets are dg.EnvVar, resolved when connecting.
    lake_catalog: str | None = None
    lake_data_path: str | None = None
    lake_password: str | None = None
    prod_lake_catalog: str | None = None
    prod_lake_data_path: str | None = None
    prod_lake_password: str | None = None
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_url_style: str = "path"
    s3_use_ssl: bool = True
    extension_dir: str | None = None
    # Retrying the lock here covers short holders; a longer one fails the step into its RetryPolicy.
    lock_attempts: int = 8
    lock_backoff_seconds: float = 0.25

    @classmethod
    def for_settings(cls, settings: Settings, path: Path | None = None) -> WarehouseResource:
        """This environment's warehouse (or the file at ``path``), guarded by its env and prod's location.

        The one way code builds it from settings, so the guard's inputs are never left out.
        """
        lake: dict[str, object] = {}
        if settings.uses_lake:
            # Prod's own lake is its catalog; dev and test reach it through a read-only role.
            own = settings.env == PROD
            prod = {
                "prod_lake_catalog": settings.lake_catalog if own else settings.prod_lake_catalog,
                "prod_lake_data_path": settings.lake_data_path if own else settings.prod_lake_data_path,
                "prod_lake_password": _env_var(LAKE_PASSWORD_VARIABLE, settings.lake_catalog_password)
                if own
                else _env_var(PROD_LAKE_PASSWORD_VARIABLE, settings.prod_lake_catalog_password),
            }
            lake = {
                "lake_catalog": settings.lake_catalog,
                "lake_data_path": settings.lake_data_path,
                "lake_password": _env_var(LAKE_PASSWORD_VARIABLE, settings.lake_catalog_password),
                **prod,
                "s3_endpoint": settings.s3_endpoint,
                "s3_region": settings.s3_region,
                "s3_access_key_id": settings.s3_access_key_id,
                "s3_secret_access_key": _env_var(S3_SECRET_VARIABLE, settings.s3_secret_access_key),
                "s3_url_style": settings.s3_url_style,
                "s3_use_ssl": settings.s3_use_ssl,
                "extension_dir": str(settings.duckdb_extension_dir),
            }
        return cls(
            path=str(path or settings.warehouse),
            env=settings.env,
            prod_path=str(settings.prod_warehouse),
            backend=settings.backend,
            **lake,
        )

    @property
    def file(self) -> Path:
        return Path(self.path)

    @property
    def is_lake(self) -> bool:
        return self.backend == LAKE_BACKEND

    @property
    def catalog(self) -> str:
        """The DuckDB catalog the warehouse is attached as: the file's stem, or the env for the lake.

        It is the "database" of every dbt node, so prod's is "prod" on both backends.
        """
        return self.env if self.is_lake else self.file.stem

    @property
    def location(self) -> str:
        """Where the warehouse is, for messages."""
        if self.is_lake:
            return f"lake {self.catalog} (catalog {describe(self.lake_catalog or '')}, data {self.lake_data_path})"
        return str(self.path)

    @property
    def lineage_namespace(self) -> str:
        """The warehouse as an OpenLineage dataset namespace: its file, or its lake's catalog."""
        if self.is_lake:
            return f"ducklake://{catalog_address(self.lake_catalog or '')}"
        return f"duckdb://{self.path}"

    def _lake(self) -> LakeLocation:
        assert self.lake_catalog is not None and self.lake_data_path is not None, "set by for_settings"
        return LakeLocation(self.lake_catalog, self.lake_data_path, _secret(self.lake_password))

    def _prod_lake(self) -> LakeLocation:
        if self.prod_lake_catalog is None or self.prod_lake_data_path is None:
            raise LakeConnectionError(
                "prod's lake is not configured: set DATAOPS_PROD_LAKE_CATALOG (a read-only role) "
                "and DATAOPS_PROD_LAKE_DATA_PATH"
            )
        return LakeLocation(
            self.prod_lake_catalog,
            self.prod_lake_data_path,
            _secret(self.prod_lake_password),
            setting="DATAOPS_PROD_LAKE_CATALOG",
            data_setting="DATAOPS_PROD_LAKE_DATA_PATH",
        )

    @contextmanager
    def read_prod(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A session on prod's lake alone, read-only, with ``prod`` as its default catalog.

        Dev and test connect with prod's read-only role, so besides DuckLake's READ_ONLY,
        PostgreSQL refuses any write (deploy/postgres/lake_reader.sql).
        """
        with _session(self._lake_session(self._prod_lake(), PROD, read_only=True)) as connection:
            yield connection

    def object_store(self) -> ObjectStore | None:
        if self.s3_access_key_id is None:
            return None
        return ObjectStore(
            access_key_id=self.s3_access_key_id,
            secret_access_key=_secret(self.s3_secret_access_key) or "",
            region=self.s3_region,
            endpoint=self.s3_endpoint,
            url_style=self.s3_url_style,
            use_ssl=self.s3_use_ssl,
        )

    def _lake_session(
        self, lake: LakeLocation, alias: str, read_only: bool, shared: bool = True
    ) -> duckdb.DuckDBPyConnection:
        """A DuckDB session with ``lake`` attached as ``alias``, its default catalog.

        ``shared``: a cursor of the process's instance for this attachment (``_SHARED_LAKES``),
        else an instance of its own (closed with the session).
        """
        if not shared:
            session = self._attached_instance(lake, alias, read_only)
        else:
            key = (lake, alias, read_only, self.extension_dir, self.object_store())
            with _SHARED_LAKES_LOCK:
                instance = _SHARED_LAKES.pop(key, None) or self._attached_instance(lake, alias, read_only)
                _SHARED_LAKES[key] = instance  # the most recently used last
                while len(_SHARED_LAKES) > SHARED_LAKES_KEPT:
                    _SHARED_LAKES.popitem(last=False)
                session = instance.cursor()
        try:
            session.execute(f"USE {alias}")
        except BaseException:
            session.close()
            raise
        return session

    def _attached_instance(self, lake: LakeLocation, alias: str, read_only: bool) -> duckdb.DuckDBPyConnection:
        assert self.extension_dir is not None, "set by for_settings"
        install_extensions(Path(self.extension_dir))
        # No cache of the lake's files: a shared instance outlives its sessions, and what a run
        # read would stay in the worker's memory.
        connection = duckdb.connect(
            config={"extension_directory": self.extension_dir, "enable_external_file_cache": False}
        )
        try:
            attach(connection, lake, alias, read_only=read_only, store=self.object_store())
        except BaseException:
            connection.close()
            raise
        return connection

    @contextmanager
    def restoring_session(self, catalog: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writable session on this lake attached as ``catalog``, with nothing created in it.

        For a restore (operations/backup.py): a snapshot brings its own schemas and environment
        record, and its views name their tables by the catalog they were exported from.
        """
        assert self.is_lake, "the file backend restores into a new file"
        self._refuse(None)
        connection = self._lake_session(self._lake(), catalog, read_only=False, shared=False)
        try:
            yield connection
        finally:
            connection.close()

    def _connect_lake(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        return self._lake_session(self._lake(), self.catalog, read_only)

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if self.is_lake:
            return self._connect_lake(read_only)
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

    def exists(self) -> bool:
        """Whether the warehouse has been created (by a first load)."""
        if not self.is_lake:
            return self.file.exists()
        try:
            connection = self._connect_lake(read_only=True)
        except LakeNotCreatedError:
            return False
        try:
            return recorded_environment(connection) is not None
        finally:
            connection.close()

    @contextmanager
    def read_only(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection; fails clearly if the warehouse has not been built yet."""
        if not self.is_lake and not self.file.exists():
            raise FileNotFoundError(f"warehouse {self.path} does not exist yet: materialise the raw assets first")
        with _session(self._connect(read_only=True)) as connection:
            yield connection

    def _is_prod_location(self) -> bool:
        if self.is_lake:
            return self.prod_lake_catalog is not None and same_catalog(self.lake_catalog or "", self.prod_lake_catalog)
        return self.prod_path is not None and is_same_file(self.file, Path(self.prod_path))

    def _refuse(self, recorded: str | None) -> None:
        """Raise ProductionWriteError if this process may not write; ``recorded``: the warehouse's environment."""
        if self.env == PROD:
            return
        if self._is_prod_location():
            raise ProductionWriteError(self.env, self.location, IS_PROD_LAKE if self.is_lake else IS_PROD_PATH)
        if recorded == PROD:
            raise ProductionWriteError(self.env, self.location, "this warehouse was created by the prod pipeline")

    def assert_writable(self) -> None:
        """Raise ProductionWriteError unless this process may write the warehouse (before dbt runs)."""
        self._refuse(None)  # the location first: no need to open prod to refuse it
        if self.env != PROD and self.exists():
            connection = self._connect(read_only=True)
            try:
                self._refuse(recorded_environment(connection))
            finally:
                connection.close()

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection, with the warehouse's schemas in place. Keep it short-lived."""
        self._refuse(None)
        if not self.is_lake:
            self.file.parent.mkdir(parents=True, exist_ok=True)
        with _session(self._connect(read_only=False)) as connection:
            recorded = recorded_environment(connection)
            self._refuse(recorded)  # before anything is written
            if recorded is None:
                retry_conflicts(lambda: _create_layout(connection, self.env))
            yield connection

    @property
    def reader_copy(self) -> Path:
        """The file backend's copy for readers: ``<env>.reader.duckdb`` beside the warehouse.

        DuckDB names a file's catalog after the part before the first dot, so the copy is
        catalog ``<env>`` too, and the views dbt wrote (catalog-qualified) resolve in it.
        """
        return self.file.with_name(f"{self.file.stem}.reader{self.file.suffix}")

    def publish_reader_copy(self) -> Path | None:
        """Replace the readers' copy of the file with the warehouse as it is now (file backend only).

        A notebook, a BI tool or the DuckDB CLI reading the warehouse file would lock the pipeline
        out; reading this copy never does. It is written beside and renamed into place, so a
        reader with the copy open keeps its version and the next one opens the new. Called by a
        writer that holds the writer slot, after a successful build: the file is quiescent. The
        lake needs none: its readers never block writers (returns None).
        """
        if self.is_lake:
            return None
        with self.writer() as connection:
            connection.execute("CHECKPOINT")  # everything in the file itself, nothing left in the WAL
        staged = self.reader_copy.with_name(f".{self.reader_copy.name}.partial")
        shutil.copyfile(self.file, staged)
        staged.replace(self.reader_copy)
        return self.reader_copy

    def dbt_vars(self) -> dict[str, str]:
        """What dbt_project/profiles.yml needs to reach this warehouse (no secrets: those are env vars)."""
        if not self.is_lake:
            return {"warehouse_path": self.path}
        assert self.lake_catalog is not None and self.lake_data_path is not None and self.extension_dir is not None
        variables = {
            "lake_catalog": self.lake_catalog,
            "lake_data_path": self.lake_data_path,
            "lake_alias": self.catalog,
            "extension_dir": self.extension_dir,
        }
        store = self.object_store()
        if store is not None:  # the lake_s3 target; its secret key is an env var
            variables |= {
                "s3_access_key_id": store.access_key_id,
                "s3_region": store.region,
                "s3_endpoint": store.endpoint or "s3.amazonaws.com",
                "s3_url_style": store.url_style,
                "s3_use_ssl": "true" if store.use_ssl else "false",
            }
        return variables

    @property
    def slim_ci_target(self) -> str:
        """The dbt target that builds into this warehouse with prod's attached read-only (with the
        store's secret when either lake's files are on an S3-compatible store)."""
        if not self.is_lake:
            return SLIM_TARGET
        paths = (self.lake_data_path or "", self.prod_lake_data_path or "")
        return SLIM_LAKE_S3_TARGET if any(is_object_storage(path) for path in paths) else SLIM_LAKE_TARGET

    def slim_ci_vars(self) -> dict[str, str]:
        """dbt_vars plus where prod's warehouse is, for slim CI (read-only, through prod's reader role)."""
        if not self.is_lake:
            return {**self.dbt_vars(), "prod_warehouse_path": self.prod_path or ""}
        prod = self._prod_lake()
        remote = [path for path in (self.lake_data_path or "", prod.data_path) if is_object_storage(path)]
        if remote and self.object_store() is None:
            raise LakeConnectionError(f"{' and '.join(remote)}: set {S3_SETTINGS} to a key that can read them")
        return {**self.dbt_vars(), "prod_lake_catalog": prod.catalog, "prod_lake_data_path": prod.data_path}

    def prepare_for_dbt(self) -> None:
        """What dbt cannot do itself: install the packaged extensions where its DuckDB looks."""
        if self.is_lake:
            assert self.extension_dir is not None
            install_extensions(Path(self.extension_dir))


def _env_var(name: str, value: SecretStr | None) -> dg.EnvVar | None:
    """The variable that holds a secret the settings found, by name: Dagster resolves it in the run."""
    return dg.EnvVar(name) if value is not None else None


def _secret(value: str | None) -> str | None:
    """A secret field's value: Dagster resolves dg.EnvVar in runs; code outside a run does it here."""
    return value.get_value() if isinstance(value, dg.EnvVar) else value


def _create_layout(connection: duckdb.DuckDBPyConnection, env: str) -> None:
    """The schemas and the environment record of a new warehouse, in one transaction."""
    with transaction(connection):
        for schema in CREATED_WITH_THE_WAREHOUSE:
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        record_environment(connection, env)
