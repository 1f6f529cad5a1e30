"""The lake backend's connection on a real PostgreSQL: it works, and each bad setting is named."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from config.settings import LAKE_PASSWORD_VARIABLE, PROJECT_ROOT, Settings
from resources.warehouse import WarehouseResource
from tests.support import postgres
from warehouse.ducklake import LakeConnectionError, redact
from warehouse.lake_settings import conninfo_problem


@pytest.fixture
def lake(tmp_path, lake_catalogs) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "data", **lake_catalogs())


def warehouse(settings: Settings, **changes: object) -> WarehouseResource:
    return WarehouseResource.for_settings(settings.model_copy(update=changes))


def test_a_new_lake_is_created_by_its_first_writer_and_read_by_others(lake):
    resource = WarehouseResource.for_settings(lake)
    assert not resource.exists(), "nothing is created by looking"
    with resource.writer() as connection:
        # Enough rows to be written as a file (DuckLake keeps a few rows inline in the catalog).
        connection.execute("CREATE TABLE raw.t AS SELECT range AS x FROM range(10000)")
    assert resource.exists()
    with resource.read_only() as connection:
        assert connection.execute("SELECT count(*), sum(x) FROM raw.t").fetchall() == [(10000, 49995000)]
        assert connection.execute("SELECT current_database()").fetchall() == [("test",)]
        with pytest.raises(Exception, match=r"read-only|read only"):
            connection.execute("INSERT INTO raw.t VALUES (2)")
    # The data is Parquet under the data path, the catalog in PostgreSQL.
    assert list((lake.data_dir / "lake" / "test").rglob("*.parquet"))


@pytest.mark.parametrize(
    ("change", "named", "cause"),
    [
        ({"dbname": "no_such_lake"}, "DATAOPS_LAKE_CATALOG", "the database does not exist"),
        ({"port": "1"}, "DATAOPS_LAKE_CATALOG", "the server cannot be reached"),
    ],
    ids=["unknown database", "unreachable server"],
)
def test_a_bad_catalog_setting_fails_naming_the_setting_and_the_cause(lake, change, named, cause):
    pairs = dict(pair.split("=") for pair in (lake.lake_catalog or "").split())
    catalog = " ".join(f"{key}={value}" for key, value in {**pairs, **change}.items())
    with pytest.raises(LakeConnectionError, match=cause) as raised, warehouse(lake, lake_catalog=catalog).writer():
        pass
    assert named in str(raised.value)
    assert postgres.PASSWORD not in str(raised.value), "the password never reaches a message"


def test_wrong_credentials_are_named_and_the_password_never_shown(lake, monkeypatch):
    monkeypatch.setenv(LAKE_PASSWORD_VARIABLE, "not-the-password")
    resource = WarehouseResource.for_settings(lake)
    with pytest.raises(LakeConnectionError, match="PostgreSQL refused the credentials") as raised, resource.writer():
        pass
    assert "not-the-password" not in str(raised.value)


def test_a_data_path_that_cannot_be_written_fails_before_anything_is_written(lake, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    resource = warehouse(lake, lake_data_path=str(blocked / "lake") + "/")
    with pytest.raises(LakeConnectionError, match=r"DATAOPS_LAKE_DATA_PATH.*cannot be written"), resource.writer():
        pass
    assert not WarehouseResource.for_settings(lake).exists(), "the catalog was not created"


def test_catalog_settings_are_checked_when_read():
    assert "key=value" in (conninfo_problem("postgresql://u:p@h/db") or "")
    assert "password" in (conninfo_problem("host=h dbname=d password=secret") or "")
    assert conninfo_problem("host=h dbname=lake user=u") is None
    with pytest.raises(ValueError, match="DATAOPS_LAKE_CATALOG holds a password"):
        Settings(backend="ducklake", lake_catalog="host=h dbname=d password=x")
    with pytest.raises(ValueError, match="backend=ducklake needs DATAOPS_LAKE_CATALOG"):
        Settings(backend="ducklake")
    assert redact('at "host=h password=s3cret dbname=x"') == 'at "host=h password=*** dbname=x"'


def test_a_lake_on_object_storage_writes_its_files_to_the_bucket(tmp_path, lake_catalogs, object_store):
    bucket = object_store.create_bucket("lake-on-s3")
    store = object_store.settings(bucket, "test")
    settings = Settings(env="test", data_dir=tmp_path / "data", **lake_catalogs(), **store)
    assert settings.dbt_target == "lake_s3"
    resource = WarehouseResource.for_settings(settings)
    with resource.writer() as connection:
        connection.execute("CREATE TABLE raw.t AS SELECT range AS x FROM range(10000)")
    with resource.read_only() as connection:
        assert connection.execute("SELECT count(*), sum(x) FROM raw.t").fetchall() == [(10000, 49995000)]
    assert any(key.startswith("test/raw/t/") and key.endswith(".parquet") for key in object_store.keys(bucket))
    assert not (tmp_path / "data" / "lake").exists(), "nothing on the local disk"


def test_a_bucket_that_cannot_be_written_is_named_before_anything_is_written(tmp_path, lake_catalogs, object_store):
    # (moto accepts any key, so a missing bucket stands for every refusal of the store.)
    store = object_store.settings("no-such-bucket", "test")
    settings = Settings(env="test", data_dir=tmp_path / "data", **lake_catalogs(), **store)
    resource = WarehouseResource.for_settings(settings)
    refused = r"s3://no-such-bucket/test/ \(DATAOPS_LAKE_DATA_PATH\) cannot be written"
    with pytest.raises(LakeConnectionError, match=refused), resource.writer():
        pass
    assert not resource.exists(), "the catalog was not created"


# Four writers that open a new lake at the same instant, each in its own process.
OPEN_TOGETHER = """
import sys, time
from config.settings import Settings
from resources.warehouse import WarehouseResource
settings = Settings(env="test", data_dir=sys.argv[1], backend="ducklake", lake_catalog=sys.argv[2])
warehouse = WarehouseResource.for_settings(settings)
while time.time() < float(sys.argv[3]):
    time.sleep(0.001)
with warehouse.writer() as session:
    assert session.sql("SELECT current_setting('enable_progress_bar')").fetchall() == [(False,)]
    print("opened")
"""


def test_writers_that_start_together_on_a_new_lake_all_open_it(tmp_path, lake_catalogs):
    catalog = lake_catalogs()["lake_catalog"]
    at = str(time.time() + 5)  # after every child's imports
    children = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_TOGETHER, str(tmp_path / "data"), catalog, at],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [child.communicate(timeout=300) for child in children]
    assert [out.strip() for out, _ in outcomes] == ["opened"] * 4, [err[-1500:] for _, err in outcomes]
