"""Only the prod environment writes the production warehouse; everyone may read it."""

import shutil

import duckdb
import pytest

from config.settings import PROD_LAKE_PASSWORD_VARIABLE, Settings
from resources.warehouse import WarehouseResource, is_transient
from tests.support import postgres
from warehouse.ducklake import LakeConnectionError, LakeLocation, attach
from warehouse.environment import ProductionWriteError
from warehouse.lake import LakeWarehouse


def make_prod(path):
    """A production warehouse, as the prod pipeline creates it."""
    prod = WarehouseResource(path=str(path), env="prod", prod_path=str(path))
    with prod.writer() as connection:
        connection.execute("CREATE TABLE raw.published AS SELECT 42 AS answer")
    return path


def test_dev_may_not_write_the_prod_warehouse_but_may_read_it(tmp_path):
    prod_file = make_prod(tmp_path / "prod.duckdb")
    dev = WarehouseResource(path=str(prod_file), env="dev", prod_path=str(prod_file))
    with pytest.raises(ProductionWriteError, match=r"env='dev'.*production warehouse"), dev.writer():
        pass
    with pytest.raises(ProductionWriteError):
        dev.assert_writable()
    with dev.read_only() as connection:
        assert connection.execute("SELECT answer FROM raw.published").fetchall() == [(42,)]


def test_a_copy_of_prod_stays_protected_wherever_it_is(tmp_path):
    """A mistaken setting: dev's warehouse path points at a copy of prod, not the prod path."""
    prod_file = make_prod(tmp_path / "prod.duckdb")
    copy = tmp_path / "elsewhere" / "dev.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(prod_file, copy)
    dev = WarehouseResource(path=str(copy), env="test", prod_path=str(prod_file))
    with pytest.raises(ProductionWriteError, match="created by the prod pipeline"), dev.writer() as connection:
        connection.execute("DROP TABLE raw.published")  # never reached
    with duckdb.connect(str(copy), read_only=True) as connection:
        assert connection.execute("SELECT answer FROM raw.published").fetchall() == [(42,)]


def test_dev_writes_its_own_warehouse_and_it_records_dev(tmp_path):
    dev = WarehouseResource(path=str(tmp_path / "dev.duckdb"), env="dev", prod_path=str(tmp_path / "prod.duckdb"))
    with dev.writer() as connection:
        connection.execute("CREATE TABLE raw.scratch AS SELECT 1 AS x")
    dev.assert_writable()
    with dev.read_only() as connection:
        assert connection.execute("SELECT environment FROM meta.warehouse_environment").fetchall() == [("dev",)]
    assert not (tmp_path / "prod.duckdb").exists()


def test_the_prod_guard_is_never_retried():
    error = ProductionWriteError("dev", "/srv/prod.duckdb", "it is the production warehouse")
    assert isinstance(error, OSError) and not is_transient(error)


# The lake: dev and test reach prod's catalog through a role that PostgreSQL keeps read-only.
READER_PASSWORD = "reader-test-only"


def test_on_the_lake_postgresql_itself_refuses_a_write_from_dev_to_prod(
    tmp_path, postgres_server, lake_catalogs, monkeypatch
):
    prod_settings = Settings(env="prod", data_dir=tmp_path / "prod", **lake_catalogs())
    with WarehouseResource.for_settings(prod_settings).writer() as connection:
        connection.execute("CREATE TABLE raw.published AS SELECT range AS answer FROM range(1000)")
    prod_database = postgres.database_of(prod_settings.lake_catalog or "")
    reader_catalog = postgres.create_lake_reader(postgres_server, prod_database, READER_PASSWORD)
    monkeypatch.setenv(PROD_LAKE_PASSWORD_VARIABLE, READER_PASSWORD)
    dev_settings = Settings(
        env="dev",
        data_dir=tmp_path / "dev",
        **lake_catalogs(),
        prod_lake_catalog=reader_catalog,
        prod_lake_data_path=prod_settings.lake_data_path,
    )
    lake = WarehouseResource.for_settings(dev_settings).chosen()
    assert isinstance(lake, LakeWarehouse) and lake.prod_lake is not None
    # Dev reads prod's lake as its settings name it: through the reader role, read-only.
    reader = duckdb.connect(config={"extension_directory": str(dev_settings.duckdb_extension_dir)})
    attach(reader, lake.prod_lake, "prod", read_only=True, store=None)
    assert reader.execute("SELECT count(*) FROM prod.raw.published").fetchall() == [(1000,)]
    reader.close()

    # Past the project's guard and DuckLake's READ_ONLY: attach prod read-write with the reader role.
    session = duckdb.connect(config={"extension_directory": str(dev_settings.duckdb_extension_dir)})
    prod_as_reader = LakeLocation(reader_catalog, prod_settings.lake_data_path, READER_PASSWORD)
    with pytest.raises((LakeConnectionError, duckdb.Error)) as refused:
        attach(session, prod_as_reader, "prod", read_only=False, store=None)
        session.execute("INSERT INTO prod.raw.published VALUES (-1)")
    session.close()
    assert "permission denied" in str(refused.value).lower(), refused.value
    assert READER_PASSWORD not in str(refused.value)
    with WarehouseResource.for_settings(prod_settings).read_only() as connection:
        assert connection.execute("SELECT count(*), min(answer) FROM raw.published").fetchall() == [(1000, 0)]

    # And the project's own guard: a dev pipeline mistakenly pointed at prod's catalog.
    mistaken = dev_settings.model_copy(update={"lake_catalog": prod_settings.lake_catalog})
    with pytest.raises(ProductionWriteError, match="production lake's catalog"):
        WarehouseResource.for_settings(mistaken).assert_writable()
