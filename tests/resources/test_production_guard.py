"""Only the prod environment writes the production warehouse; everyone may read it."""

import shutil

import duckdb
import pytest

from resources.warehouse import ProductionWriteError, WarehouseResource, is_transient


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
