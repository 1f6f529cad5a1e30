"""The fault table (warehouse/faults.py) against the real errors of a real catalog and object store.

Each fault is produced for real: a PostgreSQL server of this module's own is stopped and started
again, its connection slots are filled, and a local S3 server is paused and killed. The errors are
what DuckDB raises in a lake session; the table must name each, the retry decision must follow
from it, and no error may hold the catalog's password.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import dagster as dg
import duckdb
import psycopg2
import pytest

from resources.warehouse import WRITER_RETRIES, is_transient, retry_only_transient
from tests.support import object_store, postgres
from warehouse.ducklake import (
    LakeConnectionError,
    LakeLocation,
    ObjectStore,
    attach,
    check_data_path,
    create_s3_secret,
    install_extensions,
)
from warehouse.faults import Cause, cause_of

pytestmark = pytest.mark.integration

EXTENSIONS = Path(__file__).resolve().parents[2] / ".duckdb" / "extensions"


@pytest.fixture
def lake(own_postgres: tuple[Path, str], tmp_path: Path) -> LakeLocation:
    _, dsn = own_postgres
    database = postgres.create_database(dsn, "lake")
    return LakeLocation(postgres.conninfo(dsn, database), f"{tmp_path}/data/", password=postgres.PASSWORD)


def session(lake: LakeLocation) -> duckdb.DuckDBPyConnection:
    install_extensions(EXTENSIONS)
    connection = duckdb.connect(config={"extension_directory": str(EXTENSIONS)})
    attach(connection, lake, "lake", read_only=False, store=None)
    return connection


def raised_by(action) -> Exception:
    with pytest.raises(Exception) as raised:
        action()
    return raised.value


def assert_retried_then_named(error: Exception, cause: Cause) -> None:
    """A retry while retries are left, then a failure whose first words are the cause."""
    with pytest.raises(dg.RetryRequested), retry_only_transient(0):
        raise error
    with pytest.raises(dg.Failure) as final, retry_only_transient(WRITER_RETRIES):
        raise error
    assert final.value.description.startswith(f"{cause}, and still after {WRITER_RETRIES} retries")


def test_a_stopped_catalog_is_unreachable_retried_and_never_shows_the_password(own_postgres, lake):
    data_dir, _ = own_postgres
    connection = session(lake)
    connection.execute("CREATE TABLE lake.t AS SELECT 1 AS x")
    postgres.stop(data_dir)
    try:
        in_session = raised_by(lambda: connection.execute("INSERT INTO lake.t VALUES (2)"))
        at_attach = raised_by(lambda: session(lake))
    finally:
        postgres.start_again(data_dir)
    for error in (in_session, at_attach):
        assert cause_of(str(error)) == Cause.CATALOG_UNREACHABLE, error
        assert postgres.PASSWORD not in str(error)
        assert_retried_then_named(error, Cause.CATALOG_UNREACHABLE)
    assert isinstance(at_attach, LakeConnectionError)
    # The session outlives the restart: DuckDB reconnects, and the row the retry writes is there.
    connection.execute("INSERT INTO lake.t VALUES (2)")
    assert connection.execute("SELECT count(*) FROM lake.t").fetchone() == (2,)


def test_a_catalog_with_every_connection_taken_is_named_so(own_postgres, lake):
    _, dsn = own_postgres
    session(lake).close()  # the lake exists; what follows only needs a connection
    taken = []
    try:
        while True:
            try:
                taken.append(psycopg2.connect(dsn))
            except psycopg2.OperationalError:
                break
        error = raised_by(lambda: session(lake))
    finally:
        for connection in taken:
            connection.close()
    assert len(taken) > 10
    assert cause_of(str(error)) == Cause.CATALOG_CONNECTIONS_EXHAUSTED, error
    assert_retried_then_named(error, Cause.CATALOG_CONNECTIONS_EXHAUSTED)


def test_a_paused_or_stopped_object_store_is_unreachable_not_a_credentials_problem(tmp_path):
    with object_store.running(tmp_path / "moto.log") as store:
        store.create_bucket("faults")
        install_extensions(EXTENSIONS)
        connection = duckdb.connect(config={"extension_directory": str(EXTENSIONS)})
        connection.execute("LOAD httpfs")
        keys = (object_store.ACCESS_KEY_ID, object_store.SECRET_ACCESS_KEY)
        create_s3_secret(connection, ObjectStore(*keys, endpoint=store.endpoint, use_ssl=False))
        connection.execute("SET http_timeout = 2")  # seconds; the default is half a minute per try
        connection.execute("SET http_retries = 0")
        connection.execute("COPY (SELECT 1 AS x) TO 's3://faults/x.parquet'")
        assert store.pid is not None
        os.kill(store.pid, signal.SIGSTOP)
        paused = raised_by(lambda: connection.execute("SELECT * FROM 's3://faults/x.parquet'").fetchall())
        os.kill(store.pid, signal.SIGKILL)
        stopped = raised_by(lambda: connection.execute("COPY (SELECT 1 AS x) TO 's3://faults/y.parquet'"))
        # A writer's first check of its data path says the store is down, not that the key is wrong.
        probe = raised_by(lambda: check_data_path(connection, LakeLocation("dbname=lake", "s3://faults/lake/")))
    assert isinstance(probe, LakeConnectionError) and "credentials" not in str(probe)
    assert str(probe).startswith(Cause.OBJECT_STORE_UNREACHABLE)
    for error in (paused, stopped, probe):
        assert cause_of(str(error)) == Cause.OBJECT_STORE_UNREACHABLE, error
        assert object_store.SECRET_ACCESS_KEY not in str(error)
        assert_retried_then_named(error, Cause.OBJECT_STORE_UNREACHABLE)


def test_what_a_retry_cannot_fix_is_no_fault(own_postgres, lake):
    wrong_password = LakeLocation(lake.catalog, lake.data_path, password="not-the-password")
    refused = raised_by(lambda: session(wrong_password))
    missing = LakeLocation(lake.catalog.replace("dbname=", "dbname=no_such_"), lake.data_path, password=lake.password)
    no_database = raised_by(lambda: session(missing))
    no_column = raised_by(lambda: duckdb.connect().execute("SELECT no_such_column FROM range(1)"))
    for error in (refused, no_database, no_column):
        assert cause_of(str(error)) is None, error
        assert not is_transient(error)
    assert "not-the-password" not in str(refused)


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        # PostgreSQL's own words while it starts or stops (SQLSTATE 57P03 and 57P01), which a test
        # cannot catch reliably in the moment they last; and DuckLake's commit race.
        ("FATAL:  the database system is starting up", Cause.CATALOG_RESTARTING),
        ("FATAL:  the database system is shutting down", Cause.CATALOG_RESTARTING),
        ("FATAL:  terminating connection due to administrator command", Cause.CATALOG_RESTARTING),
        ("server closed the connection unexpectedly", Cause.CATALOG_UNREACHABLE),
        (
            "FATAL:  remaining connection slots are reserved for non-replication superuser connections",
            Cause.CATALOG_CONNECTIONS_EXHAUSTED,
        ),
        ("TransactionContext Error: Failed to commit: Transaction conflict", Cause.COMMIT_CONFLICT),
        ('IO Error: Could not set lock on file "prod.duckdb": Conflicting lock is held', Cause.WAREHOUSE_LOCKED),
    ],
)
def test_the_servers_own_words_name_their_fault(message: str, cause: Cause):
    assert cause_of(message) == cause
