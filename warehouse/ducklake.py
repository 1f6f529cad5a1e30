"""Opening a DuckLake warehouse: catalog in PostgreSQL, data files in a folder or an S3 bucket.

The one place that knows how a DuckDB session reaches the lake. Every process (asset, dbt, CLI,
benchmark) attaches the same way: load the packaged extensions, register the object store's
credentials, then ``ATTACH 'ducklake:postgres:<conninfo>' AS <catalog>``. Many such sessions on
many machines may write at once; DuckLake resolves their commits in the catalog's database.

Nothing is downloaded at run time: the extensions come from PyPI packages locked with DuckDB
(``duckdb-extension-*``), installed from their files into ``extension_directory`` once.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
import uuid
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import duckdb

from warehouse import catalog_passwords
from warehouse.backend import WarehouseConnectionError
from warehouse.faults import cause_of
from warehouse.lake_settings import conninfo_pairs, is_object_storage

# Package of each extension the lake needs (postgres_scanner: the catalog; httpfs: s3:// paths).
EXTENSION_PACKAGES = {
    "ducklake": "duckdb_extension_ducklake",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "httpfs": "duckdb_extension_httpfs",
}
S3_SECRET = "dataops_lake_s3"
# Writers that start together on a new lake all try to create its catalog; the losers attach again.
CREATE_ATTEMPTS = 6
# What each setting is called where a user sets it: errors name these.
CATALOG_SETTING = "DATAOPS_LAKE_CATALOG"
DATA_PATH_SETTING = "DATAOPS_LAKE_DATA_PATH"
S3_SETTINGS = "DATAOPS_S3_ENDPOINT / DATAOPS_S3_ACCESS_KEY_ID / DATAOPS_S3_SECRET_ACCESS_KEY"


class LakeConnectionError(WarehouseConnectionError):
    """The lake cannot be reached or written: a setting to fix, named in the message."""


class LakeNotCreatedError(LakeConnectionError):
    """Read-only attach of a lake that no writer has created yet (nothing loaded so far)."""


def redact(text: str) -> str:
    """``text`` without the password DuckDB echoes back from the conninfo in its errors."""
    return re.sub(r"password=\S+?(?=[\s\"']|$)", "password=***", text)


@dataclass(frozen=True)
class ObjectStore:
    """An S3-compatible store (AWS, MinIO, a local test server) for ``s3://`` data paths."""

    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"
    endpoint: str | None = None  # host:port; None is AWS
    url_style: str = "path"
    use_ssl: bool = True


@dataclass(frozen=True)
class LakeLocation:
    """One DuckLake: where its catalog is, who connects, where its files go."""

    catalog: str  # libpq key=value conninfo without the password, e.g. "host=db dbname=lake_prod user=pipeline"
    data_path: str  # a folder or s3://bucket/prefix/
    password: str | None = None
    setting: str = CATALOG_SETTING  # the setting that named this catalog (for error messages)
    data_setting: str = DATA_PATH_SETTING
    # The PostgreSQL schema of DuckLake's own tables (DuckLake's METADATA_SCHEMA); None: its default.
    metadata_schema: str | None = None
    # How long a catalog statement waits for another session's lock before it fails (DATAOPS_LAKE_LOCK_TIMEOUT_SECONDS).
    lock_timeout_seconds: float = 60.0

    @property
    def connect_with(self) -> str:
        """The conninfo sessions use: the catalog's, with PostgreSQL's ``lock_timeout`` set for every
        statement, so that nothing waits forever behind a transaction left open (unless the catalog's
        own DSN sets ``options``, which then is the user's to set)."""
        if "options" in conninfo_pairs(self.catalog):
            return self.catalog
        return f"{self.catalog} options=--lock_timeout={round(self.lock_timeout_seconds * 1000)}"

    @property
    def is_remote(self) -> bool:
        return is_object_storage(self.data_path)


def _place(conninfo: str) -> tuple[str, str, str | None]:
    """(host, port, dbname) of a conninfo, with libpq's defaults."""
    pairs = conninfo_pairs(conninfo)
    return pairs.get("host", "localhost"), pairs.get("port", "5432"), pairs.get("dbname")


def same_catalog(conninfo: str, other: str) -> bool:
    """Whether two DSNs name one catalog database (whoever connects: a read-only role is the same lake)."""
    return _place(conninfo) == _place(other)


