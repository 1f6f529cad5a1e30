"""The warehouse as a Dagster resource: its settings as config, the backend chosen from them once.

What a warehouse can do, and the two backends that do it, live in warehouse/ (warehouse/backend.py);
this resource holds their configuration (secrets as ``dg.EnvVar``, resolved in the run), builds the
configured backend and hands its methods on. It adds what only Dagster code needs: which errors are
worth a step retry.
"""

from __future__ import annotations

import errno
import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
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
    Settings,
)
from warehouse.backend import Housekeeping, Warehouse, WarehouseConnectionError, WriterPools
from warehouse.build_lock import BuildLockTimeout
from warehouse.ducklake import LakeLocation, ObjectStore
from warehouse.environment import PROD, ProductionWriteError
from warehouse.faults import Cause, cause_of
from warehouse.file import FileWarehouse
from warehouse.lake import LakeWarehouse
from warehouse.locks import WarehouseLockedError, is_lock_error

# Every writer also retries: a lock held outside Dagster (a notebook, the DuckDB CLI) outlasting the
# connect backoff fails the step, which then retries later instead of failing the run. The step
# asks for the retry itself (retry_only_transient) rather than through a RetryPolicy: Dagster turns
# an interrupt in a step that has a RetryPolicy into a retry, so Terminate would restart the step
# instead of stopping the run.
WRITER_RETRIES = 3
WRITER_RETRY_DELAY_SECONDS = 5.0


def retry_delay(retry_number: int) -> float:
    """Seconds before retry ``retry_number + 1``: doubling from the first delay, +-50% so that steps
    that failed together do not retry together."""
    return WRITER_RETRY_DELAY_SECONDS * 2**retry_number * random.uniform(0.5, 1.5)


def retry_later(retry_number: int) -> dg.RetryRequested:
    """What a writer step raises to be tried again (``retry_number``: its ``context.retry_number``)."""
    return dg.RetryRequested(max_retries=WRITER_RETRIES, seconds_to_wait=retry_delay(retry_number))


# Operating-system errors a later attempt can outlive: a busy or interrupted call, a connection
# dropped or refused while a server restarts, a stale network file handle, a landed file another run
# took between its listing and its read (the next attempt reads its archived copy). Not a full disk,
# a quota, a permission or a read-only file system: those fail the same way until someone acts.
TRANSIENT_ERRNOS = frozenset(
    {
        errno.ENOENT,
        errno.EAGAIN,
        errno.EBUSY,
        errno.EINTR,
        errno.ETIMEDOUT,
        errno.ECONNRESET,
        errno.ECONNREFUSED,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ESTALE,
    }
)


def transient_cause(error: BaseException) -> str | None:
    """What transient fault ``error`` is, in words for the run log; None when it is not one.

    The warehouse lock, a commit conflict, the lake's catalog or object store unreachable, restarting
    or out of connections (warehouse/faults.py), an operating-system call a later attempt can outlive
    (TRANSIENT_ERRNOS). Everything else, a full disk or a setting to fix included, is final at once.
    """
    if isinstance(error, ProductionWriteError):
        return None
    if isinstance(error, WarehouseLockedError) or is_lock_error(error):
        return Cause.WAREHOUSE_LOCKED
    if isinstance(error, BuildLockTimeout):
        return Cause.BUILD_LOCKED
    if isinstance(error, duckdb.Error | WarehouseConnectionError):
        return cause_of(str(error))
    if isinstance(error, OSError) and error.errno in TRANSIENT_ERRNOS:
        return f"a transient operating-system error ({errno.errorcode.get(error.errno or 0, error.errno)})"
    return None


def is_transient(error: BaseException) -> bool:
    return transient_cause(error) is not None


