"""The lake backend: a DuckLake, its catalog in PostgreSQL and its data files in a folder or a bucket.

Every session attaches the same DuckLake (warehouse/ducklake.py); writers commit optimistically and
readers see a consistent snapshot, never a lock, so readers read the lake itself and loads run side
by side. A commit that conflicts with a concurrent one is redone (warehouse/transactions.py).

Quarantined rows hold records' contents, which readers of the published data must not reach. So
on the lake they are a DuckLake of their own (``quarantine_lake``): its tables in a PostgreSQL schema
of the same catalog database, where the readers' role (deploy/postgres/lake_reader.sql) has no
privilege, and its files beside the lake's, not under them. The pipeline's sessions on their own
lake attach it as catalog ``quarantine``, so ``quarantine.orders`` means what it means in a file.

Sessions are cursors of one DuckDB instance per process and attachment: a new instance verifies
the signatures of the DuckLake and PostgreSQL extensions and attaches the catalog again, a fraction
of a second that a run would pay for each of its dozens of sessions. Each session still begins its
own transactions, and DuckLake reads the catalog's latest snapshot at each, so what other processes
committed is seen. A session that ends in an error drops the instances (``forget_shared_lakes``):
the next session attaches afresh. Only the most recently used are kept, as each holds connections
to its catalog's database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse import catalog_passwords
from warehouse.backend import Housekeeping, WarehouseExistsError, WriterPools, quiet
from warehouse.build_lock import build_lock
from warehouse.catalog import is_attached_catalog
from warehouse.ducklake import (
    S3_SETTINGS,
    LakeConnectionError,
    LakeLocation,
    LakeNotCreatedError,
    ObjectStore,
    attach,
    catalog_address,
    describe,
    install_extensions,
    open_transactions,
    same_catalog,
)
from warehouse.environment import guard_writes, open_as_writer, recorded_environment, refuse_production_write
from warehouse.faults import Cause, cause_of
from warehouse.lake_settings import is_object_storage
from warehouse.layout import QUARANTINE
from warehouse.transactions import transaction

LOAD_POOL = "lake_load"
TRANSFORM_POOL = "lake_transform"
MAINTENANCE_POOL = "lake_maintenance"
IS_PROD_LAKE = "it is the production lake's catalog (DATAOPS_PROD_LAKE_CATALOG)"
# Slim CI's dbt targets (dbt_project/profiles.yml); with the store's secret when either lake's files
# are on an S3-compatible store.
SLIM_LAKE_TARGET = "slim_ci_lake"
SLIM_LAKE_S3_TARGET = "slim_ci_lake_s3"
# DuckLake's functions that delete the files it no longer needs, and what such a file is.
FILE_CLEANUPS = (
    ("ducklake_cleanup_old_files", "used only by expired snapshots"),
    ("ducklake_delete_orphaned_files", "in the data path, known to no snapshot"),
)

# Where quarantine's DuckLake keeps its tables in the catalog database (readers have no privilege on it).
QUARANTINE_METADATA_SCHEMA = "quarantine"
QUARANTINE_DATA_SUFFIX = "-quarantine"

SHARED_LAKES_KEPT = 4
_SHARED_LAKES: OrderedDict[tuple[object, ...], duckdb.DuckDBPyConnection] = OrderedDict()
_SHARED_LAKES_LOCK = threading.Lock()


def forget_shared_lakes() -> None:
    """Attach anew at the next session. An instance closes (and leaves its catalog's database) once
    no session is open on it; sessions open now keep theirs until they close."""
    with _SHARED_LAKES_LOCK:
        _SHARED_LAKES.clear()


def quarantine_lake(lake: LakeLocation) -> LakeLocation:
    """The DuckLake that holds ``lake``'s quarantined rows: same catalog database, its own PostgreSQL
    schema, its files in a folder beside the lake's (never under it: the lake's clean-up deletes files
    there that it does not know)."""
    return replace(
        lake,
        data_path=lake.data_path.rstrip("/") + QUARANTINE_DATA_SUFFIX + "/",
        metadata_schema=QUARANTINE_METADATA_SCHEMA,
    )


def _move_old_quarantine(connection: duckdb.DuckDBPyConnection, alias: str) -> None:
    """A lake made when quarantine was one of its schemas: move those tables into quarantine's own
    lake, table by table (a transaction writes one catalog: copy, then drop; a copy a crash left
    behind is made again from the original, which is dropped only after)."""
    tables = [
        name
        for (name,) in connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ?", [alias, QUARANTINE]
        ).fetchall()
    ]
    for table in tables:
        connection.execute(f'DROP TABLE IF EXISTS {QUARANTINE}.main."{table}"')
        connection.execute(
            f'CREATE TABLE {QUARANTINE}.main."{table}" AS SELECT * FROM "{alias}".{QUARANTINE}."{table}"'
        )
        connection.execute(f'DROP TABLE "{alias}".{QUARANTINE}."{table}"')
    [(schemas,)] = connection.execute(
        "SELECT count(*) FROM duckdb_schemas() WHERE database_name = ? AND schema_name = ?", [alias, QUARANTINE]
    ).fetchall()
    if schemas:
        connection.execute(f'DROP SCHEMA "{alias}".{QUARANTINE}')


@contextmanager
def _session(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``connection`` for the block, closed after it; an error in it drops the shared instances."""
    try:
        yield connection
    except BaseException:
        forget_shared_lakes()
        raise
    finally:
        connection.close()


