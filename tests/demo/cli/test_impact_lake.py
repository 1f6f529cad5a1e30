"""Slim CI on the lake: the change alone built into dev's lake, the rest read from prod's lake
through prod's read-only PostgreSQL role, with prod's files in a folder or in an S3-compatible bucket."""

import uuid

import dagster as dg
import pytest

from cli import impact
from cli.backfill import run_backfill
from config.settings import PROD_LAKE_PASSWORD_VARIABLE, Settings
from demo import replay
from tests.demo.cli.conftest import CHANGED_TABLE, slim_build_outcome
from tests.support import postgres
from tests.support.warehouse import query

pytestmark = pytest.mark.integration

READER_PASSWORD = "slim-ci-reader"


# On object storage it starts an S3-compatible server: with the servers' tests (tasks.py).
@pytest.mark.parametrize("prod_files", ["folder", pytest.param("object store", marks=pytest.mark.e2e)])
def test_slim_build_on_the_lake_builds_only_the_change_reading_prod_read_only(
    tmp_path, dbt_manifest, postgres_server, lake_catalogs, working_copy, monkeypatch, request, prod_files
):
    server = request.getfixturevalue("object_store") if prod_files == "object store" else None
    bucket = server.create_bucket(f"slim-{uuid.uuid4().hex[:8]}") if server else ""
    store = server.settings(bucket, "prod") if server else {}

    def bucket_keys() -> list[str]:
        return server.keys(bucket) if server else []

    prod = Settings(env="prod", data_dir=tmp_path / "data", **lake_catalogs(), **store)
    replay.main(["--reference", "--days", "1"], settings=prod)
    assert run_backfill(prod, dg.DagsterInstance.ephemeral()).success
    reader_catalog = postgres.create_lake_reader(
        postgres_server, postgres.database_of(prod.lake_catalog or ""), READER_PASSWORD
    )
    monkeypatch.setenv(PROD_LAKE_PASSWORD_VARIABLE, READER_PASSWORD)
    # Same data folder (prod's published dbt state is where settings say), dev's own lake.
    # Dev's own files stay in its folder; it reaches prod's bucket (if any) with the store's settings.
    store.pop("lake_data_path", None)
    dev = Settings(
        env="dev",
        data_dir=prod.data_dir,
        **lake_catalogs(),
        **store,
        prod_lake_catalog=reader_catalog,
        prod_lake_data_path=prod.lake_data_path,
    )
    [(snapshots_before,)] = query(prod, "SELECT count(*) FROM ducklake_snapshots('prod')")
    files_before = bucket_keys()

    assert impact.main(["--project-dir", str(working_copy), "--build"], settings=dev) == 0

    tables, built = slim_build_outcome(dev)
    # Only the changed mart is in dev's lake, audited and not published; fct_flights was read from
    # prod's published marts.
    assert tables == [(CHANGED_TABLE,)]
    [(prod_rows,)] = query(prod, "SELECT count(*) FROM marts.mart_carrier_daily_performance")
    assert built == [(prod_rows, 1)]
    assert query(prod, "SELECT count(*) FROM ducklake_snapshots('prod')") == [(snapshots_before,)], "prod only read"
    assert bucket_keys() == files_before, "nothing written to prod's bucket"
