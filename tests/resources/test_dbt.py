"""dbt wiring: a target per environment fed by the settings, the parse-state hand-over and the
pruning of old invocation folders, on real folders."""

import json
import os
import time

import pytest
import yaml

from assets.dbt_assets import build_args
from config.project import IDENTIFIER
from config.settings import DBT_PROJECT_DIR, Settings
from resources.dbt import INVOCATION_PREFIX, PARTIAL_PARSE_FILE, dbt_resource, keep_parse_state, prune_invocations
from resources.warehouse import WarehouseResource
from warehouse.ducklake import LakeConnectionError
from warehouse.file import SLIM_TARGET
from warehouse.lake import SLIM_LAKE_S3_TARGET, SLIM_LAKE_TARGET


def test_the_last_invocations_parse_state_becomes_the_starting_point(tmp_path):
    invocation = tmp_path / f"{INVOCATION_PREFIX}a"
    invocation.mkdir()
    (tmp_path / PARTIAL_PARSE_FILE).write_bytes(b"old")
    (invocation / PARTIAL_PARSE_FILE).write_bytes(b"new")
    assert keep_parse_state(tmp_path, invocation)
    assert (tmp_path / PARTIAL_PARSE_FILE).read_bytes() == b"new"
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no temp left


def test_an_invocation_without_parse_state_leaves_the_old_one(tmp_path):
    invocation = tmp_path / f"{INVOCATION_PREFIX}failed-early"
    invocation.mkdir()
    (tmp_path / PARTIAL_PARSE_FILE).write_bytes(b"old")
    assert not keep_parse_state(tmp_path, invocation)
    assert (tmp_path / PARTIAL_PARSE_FILE).read_bytes() == b"old"


def test_only_the_newest_invocation_folders_are_kept(tmp_path):
    now = time.time()
    for age in range(5):
        folder = tmp_path / f"{INVOCATION_PREFIX}{age}"
        folder.mkdir()
        (folder / "run_results.json").write_text("{}")
        os.utime(folder, (now - age * 60, now - age * 60))
    (tmp_path / "manifest.json").write_text("{}")  # not an invocation: never touched
    removed = prune_invocations(tmp_path, keep=2)
    assert sorted(path.name for path in removed) == [f"{INVOCATION_PREFIX}{age}" for age in (2, 3, 4)]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        f"{INVOCATION_PREFIX}0",
        f"{INVOCATION_PREFIX}1",
        "manifest.json",
    ]


def test_each_environment_has_its_dbt_target_fed_the_warehouse_by_the_settings(tmp_path, dbt_manifest):
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())[IDENTIFIER]["outputs"]
    for env in ("dev", "test", "prod"):
        target = profile[env]
        assert target["type"] == "duckdb"
        assert "var('warehouse_path'" in target["path"], "the path comes from Dagster's --vars, not the profile"
        settings = Settings(env=env, data_dir=tmp_path)
        assert dbt_resource(settings).target == settings.dbt_target == env
        vars_ = WarehouseResource.for_settings(settings).dbt_vars()
        assert build_args(vars_)[1] == "--vars"
        assert json.loads(build_args(vars_)[2])["warehouse_path"] == str(settings.warehouse)
    assert dbt_resource(Settings(env="dev", data_dir=tmp_path, dbt_target="prod")).target == "prod"


def test_the_lake_backend_has_its_dbt_targets_fed_the_lake_by_the_settings(tmp_path):
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())[IDENTIFIER]["outputs"]
    catalog = "host=db dbname=lake_test user=pipeline"
    local = Settings(env="test", data_dir=tmp_path, backend="ducklake", lake_catalog=catalog)
    remote = Settings(
        env="test",
        data_dir=tmp_path,
        backend="ducklake",
        lake_catalog=catalog,
        lake_data_path="s3://lake/test/",
        s3_access_key_id="key",
        s3_endpoint="127.0.0.1:9000",
    )
    assert (local.dbt_target, remote.dbt_target) == ("lake", "lake_s3")
    for target in ("lake", "lake_s3"):
        [attachment] = profile[target]["attach"]
        # No password in the path: dbt's errors would print it; libpq reads it from PGPASSFILE.
        assert "password" not in attachment["path"].lower()
        assert profile[target]["database"] == attachment["alias"]
    assert "env_var('DATAOPS_S3_SECRET_ACCESS_KEY'" in profile["lake_s3"]["secrets"][0]["secret"]
    vars_ = WarehouseResource.for_settings(remote).dbt_vars()
    assert vars_["lake_catalog"].startswith(catalog) and vars_["lake_alias"] == "test"
    assert "options=--lock_timeout=60000" in vars_["lake_catalog"]
    assert vars_["lake_data_path"] == "s3://lake/test/" and vars_["s3_endpoint"] == "127.0.0.1:9000"
    assert not any("secret" in name or "password" in name for name in vars_)


def test_slim_ci_on_the_lake_reads_prod_read_only_and_gets_the_s3_secret_when_files_are_in_a_bucket(tmp_path):
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())[IDENTIFIER]["outputs"]
    for target in (SLIM_LAKE_TARGET, SLIM_LAKE_S3_TARGET):
        own, prod = profile[target]["attach"]
        assert "password" not in prod["path"].lower() and prod["read_only"] is True
        assert "read_only" not in own
    assert "secrets" not in profile[SLIM_LAKE_TARGET]
    assert "env_var('DATAOPS_S3_SECRET_ACCESS_KEY'" in profile[SLIM_LAKE_S3_TARGET]["secrets"][0]["secret"]

    catalog, reader = "host=db dbname=lake_dev user=pipeline", "host=db dbname=lake_prod user=reader"
    lake = {"env": "dev", "data_dir": tmp_path, "backend": "ducklake", "lake_catalog": catalog}
    local = WarehouseResource.for_settings(
        Settings(**lake, prod_lake_catalog=reader, prod_lake_data_path="/srv/lake/prod/")
    )
    in_bucket = Settings(**lake, prod_lake_catalog=reader, prod_lake_data_path="s3://lake/prod/")
    assert WarehouseResource.for_settings(Settings(env="dev", data_dir=tmp_path)).slim_ci_target == SLIM_TARGET
    assert local.slim_ci_target == SLIM_LAKE_TARGET
    assert WarehouseResource.for_settings(in_bucket).slim_ci_target == SLIM_LAKE_S3_TARGET
    # Prod's files in a bucket and no key to read them: said before dbt starts, naming the settings.
    with pytest.raises(LakeConnectionError, match="s3://lake/prod/: set DATAOPS_S3_ENDPOINT"):
        WarehouseResource.for_settings(in_bucket).slim_ci_vars()
    keyed = in_bucket.model_copy(update={"s3_access_key_id": "reader-key"})
    assert WarehouseResource.for_settings(keyed).slim_ci_vars()["s3_access_key_id"] == "reader-key"
