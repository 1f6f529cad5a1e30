"""`impact` and slim CI: a change to one mart, compared with and built against a real prod build."""

import shutil

import dagster as dg
import duckdb
import pytest

from cli import impact
from cli.backfill import run_backfill
from config.settings import Settings
from definitions import build_definitions
from demo import replay
from resources.dbt_state import MANIFEST
from tests.demo.cli.conftest import CHANGED_TABLE, copy_of_dbt_project, slim_build_outcome

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def prod(dbt_manifest, tmp_path_factory) -> Settings:
    """The prod pipeline after one day: its warehouse, and the manifest its dbt build published."""
    settings = Settings(env="prod", data_dir=tmp_path_factory.mktemp("prod") / "data")
    replay.main(["--reference", "--days", "1"], settings=settings)
    assert run_backfill(settings, dg.DagsterInstance.ephemeral()).success
    return settings


def developer(prod: Settings) -> Settings:
    # Same data folder (so prod's warehouse and state are where settings say), own dev warehouse.
    return Settings(env="dev", data_dir=prod.data_dir)


def test_the_prod_build_publishes_its_manifest(prod):
    published = prod.dbt_state / MANIFEST
    assert published.exists()
    assert '"database": "prod"' in published.read_text()


def test_impact_lists_the_changed_model_and_everything_downstream(prod, working_copy, capsys):
    assert impact.main(["--project-dir", str(working_copy)], settings=developer(prod)) == 0
    out = capsys.readouterr().out
    assert "dbt models changed (as Dagster assets) (1):\n  marts/mart_carrier_daily_performance" in out
    assert "dbt models downstream (0):" in out
    assert (
        "Dagster assets downstream (to rematerialise after deploying) (2):\n  analytics/carrier_scorecard\n"
        "  readers/warehouse_copy" in out
    )


def test_the_graph_names_the_models_and_assets_downstream_of_a_change(dbt_manifest, tmp_path):
    defs = build_definitions(Settings(env="dev", data_dir=tmp_path / "data"))
    found = impact.dagster_impact(defs, ["stg_flights"])
    marts = [
        "fct_flights",
        "mart_carrier_daily_performance",
        "mart_origin_daily_performance",
        "mart_route_delays",
        "mart_weather_daily_impact",
    ]
    assert found.changed == ["staging/stg_flights"]
    assert found.downstream_models == marts
    assert found.downstream_assets == sorted(
        [f"marts/{name}" for name in marts]
        + ["analytics/carrier_scorecard", "analytics/weather_delay_impact", "readers/warehouse_copy"]
    )


def test_an_unchanged_project_has_no_impact(prod, tmp_path, capsys):
    project = copy_of_dbt_project(tmp_path)
    assert impact.main(["--project-dir", str(project), "--build"], settings=developer(prod)) == 0
    out = capsys.readouterr().out
    assert "dbt models changed (as Dagster assets) (0):" in out
    assert "nothing changed; nothing to build" in out


def test_slim_build_builds_only_the_change_reading_the_rest_from_prod(prod, working_copy, tmp_path):
    # As on a developer machine: a copy of prod's warehouse under another name (e.g. a restored
    # snapshot); it is still attached under the catalog name prod's manifest records.
    prod_copy = tmp_path / "prod-copy.duckdb"
    shutil.copyfile(prod.prod_warehouse, prod_copy)
    dev = Settings(env="dev", data_dir=prod.data_dir, prod_warehouse_path=prod_copy)
    prod_before = prod_copy.read_bytes()

    assert impact.main(["--project-dir", str(working_copy), "--build"], settings=dev) == 0

    tables, built = slim_build_outcome(dev)
    # Only the changed mart exists in the developer's warehouse, audited and not published (no
    # marts schema); fct_flights was read from prod's published marts.
    assert tables == [(CHANGED_TABLE,)]
    with duckdb.connect(str(prod_copy), read_only=True) as connection:
        [(prod_rows,)] = connection.execute("SELECT count(*) FROM marts.mart_carrier_daily_performance").fetchall()
    assert built == [(prod_rows, 1)]
    assert prod_copy.read_bytes() == prod_before, "prod's warehouse is only read"


def test_slim_build_refuses_to_run_as_prod(prod, working_copy, capsys):
    assert impact.main(["--project-dir", str(working_copy), "--build"], settings=prod) == 1
    assert "run it in dev or test" in capsys.readouterr().err


def test_without_a_prod_manifest_impact_says_where_it_looked(tmp_path, working_copy, capsys):
    settings = Settings(env="dev", data_dir=tmp_path / "empty")
    assert impact.main(["--project-dir", str(working_copy)], settings=settings) == 1
    said = capsys.readouterr().err
    assert f"no prod manifest in {settings.dbt_state}" in said
    assert "DATAOPS_ENV=prod python3 tasks.py backfill" in said  # what to do where there is no prod
