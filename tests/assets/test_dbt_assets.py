"""The dbt asset's pure helpers, on the project's real manifest: which marts are audited and
published by day and what they read, which models an invocation built and which tests failed, and
the build's command line."""

import json

from assets.dbt_assets import build_args, built_models, failed_tests, per_day_models
from config.datasets import load_datasets
from config.settings import Settings
from ingestion.changes import CHANGED_DAYS
from resources.dbt import dbt_project


def test_the_per_day_marts_read_every_dataset_through_fct_flights(dbt_manifest):
    manifest = json.loads(dbt_project().manifest_path.read_text())
    models = per_day_models(manifest)
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


def test_a_failed_or_erroring_test_fails_the_audit_and_a_warning_does_not(tmp_path):
    assert failed_tests(tmp_path) == set()
    results = [
        {"unique_id": "test.flights.unique_fct_flights_flight_id.abc", "status": "fail"},
        {"unique_id": "test.flights.not_null_fct_flights_carrier.def", "status": "error"},
        {"unique_id": "test.flights.relationships_fct_flights_tailnum.123", "status": "warn"},
        {"unique_id": "test.flights.unique_combination_of_columns_x.456", "status": "pass"},
        {"unique_id": "model.flights.fct_flights", "status": "error"},
    ]
    (tmp_path / "run_results.json").write_text(json.dumps({"results": results}))
    assert failed_tests(tmp_path) == {"unique_fct_flights_flight_id", "not_null_fct_flights_carrier"}


def test_every_build_tells_dbt_where_the_changed_days_are():
    args = build_args({"warehouse_path": "/w/test.duckdb"}, full_refresh=True)
    assert args[0] == "build" and args[-1] == "--full-refresh"
    assert json.loads(args[2]) == {"warehouse_path": "/w/test.duckdb", "changed_days_relation": CHANGED_DAYS}
