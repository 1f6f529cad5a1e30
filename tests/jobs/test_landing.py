"""What the landing jobs' runs target, checked against the code location's own asset graph."""

import dagster as dg

from assets.ingestion_factory import ingestion_check_keys
from assets.layers import raw_asset_key
from definitions import build_definitions
from jobs.landing import refresh_targets


def test_a_refresh_targets_everything_downstream_of_the_raw_layer_and_dbts_tests_of_the_raw_tables(
    settings, datasets, dbt_manifest
):
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    raw = [raw_asset_key(name) for name in datasets]
    downstream = dg.AssetSelection.assets(*raw).downstream(include_self=False).resolve(graph)
    refresh = refresh_targets(defs.assets or [], datasets)

    assert set(refresh.assets) == downstream
    # Every check on those assets, and on the raw ones every check but the loads' own reports.
    loads_report = {key for dataset in datasets.values() for key in ingestion_check_keys(dataset)}
    expected = {key for key in graph.asset_check_keys if key.asset_key in downstream}
    expected |= {key for key in graph.asset_check_keys if key.asset_key in set(raw)} - loads_report
    assert set(refresh.checks) == expected
    assert any(key.name.startswith("source_") for key in refresh.checks), "dbt's source tests are in"
