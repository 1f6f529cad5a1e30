"""The code location loads, validates, and has the graph the README describes."""

from datetime import timedelta

import dagster as dg
import pytest

from assets.layers import LAYERS, PIPELINE_GROUP
from config.datasets import ConfigError
from config.settings import Settings
from definitions import build_definitions
from resources.pools import pool_limits
from tests.demo.support.expected_graph import ANALYTICS, MARTS, OPERATIONS, RAW, READERS, STAGING

OPERATIONS_JOBS = ("warehouse_backup_job", "lifecycle_cleanup_job", "performance_report_job")


@pytest.fixture(scope="module")
def graph(dbt_manifest, tmp_path_factory):
    defs = build_definitions(Settings(env="test", data_dir=tmp_path_factory.mktemp("data")))
    dg.Definitions.validate_loadable(defs)
    return defs.resolve_asset_graph()


def keys(graph) -> set[str]:
    return {key.to_user_string() for key in graph.get_all_asset_keys()}


def test_the_graph_has_every_layer(graph):
    assert keys(graph) == RAW | STAGING | MARTS | ANALYTICS | READERS | OPERATIONS


def test_the_readers_copy_waits_for_every_table_readers_read_and_exists_on_the_file_backend_only(graph, tmp_path):
    parents = graph.get(dg.AssetKey.from_user_string("readers/warehouse_copy")).parent_keys
    assert {parent.to_user_string() for parent in parents} == MARTS | ANALYTICS
    # Loading the definitions connects to nothing: a catalog that does not exist will do.
    lake = Settings(env="test", data_dir=tmp_path, backend="ducklake", lake_catalog="dbname=lake_not_there")
    assert keys(build_definitions(lake).resolve_asset_graph()) == RAW | STAGING | MARTS | ANALYTICS | OPERATIONS


def test_lineage_runs_from_raw_files_to_analytics(graph):
    def parents(key: str) -> set[str]:
        return {parent.to_user_string() for parent in graph.get(dg.AssetKey.from_user_string(key)).parent_keys}

    # dbt sources join the Python ingestion assets (no separate source assets).
    assert parents("staging/stg_flights") == {"raw/flights"}
    assert parents("marts/fct_flights") == STAGING
    assert parents("analytics/carrier_scorecard") == {"marts/mart_carrier_daily_performance"}
    assert parents("analytics/weather_delay_impact") == {"marts/mart_weather_daily_impact"}
    assert parents("marts/mart_weather_daily_impact") == {"marts/fct_flights"}


def test_every_asset_has_a_description_one_group_and_its_layer(graph):
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, f"{key.to_user_string()} has no description"
        # One group, so the lineage graph opens with every asset visible; the layer is the key's prefix.
        assert node.group_name == PIPELINE_GROUP
        assert key.path[0] in LAYERS
        if key.path[0] != "raw" or node.is_executable:  # dbt sources are the raw assets themselves
            assert node.tags.get("layer") == key.path[0], key.to_user_string()


def test_operations_are_reported_not_materialised_so_materialize_all_is_the_data(graph):
    for name in OPERATIONS:
        assert not graph.get(dg.AssetKey.from_user_string(name)).is_executable


# The lake's settings need no server to build definitions: nothing connects until a run.
LAKE = {"backend": "ducklake", "lake_catalog": "host=127.0.0.1 dbname=lake_test user=pipeline"}


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ({}, {"raw": "duckdb_writer", "transform": "duckdb_writer", "maintenance": "duckdb_writer"}),
        (LAKE, {"raw": "lake_load", "transform": "lake_transform", "maintenance": "lake_maintenance"}),
    ],
    ids=["file: one writer", "lake: loads in parallel"],
)
def test_every_writer_of_the_warehouse_waits_in_its_backends_pool(dbt_manifest, tmp_path, backend, expected):
    settings = Settings(env="test", data_dir=tmp_path / "data", **backend)
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        name = key.to_user_string()
        if name in OPERATIONS:
            continue  # external: their jobs' ops hold the pool (below)
        wanted = expected["raw"] if key.path[0] == "raw" else expected["transform"]
        assert graph.get(key).pools == {wanted}, name
    pools = {job: {node.definition.pool for node in defs.resolve_job_def(job).nodes} for job in OPERATIONS_JOBS}
    # The report reads only the Dagster instance, never the warehouse: no reason to wait for a slot.
    assert pools == {
        "warehouse_backup_job": {expected["maintenance"]},
        "lifecycle_cleanup_job": {expected["maintenance"]},
        "performance_report_job": {None},
    }
    # Every pool a writer waits in gets its limit set in the instance (python -m resources.pools).
    assert set(pool_limits(settings)) == set(expected.values())
    assert pool_limits(settings)[expected["raw"]] == (1 if not backend else settings.lake_writers)


def test_daily_raw_assets_are_partitioned_and_backfill_in_one_run(graph):
    for name in ("flights", "weather"):
        node = graph.get(dg.AssetKey(["raw", name]))
        assert isinstance(node.partitions_def, dg.DynamicPartitionsDefinition)
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    assert graph.get(dg.AssetKey(["raw", "planes"])).partitions_def is None


def test_raw_assets_carry_their_pandera_check_and_dbt_source_tests(graph):
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    for raw in RAW:
        assert (raw, "pandera_validation") in checks
    assert ("raw/planes", "source_unique_raw_planes_tailnum") in checks


def test_a_broken_config_fails_loading_with_the_entry_named(make_settings, tmp_path):
    bad = tmp_path / "datasets.yaml"
    bad.write_text(
        "datasets:\n  flights:\n    description: x\n    kind: daily\n    file_pattern: 'f_{date}.csv'\n"
        "    date_format: '%Y-%m-%d'\n    primary_key: [year]\n    schema: flights.Flights\n    cadence: daily\n"
    )
    with pytest.raises(ConfigError, match="dataset 'flights', field 'cadence'"):
        build_definitions(make_settings(datasets_path=bad))


def test_freshness_expectations_come_from_the_dataset_config(make_settings, tmp_path, dbt_manifest):
    config = (Settings().datasets_path / "nyc_flights.yaml").read_text()
    assert "freshness: {warn_after_hours: 24, fail_after_hours: 48}" in config
    changed = tmp_path / "datasets.yaml"
    changed.write_text(
        config.replace("warn_after_hours: 24, fail_after_hours: 48", "warn_after_hours: 2, fail_after_hours: 6", 1)
    )
    for datasets_path, windows in ((None, (24, 48)), (changed, (2, 6))):
        settings = make_settings(**({"datasets_path": datasets_path} if datasets_path else {}))
        node = build_definitions(settings).resolve_asset_graph().get(dg.AssetKey(["raw", "flights"]))
        policy = node.freshness_policy
        assert (policy.warn_window.to_timedelta(), policy.fail_window.to_timedelta()) == tuple(
            timedelta(hours=hours) for hours in windows
        )


def test_every_check_and_every_raw_column_says_what_it_is(graph):
    """The UI shows these: no check reads "No description provided", no raw column is unexplained."""
    checks = [graph.get_check_spec(key) for key in graph.asset_check_keys]
    assert checks and [spec.key.name for spec in checks if not spec.description] == []
    warn = next(spec for spec in checks if spec.key.name.startswith("relationships_fct_flights_tailnum"))
    assert "a failure is a warning: reported, never blocking" in warn.description
    for key in sorted(RAW):
        columns = graph.get(dg.AssetKey.from_user_string(key)).metadata["dagster/column_schema"].columns
        assert [column.name for column in columns if not column.description] == [], key