@contextmanager
def retry_only_transient(retry_number: int = 0) -> Iterator[None]:
    """Retry the step on a transient fault; make every other error final; let an interrupt stop it.

    ``retry_number``: the step's ``context.retry_number``, for the backoff. A transient fault asks
    Dagster for a retry (``RetryRequested``, up to WRITER_RETRIES); when they are spent, the step
    fails naming the fault. A bug or a bad file fails the same way every time, so it is
    ``Failure(allow_retries=False)`` at once.

    A terminated run interrupts its worker (SIGINT). Inside a query DuckDB takes that interrupt
    over and raises its own ``InterruptException``, an ordinary exception: it is handed back to
    Dagster as the interrupt it was, so the step stops, is not retried, and the run ends canceled.
    """
    try:
        yield
    except (dg.Failure, dg.RetryRequested):
        raise
    except duckdb.InterruptException as interrupt:
        raise dg.DagsterExecutionInterruptedError() from interrupt
    except Exception as error:
        cause = transient_cause(error)
        if cause is not None and retry_number < WRITER_RETRIES:
            raise retry_later(retry_number) from error
        raise final_failure(error, cause, retry_number) from error


def retry_or_fail(retry_number: int, fault: str) -> dg.RetryRequested | dg.Failure:
    """For a step that met a transient ``fault`` (described) without an exception of its own: a retry
    while there are some left, then a failure that names the fault."""
    if retry_number < WRITER_RETRIES:
        return retry_later(retry_number)
    return dg.Failure(description=f"{fault}, and still after {retry_number} retries", allow_retries=False)