def catalog_address(conninfo: str) -> str:
    """``host:port/dbname`` of the catalog: which lake this is, whoever connects to it."""
    host, port, dbname = _place(conninfo)
    return f"{host}:{port}/{dbname}"


def describe(conninfo: str) -> str:
    """``user@host:port/dbname`` of a conninfo, for messages (it never holds the password)."""
    return f"{conninfo_pairs(conninfo).get('user', '?')}@{catalog_address(conninfo)}"


def _missing_extensions(extension_dir: Path) -> list[str]:
    # DuckDB installs into <dir>/v<version>/<platform>/<name>.duckdb_extension.
    installed = extension_dir / f"v{duckdb.__version__}"
    return [name for name in EXTENSION_PACKAGES if not any(installed.glob(f"*/{name}.duckdb_extension"))]


def install_extensions(extension_dir: Path) -> None:
    """Install the packaged extensions into ``extension_dir`` once (idempotent, safe across processes)."""
    if not _missing_extensions(extension_dir):
        return
    extension_dir.mkdir(parents=True, exist_ok=True)
    with (extension_dir / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two first runs at once must not copy over each other
        connection = duckdb.connect(config={"extension_directory": str(extension_dir)})
        try:
            for name in _missing_extensions(extension_dir):  # again: another process may have done it
                package = EXTENSION_PACKAGES[name]
                root = Path(import_module(package).__file__ or "").parent
                [binary] = root.rglob(f"{name}.duckdb_extension")
                connection.execute(f"INSTALL '{binary}'")
        finally:
            connection.close()


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def create_s3_secret(connection: duckdb.DuckDBPyConnection, store: ObjectStore) -> None:
    options = [
        "TYPE S3",
        f"KEY_ID {_quote(store.access_key_id)}",
        f"SECRET {_quote(store.secret_access_key)}",
        f"REGION {_quote(store.region)}",
        f"URL_STYLE {_quote(store.url_style)}",
        f"USE_SSL {'true' if store.use_ssl else 'false'}",
    ]
    if store.endpoint:
        options.append(f"ENDPOINT {_quote(store.endpoint)}")
    connection.execute(f"CREATE OR REPLACE SECRET {S3_SECRET} ({', '.join(options)})")


def attach_sql(lake: LakeLocation, alias: str, read_only: bool) -> str:
    """The ATTACH statement; it never holds the password (warehouse/catalog_passwords.py)."""
    options = [f"DATA_PATH {_quote(lake.data_path)}"]
    if lake.metadata_schema is not None:
        options.append(f"METADATA_SCHEMA {_quote(lake.metadata_schema)}")
    if read_only:
        options.append("READ_ONLY")
    return f"ATTACH {_quote('ducklake:postgres:' + lake.connect_with)} AS {alias} ({', '.join(options)})"


def _explain(lake: LakeLocation, error: duckdb.Error) -> LakeConnectionError:
    """The catalog's failure in a user's terms: which setting, what went wrong (never the password)."""
    text = redact(str(error))
    where = f"the DuckLake catalog {describe(lake.catalog)} ({lake.setting})"
    lowered = text.lower()
    if "creating a new ducklake is explicitly disabled" in lowered:
        return LakeNotCreatedError(f"{where} holds no lake yet: materialise the raw assets first")
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        cause = f"PostgreSQL refused the credentials (check the user in {lake.setting} and its password variable)"
    elif "does not exist" in lowered and "database" in lowered:
        cause = "the database does not exist (create it, or fix dbname=)"
    elif "connection refused" in lowered or "could not translate host" in lowered or "timeout" in lowered:
        cause = "the server cannot be reached (is PostgreSQL running on that host and port?)"
    elif "permission denied" in lowered:
        cause = "the role may not do this (a read-only role can only read)"
    else:
        cause = "it could not be attached"
    detail = text.split("Unable to connect to Postgres at")[-1].strip()
    return LakeConnectionError(f"{where}: {cause}. PostgreSQL said: {detail.splitlines()[0]}")


# Data paths this process has shown writable. Probing before every writer would put a probe object
# in the bucket per load and a request on every load's path; a path that stops being writable later
# fails at DuckLake's own write, with the object store's error.
_writable: set[str] = set()


def check_data_path(connection: duckdb.DuckDBPyConnection, lake: LakeLocation) -> None:
    """Fail before anything is written if the data path cannot take files (once per process and path)."""
    if lake.data_path in _writable:
        return
    _check_data_path(connection, lake)
    _writable.add(lake.data_path)


def _check_data_path(connection: duckdb.DuckDBPyConnection, lake: LakeLocation) -> None:
    if lake.is_remote:
        probe = f"{lake.data_path.rstrip('/')}/_write_probe/{uuid.uuid4().hex}.csv"
        try:
            connection.execute(f"COPY (SELECT 1 AS probe) TO {_quote(probe)} (FORMAT csv)")
        except duckdb.Error as error:
            said = str(error).strip().splitlines()[0]
            cause = cause_of(said)
            if cause is not None:  # down or unreachable: say so, not that the key is wrong
                raise LakeConnectionError(f"{cause} ({lake.data_path}, {lake.data_setting}): {said}") from error
            raise LakeConnectionError(
                f"the lake's data path {lake.data_path} ({lake.data_setting}) cannot be written "
                f"with the object store's credentials ({S3_SETTINGS}): {said}"
            ) from error
        return
    folder = Path(lake.data_path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe_file = folder / f".write-probe-{uuid.uuid4().hex}"
        probe_file.write_bytes(b"")
        probe_file.unlink()
    except OSError as error:
        raise LakeConnectionError(
            f"the lake's data path {lake.data_path} ({lake.data_setting}) cannot be written: {error.strerror or error}"
        ) from error
    if not os.access(folder, os.W_OK):
        raise LakeConnectionError(f"the lake's data path {lake.data_path} ({lake.data_setting}) is not writable")


def attach(
    connection: duckdb.DuckDBPyConnection,
    lake: LakeLocation,
    alias: str,
    read_only: bool,
    store: ObjectStore | None,
) -> None:
    """Attach ``lake`` as catalog ``alias`` on ``connection`` (extensions already installed)."""
    if lake.is_remote:
        if store is None:
            raise LakeConnectionError(
                f"the lake's data path {lake.data_path} ({lake.data_setting}) is on object storage, "
                f"but no object store is configured ({S3_SETTINGS})"
            )
        create_s3_secret(connection, store)
    if not read_only:
        check_data_path(connection, lake)
    catalog_passwords.register(lake.catalog, lake.password)
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            connection.execute(attach_sql(lake, alias, read_only))
            return
        except duckdb.Error as error:
            if not _lost_creation_race(error) or attempt == CREATE_ATTEMPTS:
                raise _explain(lake, error) from error
            time.sleep(0.25 * attempt)  # the process that won is creating the catalog's tables


def _lost_creation_race(error: duckdb.Error) -> bool:
    """Another process created the catalog's tables at the same moment (the first runs of a new lake)."""
    text = str(error)
    return "Failed to initialize DuckLake" in text and "already exists" in text


def open_transactions(connection: duckdb.DuckDBPyConnection, lake: LakeLocation) -> str:
    """Who holds transactions open in ``lake``'s catalog database since before a lock wait that just
    timed out began, for a message (through DuckDB's PostgreSQL extension, on a connection of its own
    that reads ``pg_stat_activity``)."""
    alias = f"sessions_{uuid.uuid4().hex[:8]}"
    sessions = "SELECT pid, usename, application_name, state, xact_start FROM pg_stat_activity"
    sessions += " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
    sessions += f" AND xact_start < now() - interval '{lake.lock_timeout_seconds:g} seconds' ORDER BY xact_start"
    try:
        connection.execute(f"ATTACH {_quote(lake.connect_with)} AS {alias} (TYPE postgres, READ_ONLY)")
        try:
            rows = connection.execute(f"SELECT * FROM postgres_query({_quote(alias)}, {_quote(sessions)})").fetchall()
        finally:
            connection.execute(f"DETACH {alias}")
    except duckdb.Error as error:
        return f"the sessions holding them could not be listed ({str(error).splitlines()[0]})"
    if not rows:
        return "no session holds a transaction open now (try again)"
    held = [
        f"pid {pid} (user {user}, {application or 'no application name'}, {state} since {start:%Y-%m-%d %H:%M:%S})"
        for pid, user, application, state, start in rows
    ]
    return "transactions open in the catalog: " + "; ".join(held)
