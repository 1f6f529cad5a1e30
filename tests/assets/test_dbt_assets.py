"""The dbt asset's pure helpers, on the project's real manifest: which models are incremental and
what they read, which models an invocation built, and the build's command line."""

import json

from assets.dbt_assets import build_args, built_models, incremental_models
from config.datasets import load_datasets
from ingestion.changes import CHANGED_DAYS
from resources.dbt import dbt_project
from resources.settings import Settings


def test_the_incremental_marts_read_every_dataset_through_fct_flights(dbt_manifest):
    manifest = json.loads(dbt_project().manifest_path.read_text())
    models = incremental_models(manifest)
    every_dataset = frozenset(load_datasets(Settings().datasets_file))
    assert models == {
        "fct_flights": every_dataset,
        "mart_carrier_daily_performance": every_dataset,
        "mart_origin_daily_performance": every_dataset,
        "mart_weather_daily_impact": every_dataset,
    }


def test_only_models_that_succeeded_count_as_built(tmp_path):
    assert built_models(tmp_path) == set()  # dbt failed before it wrote run_results.json
    results = [
        {"unique_id": "model.flights.fct_flights", "status": "success"},
        {"unique_id": "model.flights.mart_route_delays", "status": "error"},
        {"unique_id": "test.flights.unique_fct_flights_flight_id.abc", "status": "pass"},
        {"unique_id": "model.flights.mart_carrier_daily_performance", "status": "skipped"},
    ]
    (tmp_path / "run_results.json").write_text(json.dumps({"results": results}))
    assert built_models(tmp_path) == {"fct_flights"}


def test_every_build_tells_dbt_where_the_changed_days_are():
    args = build_args({"warehouse_path": "/w/test.duckdb"}, full_refresh=True)
    assert args[0] == "build" and args[-1] == "--full-refresh"
    assert json.loads(args[2]) == {"warehouse_path": "/w/test.duckdb", "changed_days_relation": CHANGED_DAYS}
