"""The dbt asset's pure helpers, on the project's real manifest: which marts are audited and
published by day and what they read, which models an invocation built and which tests failed, and
the build's command line."""

import json
from datetime import date

import dagster as dg

from assets.dbt_assets import build_args, built_models, claim_gates, failed_tests, per_day_models
from config.datasets import load_datasets
from config.settings import Settings
from ingestion.changes import CHANGED_DAYS
from resources.dbt import dbt_project
from tests.demo.support.pipeline import Pipeline, audited_marts
from tests.support.warehouse import query


def test_the_per_day_marts_read_every_dataset_through_fct_flights(dbt_manifest):
    manifest = json.loads(dbt_project().manifest_path.read_text())
    models = per_day_models(manifest)
    every_dataset = frozenset(load_datasets(Settings().datasets_path))
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


def test_a_mart_may_claim_a_delivery_only_once_the_upstream_left_out_of_its_build_has_it(dbt_manifest):
    manifest = json.loads(dbt_manifest.read_text())
    marts = {"mart_carrier_daily_performance", "mart_origin_daily_performance", "mart_weather_daily_impact"}
    gates = claim_gates(manifest, marts)
    assert {(gate.model, gate.upstream) for gate in gates} == {(mart, "fct_flights") for mart in marts}
    assert {gate.dataset for gate in gates} == {"flights", "weather", "airlines", "airports", "planes"}
    assert claim_gates(manifest, marts | {"fct_flights"}) == []


def test_marts_built_without_fct_flights_leave_the_new_day_for_the_build_that_has_it(built_copy):
    """Days 1-3 built; day 4 lands. A build of the marts alone (fct_flights left out, as automation
    may) must not consume day 4's delivery: the next build, with fct_flights, rebuilds day 4 in the
    marts, and they equal a full refresh."""
    pipeline = Pipeline(built_copy)
    day_4 = date(2013, 1, 4)
    pipeline.land_real_days([day_4], reference=False)
    per_day_marts = [name for name, day_column in audited_marts().items() if day_column and name != "fct_flights"]
    marts_alone = dg.materialize(
        list(pipeline.defs.assets or []),
        selection=dg.AssetSelection.assets(*(dg.AssetKey(["marts", name]) for name in per_day_marts)),
        instance=pipeline.instance,
        resources=pipeline.defs.resources,
        raise_on_error=False,
    )
    assert marts_alone.success
    claimed = query(built_copy, f"SELECT DISTINCT model FROM {CHANGED_DAYS} WHERE model <> 'fct_flights'")
    assert claimed == []  # fct_flights, not built, claims day 4 for nothing; the marts leave it

    rebuilt = pipeline.build()

    assert rebuilt["fct_flights"] == [day_4]
    assert all(rebuilt[name] == [day_4] for name in per_day_marts), rebuilt
    published = pipeline.marts()
    pipeline.build(full_refresh=True)
    refreshed = pipeline.marts()
    assert [name for name in refreshed if not published[name].equals(refreshed[name])] == []
