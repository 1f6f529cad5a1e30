"""What each mart is built from (publishing/shapes.py), on the project's real manifest: a change of a
model's SQL, of what it reads or of a raw table's columns reshapes it and what is downstream of it,
and nothing else."""

from __future__ import annotations

import copy
import json

import duckdb

from publishing.marts import audited_models
from publishing.shapes import model_shapes, record_shapes, reshaped


def test_a_change_reshapes_the_marts_downstream_of_it_and_only_them(dbt_manifest):
    manifest = json.loads(dbt_manifest.read_text())
    marts = sorted(audited_models(manifest))
    shapes = model_shapes(manifest, marts)
    assert set(shapes) == set(marts) and model_shapes(manifest, marts) == shapes  # stable

    # The route profile's own SQL: that mart alone.
    edited = copy.deepcopy(manifest)
    node = next(n for n in edited["nodes"].values() if n.get("name") == "mart_route_delays")
    node["checksum"]["checksum"] = "edited"
    assert {name for name, shape in model_shapes(edited, marts).items() if shape != shapes[name]} == {
        "mart_route_delays"
    }

    # A column of raw.flights (a contract change): every mart reads flights, through fct_flights.
    edited = copy.deepcopy(manifest)
    source = next(s for s in edited["sources"].values() if s["name"] == "flights")
    source["columns"]["seats"] = {"name": "seats", "data_type": "integer"}
    assert {name for name, shape in model_shapes(edited, marts).items() if shape != shapes[name]} == set(marts)

    # A column of raw.airlines' contract: the marts that join airlines, not the weather mart.
    edited = copy.deepcopy(manifest)
    source = next(s for s in edited["sources"].values() if s["name"] == "airlines")
    source["columns"]["alliance"] = {"name": "alliance", "data_type": "varchar"}
    changed = {name for name, shape in model_shapes(edited, marts).items() if shape != shapes[name]}
    assert "fct_flights" in changed and changed <= set(marts)


def test_a_published_shape_is_compared_with_the_build_s(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        connection.execute("CREATE SCHEMA meta")
        assert reshaped(connection, {"fct_flights": "a"}) == frozenset()  # nothing recorded: not reshaped
        record_shapes(connection, {"fct_flights": "a", "mart_route_delays": "b"})
        assert reshaped(connection, {"fct_flights": "a", "mart_route_delays": "b"}) == frozenset()
        assert reshaped(connection, {"fct_flights": "c", "mart_route_delays": "b"}) == {"fct_flights"}
        record_shapes(connection, {"fct_flights": "c"})
        assert reshaped(connection, {"fct_flights": "c", "mart_route_delays": "b"}) == frozenset()
