"""Dev, test and prod on one machine: the prod pipeline writes prod, a dev pipeline cannot.

On both backends. A dev process pointed at prod's warehouse by mistake (the file's path, or the lake's
catalog) is refused before anything is written; with its own warehouse it writes that and only that.
(On the lake, PostgreSQL itself refuses dev's writes through the reader role as well:
tests/resources/test_production_guard.py.)
"""

import dagster as dg
import pytest

from cli.backfill import run_backfill
from config.settings import Settings
from definitions import build_definitions
from demo import replay
from tests.support.warehouse import query

pytestmark = [pytest.mark.integration, pytest.mark.backends]


def snapshot(settings: Settings) -> tuple:
    [found] = query(
        settings,
        "SELECT (SELECT count(*) FROM raw.flights), (SELECT count(*) FROM marts.fct_flights),"
        " (SELECT environment FROM meta.warehouse_environment)",
    )
    return found


def step_failures(result):
    return [event.step_failure_data.error.message for event in result.all_events if event.is_step_failure]


def test_only_the_prod_pipeline_writes_the_prod_warehouse(tmp_path, dbt_manifest, backend_overrides):
    prod = Settings(env="prod", data_dir=tmp_path / "data", **backend_overrides())
    replay.main(["--reference", "--days", "1"], settings=prod)
    assert run_backfill(prod, dg.DagsterInstance.ephemeral()).success
    before = snapshot(prod)
    assert before == (842, 842, "prod")
    published = (prod.dbt_state / "manifest.json").read_bytes()  # for slim CI (cli/impact.py)

    # A developer's process with the same data folder, its warehouse set to prod's by mistake.
    replay.main(["--from", "2013-01-02", "--to", "2013-01-02"], settings=prod)
    mistake = (
        {"backend": prod.backend, "lake_catalog": prod.lake_catalog, "lake_data_path": prod.lake_data_path}
        if prod.uses_lake
        else {"warehouse_path": prod.warehouse}
    )
    dev = Settings(env="dev", data_dir=tmp_path / "data", **mistake)
    report = run_backfill(dev, dg.DagsterInstance.ephemeral(), defs=build_definitions(dev))
    assert not report.success
    [load] = [result for label, result in report.results.items() if label.startswith("flights+weather")]
    assert any("refusing to write" in message and "env='dev'" in message for message in step_failures(load))
    assert any("refusing to write" in message for message in step_failures(report.results["downstream"]))
    assert snapshot(prod) == before  # dbt never ran, no load committed

    # The same developer with their own warehouse (the default file, or a catalog of their own)
    # writes it, and prod is untouched.
    own = Settings(env="dev", data_dir=tmp_path / "data", **backend_overrides())
    assert own.uses_lake or own.warehouse.name == "dev.duckdb"
    assert run_backfill(own, dg.DagsterInstance.ephemeral()).success
    assert snapshot(own)[2] == "dev"
    assert snapshot(prod) == before
    assert (own.dbt_state / "manifest.json").read_bytes() == published, "only prod publishes its manifest"
