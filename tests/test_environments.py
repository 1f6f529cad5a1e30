"""Dev, test and prod on one machine: the prod pipeline writes prod, a dev pipeline cannot."""

import dagster as dg
import duckdb
import pytest

from cli import replay
from cli.backfill import run_backfill
from definitions import build_definitions
from resources.settings import Settings

pytestmark = pytest.mark.integration


def snapshot(path):
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(
            "SELECT (SELECT count(*) FROM raw.flights), (SELECT count(*) FROM marts.fct_flights),"
            " (SELECT environment FROM meta.warehouse_environment)"
        ).fetchone()


def step_failures(result):
    return [event.step_failure_data.error.message for event in result.all_events if event.is_step_failure]


def test_only_the_prod_pipeline_writes_the_prod_warehouse(tmp_path, dbt_manifest):
    prod = Settings(env="prod", data_dir=tmp_path / "data")
    replay.main(["--reference", "--days", "1"], settings=prod)
    assert run_backfill(prod, dg.DagsterInstance.ephemeral()).success
    before = snapshot(prod.warehouse)
    assert before == (842, 842, "prod")
    published = (prod.dbt_state / "manifest.json").read_bytes()  # for slim CI (cli/impact.py)

    # A developer's process with the same data folder, its warehouse set to the prod file by mistake.
    replay.main(["--from", "2013-01-02", "--to", "2013-01-02"], settings=prod)
    dev = Settings(env="dev", data_dir=tmp_path / "data", warehouse_path=prod.warehouse)
    report = run_backfill(dev, dg.DagsterInstance.ephemeral(), defs=build_definitions(dev))
    assert not report.success
    [load] = [result for label, result in report.results.items() if label.startswith("flights+weather")]
    assert any("refusing to write" in message and "env='dev'" in message for message in step_failures(load))
    assert any("refusing to write" in message for message in step_failures(report.results["downstream"]))
    assert snapshot(prod.warehouse) == before  # dbt never ran, no load committed

    # The same developer with the default settings writes their own file, and prod is untouched.
    own = Settings(env="dev", data_dir=tmp_path / "data")
    assert own.warehouse.name == "dev.duckdb"
    assert run_backfill(own, dg.DagsterInstance.ephemeral()).success
    assert snapshot(own.warehouse)[2] == "dev"
    assert snapshot(prod.warehouse) == before
    assert (own.dbt_state / "manifest.json").read_bytes() == published, "only prod publishes its manifest"