def final_failure(error: BaseException, cause: str | None, attempts: int) -> dg.Failure:
    """The step's last word on ``error``: its cause first when it was a transient fault that outlasted
    the retries (``attempts`` made before this one)."""
    detail = f"{type(error).__name__}: {error}"
    if cause is not None:
        detail = f"{cause}, and still after {attempts} retries: {detail}"
    return dg.Failure(description=detail, allow_retries=False)


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse (a DuckDB file, or a DuckLake), with production write-protected.

    A process whose ``env`` is not prod may read any warehouse but writes none that is production:
    neither prod's file or lake catalog nor one whose recorded environment is prod (a copy, a
    mistaken setting). The check runs before anything is written, and dbt is held to it too. On
    the lake, PostgreSQL enforces it as well: dev and test reach prod's catalog only through a role
    that can only read.
    """

    path: str  # the file backend's DuckDB file
    env: str = "dev"
    prod_path: str | None = None
    backend: str = FILE_BACKEND
    # The lake backend; secrets are dg.EnvVar, resolved when connecting.
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
    lake_writers: int = 1
    lake_lock_timeout_seconds: float = 60.0
    lake_build_wait_seconds: float = 600.0

    @classmethod
    def for_settings(cls, settings: Settings, path: Path | None = None) -> WarehouseResource:
        """This environment's warehouse (or the file at ``path``), guarded by its env and prod's location.

        The one way code builds it from settings, so the guard's inputs are never left out.
        """
        lake: dict[str, object] = {}
        if settings.backend == LAKE_BACKEND:
            # Prod's own lake is its catalog; dev and test reach it through a read-only role.
            own = settings.env == PROD
            lake = {
                "lake_catalog": settings.lake_catalog,
                "lake_data_path": settings.lake_data_path,
                "lake_password": _env_var(LAKE_PASSWORD_VARIABLE, settings.lake_catalog_password),
                "prod_lake_catalog": settings.lake_catalog if own else settings.prod_lake_catalog,
                "prod_lake_data_path": settings.lake_data_path if own else settings.prod_lake_data_path,
                "prod_lake_password": _env_var(LAKE_PASSWORD_VARIABLE, settings.lake_catalog_password)
                if own
                else _env_var(PROD_LAKE_PASSWORD_VARIABLE, settings.prod_lake_catalog_password),
                "s3_endpoint": settings.s3_endpoint,
                "s3_region": settings.s3_region,
                "s3_access_key_id": settings.s3_access_key_id,
                "s3_secret_access_key": _env_var(S3_SECRET_VARIABLE, settings.s3_secret_access_key),
                "s3_url_style": settings.s3_url_style,
                "s3_use_ssl": settings.s3_use_ssl,
                "extension_dir": str(settings.duckdb_extension_dir),
                "lake_writers": settings.lake_writers,
                "lake_lock_timeout_seconds": settings.lake_lock_timeout_seconds,
                "lake_build_wait_seconds": settings.lake_build_wait_seconds,
            }
        return cls(
            path=str(path or settings.warehouse),
            env=settings.env,
            prod_path=str(settings.prod_warehouse),
            backend=settings.backend,
            **lake,
        )

    def chosen(self) -> Warehouse:
        """The configured backend (cheap to build: it connects only when a session is opened)."""
        if self.backend != LAKE_BACKEND:
            return FileWarehouse(Path(self.path), self.env, Path(self.prod_path) if self.prod_path else None)
        assert self.lake_catalog is not None and self.lake_data_path is not None, "set by for_settings"
        assert self.extension_dir is not None, "set by for_settings"
        prod = None
        if self.prod_lake_catalog is not None and self.prod_lake_data_path is not None:
            prod = LakeLocation(
                self.prod_lake_catalog,
                self.prod_lake_data_path,
                _secret(self.prod_lake_password),
                setting="DATAOPS_PROD_LAKE_CATALOG",
                data_setting="DATAOPS_PROD_LAKE_DATA_PATH",
                lock_timeout_seconds=self.lake_lock_timeout_seconds,
            )
        return LakeWarehouse(
            lake=LakeLocation(
                self.lake_catalog,
                self.lake_data_path,
                _secret(self.lake_password),
                lock_timeout_seconds=self.lake_lock_timeout_seconds,
            ),
            env=self.env,
            extension_dir=Path(self.extension_dir),
            prod_lake=prod,
            store=self._object_store(),
            writers=self.lake_writers,
            build_wait_seconds=self.lake_build_wait_seconds,
        )

    def _object_store(self) -> ObjectStore | None:
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

    # The seam's methods, handed on (warehouse/backend.py says what each does).
    @property
    def catalog(self) -> str:
        return self.chosen().catalog

    @property
    def location(self) -> str:
        return self.chosen().location

    @property
    def lineage_namespace(self) -> str:
        return self.chosen().lineage_namespace

    @property
    def prod_location(self) -> str:
        return self.chosen().prod_location

    @property
    def readers_need_a_copy(self) -> bool:
        return self.chosen().readers_need_a_copy

    def at(self, path: Path) -> Warehouse:
        return self.chosen().at(path)

    def exists(self) -> bool:
        return self.chosen().exists()

    def read_only(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self.chosen().read_only()

    def writer(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self.chosen().writer()

    def assert_writable(self) -> None:
        self.chosen().assert_writable()

    def build_lock(self, holder: str, waiting: Callable[[str], None] | None = None) -> AbstractContextManager[None]:
        return self.chosen().build_lock(holder, waiting)

    def publish_reader_copy(self) -> Path | None:
        return self.chosen().publish_reader_copy()

    def restoring(self, catalog: str | None) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self.chosen().restoring(catalog)

    def housekeeping(self, snapshots_before: datetime, files_before: datetime) -> list[Housekeeping]:
        return self.chosen().housekeeping(snapshots_before, files_before)

    def clean_house(self, snapshots_before: datetime, files_before: datetime) -> list[str]:
        return self.chosen().clean_house(snapshots_before, files_before)

    def pools(self) -> WriterPools:
        return self.chosen().pools()

    def dbt_vars(self) -> dict[str, str]:
        return self.chosen().dbt_vars()

    def prepare_for_dbt(self) -> None:
        self.chosen().prepare_for_dbt()

    @property
    def slim_ci_target(self) -> str:
        return self.chosen().slim_ci_target

    def slim_ci_vars(self) -> dict[str, str]:
        return self.chosen().slim_ci_vars()


def _env_var(name: str, value: SecretStr | None) -> dg.EnvVar | None:
    """The variable that holds a secret the settings found, by name: Dagster resolves it in the run."""
    return dg.EnvVar(name) if value is not None else None


def _secret(value: str | None) -> str | None:
    """A secret field's value: Dagster resolves dg.EnvVar in runs; code outside a run does it here."""
    return value.get_value() if isinstance(value, dg.EnvVar) else value
