"""The lifecycle clean-up on the lake: old snapshots expire, files nobody needs go, data stays."""

import time
from datetime import UTC, datetime, timedelta

import duckdb
import psycopg2
import pytest

from config.settings import Settings
from operations.lifecycle import apply_cleanup, plan_cleanup
from resources.operations import OperationsResource
from resources.warehouse import WarehouseResource
from tests.support import postgres

pytestmark = pytest.mark.integration

# A month on: every snapshot but the newest is past the 7-day window, every file past the grace.
LATER = datetime.now(UTC) + timedelta(days=30)


def parquet_files(settings: Settings) -> set[str]:
    return {str(path) for path in (settings.data_dir / "lake").rglob("*.parquet")}


def test_expired_snapshots_and_unneeded_files_go_and_the_published_data_stays(tmp_path, lake_catalogs):
    settings = Settings(env="test", data_dir=tmp_path / "data", **lake_catalogs())
    warehouse = WarehouseResource.for_settings(settings)
    with warehouse.writer() as connection:
        for version in range(3):  # three versions of a table: the first two only in old snapshots
            connection.execute(f"CREATE OR REPLACE TABLE raw.t AS SELECT range + {version} AS x FROM range(10000)")
        [(versions_before,)] = connection.execute("SELECT count(*) FROM ducklake_snapshots('test')").fetchall()
    orphan = settings.data_dir / "lake" / "test" / "raw" / "t" / "left-by-an-aborted-write.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS x) TO '{orphan}' (FORMAT parquet)")
    files_before = parquet_files(settings)
    assert len(files_before) == 4
    policy = OperationsResource.from_settings(settings).lifecycle_policy()

    plan = plan_cleanup(policy, warehouse, LATER)
    [snapshots] = plan.of_kind("lake snapshots")
    assert f"{versions_before - 1} snapshot(s)" in snapshots.reason
    assert {removal.target for removal in plan.of_kind("lake file")} == {str(orphan)}
    assert parquet_files(settings) == files_before, "planning deletes nothing"

    apply_cleanup(plan, policy, warehouse, LATER)

    with warehouse.read_only() as connection:
        assert connection.execute("SELECT count(*), min(x) FROM raw.t").fetchall() == [(10000, 2)]
        [(versions_after,)] = connection.execute("SELECT count(*) FROM ducklake_snapshots('test')").fetchall()
        with pytest.raises(duckdb.Error):  # time travel stops at the window
            connection.execute("SELECT count(*) FROM raw.t AT (VERSION => 2)").fetchall()
    assert versions_after == 1
    remaining = parquet_files(settings)
    assert len(remaining) == 1 and remaining < files_before, "only the live table's file is left"


def test_a_clean_up_behind_a_forgotten_transaction_gives_up_on_that_part_and_names_the_session(
    tmp_path, lake_catalogs, postgres_server
):
    settings = Settings(env="test", data_dir=tmp_path / "data", lake_lock_timeout_seconds=2, **lake_catalogs())
    warehouse = WarehouseResource.for_settings(settings)
    with warehouse.writer() as connection:
        for version in range(3):
            connection.execute(f"CREATE OR REPLACE TABLE raw.t AS SELECT range + {version} AS x FROM range(10)")
    policy = OperationsResource.from_settings(settings).lifecycle_policy()
    plan = plan_cleanup(policy, warehouse, LATER)
    # A session that began a transaction and locked the snapshot table against changes, and went on
    # holding it (a notebook left open, say); readers still read.
    holder = psycopg2.connect(
        postgres_server.rsplit("/", 1)[0] + "/" + postgres.database_of(settings.lake_catalog),
        application_name="forgotten-notebook",
    )
    try:
        holder.cursor().execute("LOCK TABLE ducklake_snapshot IN SHARE MODE")
        started = time.monotonic()
        skipped = apply_cleanup(plan, policy, warehouse, LATER)
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()

    [part] = skipped
    assert part.startswith("ducklake_expire_snapshots on test: gave up after waiting 2 s")
    assert "forgotten-notebook" in part and "idle in transaction" in part
    assert waited < 60, "the clean-up waited for the lock far past its timeout"
    with warehouse.read_only() as connection:
        assert connection.execute("SELECT count(*) FROM raw.t").fetchall() == [(10,)]