@dataclass(frozen=True)
class LakeWarehouse:
    """This environment's lake (``lake``), attached as catalog ``env``; prod's reached read-only."""

    lake: LakeLocation
    env: str
    extension_dir: Path
    prod_lake: LakeLocation | None = None
    store: ObjectStore | None = None
    writers: int = 1  # loads at once (DATAOPS_LAKE_WRITERS)
    build_wait_seconds: float = 600.0  # for another instance's build (DATAOPS_LAKE_BUILD_WAIT_SECONDS)

    @property
    def catalog(self) -> str:
        """The environment's name, so prod's is "prod" on both backends."""
        return self.env

    @property
    def location(self) -> str:
        return f"lake {self.catalog} (catalog {describe(self.lake.catalog)}, data {self.lake.data_path})"

    @property
    def lineage_namespace(self) -> str:
        return f"ducklake://{catalog_address(self.lake.catalog)}"

    @property
    def prod_location(self) -> str:
        return str(self.prod_lake.catalog) if self.prod_lake else "(DATAOPS_PROD_LAKE_CATALOG not set)"

    @property
    def readers_need_a_copy(self) -> bool:
        return False  # readers see a snapshot and never block a writer

    def at(self, path: Path) -> LakeWarehouse:
        raise ValueError(
            f"{path} is a file; a lake lives in its catalog's database: restore into an empty one "
            "(DATAOPS_LAKE_CATALOG)"
        )

    def _prod(self) -> LakeLocation:
        if self.prod_lake is None:
            raise LakeConnectionError(
                "prod's lake is not configured: set DATAOPS_PROD_LAKE_CATALOG (a read-only role) "
                "and DATAOPS_PROD_LAKE_DATA_PATH"
            )
        return self.prod_lake

    def _attached_instance(
        self, lake: LakeLocation, alias: str, read_only: bool, quarantine: bool = True
    ) -> duckdb.DuckDBPyConnection:
        install_extensions(self.extension_dir)
        # No cache of the lake's files: a shared instance outlives its sessions, and what a run
        # read would stay in the worker's memory.
        connection = duckdb.connect(
            config={"extension_directory": str(self.extension_dir), "enable_external_file_cache": False}
        )
        try:
            quiet(connection)
            attach(connection, lake, alias, read_only=read_only, store=self.store)
            if quarantine and lake == self.lake:
                self._attach_quarantine(connection, alias, read_only)
        except BaseException:
            connection.close()
            raise
        return connection

    def _attach_quarantine(self, connection: duckdb.DuckDBPyConnection, alias: str, read_only: bool) -> None:
        """Attach this lake's quarantine (``quarantine_lake``) beside it, unless it is already; a
        read-only session of a lake that has none yet goes without (a later session attaches it)."""
        if is_attached_catalog(connection, QUARANTINE) or alias == QUARANTINE:
            return
        try:
            attach(connection, quarantine_lake(self.lake), QUARANTINE, read_only=read_only, store=self.store)
        except LakeNotCreatedError:
            if read_only:
                return
            raise
        if not read_only:
            _move_old_quarantine(connection, alias)

    def _session_on(
        self, lake: LakeLocation, alias: str, read_only: bool, shared: bool = True, quarantine: bool = True
    ) -> duckdb.DuckDBPyConnection:
        """A DuckDB session with ``lake`` attached as ``alias``, its default catalog (and, on this
        environment's own lake, its quarantine's lake beside it unless ``quarantine`` is False)."""
        if not shared:
            session = self._attached_instance(lake, alias, read_only, quarantine)
        else:
            key = (lake, alias, read_only, quarantine, self.extension_dir, self.store)
            with _SHARED_LAKES_LOCK:
                kept = _SHARED_LAKES.pop(key, None)
                instance = kept or self._attached_instance(lake, alias, read_only, quarantine)
                if kept is not None and quarantine and read_only and lake == self.lake:
                    # Made before any write had made quarantine's lake: attach it once there is one.
                    self._attach_quarantine(instance, alias, read_only)
                _SHARED_LAKES[key] = instance  # the most recently used last
                while len(_SHARED_LAKES) > SHARED_LAKES_KEPT:
                    _SHARED_LAKES.popitem(last=False)
                session = quiet(instance.cursor())
        try:
            session.execute(f"USE {alias}")
        except BaseException:
            session.close()
            raise
        return session

    def exists(self) -> bool:
        try:
            connection = self._session_on(self.lake, self.catalog, read_only=True)
        except LakeNotCreatedError:
            return False
        with _session(connection):
            return recorded_environment(connection) is not None

    @contextmanager
    def read_only(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with _session(self._session_on(self.lake, self.catalog, read_only=True)) as connection:
            yield connection

    def _prod_why(self) -> str | None:
        is_prod = self.prod_lake is not None and same_catalog(self.lake.catalog, self.prod_lake.catalog)
        return IS_PROD_LAKE if is_prod else None

    def assert_writable(self) -> None:
        guard_writes(self, self._prod_why())

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        refuse_production_write(self.env, self.location, self._prod_why(), None)
        with _session(self._session_on(self.lake, self.catalog, read_only=False)) as connection:
            open_as_writer(connection, self.env, self.location)
            yield connection

    def build_lock(self, holder: str, waiting: Callable[[str], None] | None = None) -> AbstractContextManager[None]:
        return build_lock(self.lake, holder, self.build_wait_seconds, waiting)

    def publish_reader_copy(self) -> None:
        return None

    @contextmanager
    def restoring(self, catalog: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writable session on this (empty) lake attached as ``catalog``, in one transaction:
        a failed import leaves the lake empty."""
        if self.exists():
            raise WarehouseExistsError(
                f"{self.location} already holds a warehouse; a restore writes an empty lake only "
                "(point DATAOPS_LAKE_CATALOG at a new database, or drop the damaged one)"
            )
        refuse_production_write(self.env, self.location, self._prod_why(), None)
        # Without quarantine's lake: a transaction writes one catalog; backup.py restores it after.
        connection = self._session_on(
            self.lake, catalog or self.catalog, read_only=False, shared=False, quarantine=False
        )
        try:
            with transaction(connection):
                yield connection
        finally:
            connection.close()

    def housekeeping(self, snapshots_before: datetime, files_before: datetime) -> list[Housekeeping]:
        """A dry run of DuckLake's own clean-up: expired snapshots, and files no live snapshot needs."""
        if not self.exists():
            return []
        found = []
        # A writable session even for the dry run: DuckLake's orphan search refuses a read-only one.
        with self.writer() as connection:
            for catalog in self._lakes(connection):
                [(expired,)] = connection.execute(
                    "SELECT count(*) FROM ducklake_expire_snapshots(?, dry_run => true, older_than => ?)",
                    [catalog, snapshots_before],
                ).fetchall()
                if expired:
                    taken = f"{snapshots_before:%Y-%m-%d %H:%M}"
                    reason = f"{expired} snapshot(s) taken before {taken} (time travel keeps the rest)"
                    found.append(Housekeeping("lake snapshots", catalog, reason))
                for function, reason in FILE_CLEANUPS:
                    paths = connection.execute(
                        f"SELECT * FROM {function}(?, dry_run => true, older_than => ?)", [catalog, files_before]
                    ).fetchall()
                    for (path,) in paths:
                        size = Path(path).stat().st_size if Path(path).is_file() else 0  # 0: on object storage
                        found.append(Housekeeping("lake file", path, reason, size))
        return found

    def _lakes(self, connection: duckdb.DuckDBPyConnection) -> list[str]:
        """The lake and its quarantine's lake, as attached on ``connection`` (a writer's)."""
        return [self.catalog, *([QUARANTINE] if is_attached_catalog(connection, QUARANTINE) else [])]

    def clean_house(self, snapshots_before: datetime, files_before: datetime) -> list[str]:
        """Expire old snapshots, then delete the files DuckLake no longer needs (its own functions).

        Each part waits for the catalog's locks at most the lock timeout; a part that cannot get them
        (a reader's transaction left open, say) is given up on and named with the sessions that hold
        transactions open in the catalog, and the other parts go on.
        """
        skipped = []
        with self.writer() as connection:
            for catalog in self._lakes(connection):
                parts = [("ducklake_expire_snapshots", snapshots_before)]
                parts += [(function, files_before) for function, _ in FILE_CLEANUPS]
                for function, before in parts:
                    try:
                        connection.execute(f"CALL {function}(?, older_than => ?)", [catalog, before])
                    except duckdb.Error as error:
                        if cause_of(str(error)) != Cause.CATALOG_LOCKED:
                            raise
                        skipped.append(
                            f"{function} on {catalog}: gave up after waiting {self.lake.lock_timeout_seconds:g} s "
                            f"for the catalog's locks; {open_transactions(connection, self.lake)}"
                        )
        return skipped

    def pools(self) -> WriterPools:
        """Loads of different days commit side by side; two builds of the same models would replace
        the same tables and fail each other's commit, and maintenance expires what others read."""
        limits = {LOAD_POOL: self.writers, TRANSFORM_POOL: 1, MAINTENANCE_POOL: 1}
        return WriterPools(LOAD_POOL, TRANSFORM_POOL, MAINTENANCE_POOL, limits)

    def dbt_vars(self) -> dict[str, str]:
        catalog_passwords.register(self.lake.catalog, self.lake.password)  # dbt's libpq reads it there
        variables = {
            "lake_catalog": self.lake.connect_with,
            "lake_data_path": self.lake.data_path,
            "lake_alias": self.catalog,
            "extension_dir": str(self.extension_dir),
        }
        if self.store is not None:  # the lake_s3 target; its secret key is an environment variable
            variables |= {
                "s3_access_key_id": self.store.access_key_id,
                "s3_region": self.store.region,
                "s3_endpoint": self.store.endpoint or "s3.amazonaws.com",
                "s3_url_style": self.store.url_style,
                "s3_use_ssl": "true" if self.store.use_ssl else "false",
            }
        return variables

    def prepare_for_dbt(self) -> None:
        """Install the packaged extensions where dbt's DuckDB looks (it cannot download them)."""
        install_extensions(self.extension_dir)

    @property
    def slim_ci_target(self) -> str:
        paths = (self.lake.data_path, self.prod_lake.data_path if self.prod_lake else "")
        return SLIM_LAKE_S3_TARGET if any(is_object_storage(path) for path in paths) else SLIM_LAKE_TARGET

    def slim_ci_vars(self) -> dict[str, str]:
        prod = self._prod()
        remote = [path for path in (self.lake.data_path, prod.data_path) if is_object_storage(path)]
        if remote and self.store is None:
            raise LakeConnectionError(f"{' and '.join(remote)}: set {S3_SETTINGS} to a key that can read them")
        catalog_passwords.register(prod.catalog, prod.password)
        return {**self.dbt_vars(), "prod_lake_catalog": prod.connect_with, "prod_lake_data_path": prod.data_path}
