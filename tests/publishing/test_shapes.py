"""What each mart is built from (publishing/shapes.py), on a real manifest (the synthetic project's): a change of a
model's SQL, of what it reads or of a raw table's columns reshapes it and what is downstream of it,
and nothing else."""

from __future__ import annotations

import copy
import json

import duckdb

from publishing.marts import audited_models
from publishing.shapes import model_shapes, record_shapes, reshaped


def test_a_change_reshapes_the_marts_downstream_of_it_and_only_them(synthetic_dbt):
    manifest = json.loads((synthetic_dbt / "target" / "manifest.json").read_text())
    marts = sorted(audited_models(manifest))
    shapes = model_shapes(manifest, marts)
    assert set(shapes) == set(marts) and model_shapes(manifest, marts) == shapes  # stable

    def changed(edited: dict) -> set[str]:
        return {name for name, shape in model_shapes(edited, marts).items() if shape != shapes[name]}

    # The revenue mart's own SQL: that mart alone, not the fact table it reads.
    edited = copy.deepcopy(manifest)
    node = next(n for n in edited["nodes"].values() if n.get("name") == "mart_daily_revenue")
    node["checksum"]["checksum"] = "edited"
    assert changed(edited) == {"mart_daily_revenue"}

    # A column of raw.orders (a contract change): every mart reads orders, through fct_orders.
    edited = copy.deepcopy(manifest)
    source = next(s for s in edited["sources"].values() if s["name"] == "orders")
    source["columns"]["discount_cents"] = {"name": "discount_cents", "data_type": "integer"}
    assert changed(edited) == set(marts)

    # A column of raw.customers' contract: the fact table that joins it and what reads that.
    edited = copy.deepcopy(manifest)
    source = next(s for s in edited["sources"].values() if s["name"] == "customers")
    source["columns"]["region"] = {"name": "region", "data_type": "varchar"}
    assert "fct_orders" in changed(edited) and changed(edited) <= set(marts)

    # A raw table no mart reads (shipments): no mart.
    edited = copy.deepcopy(manifest)
    source = next(s for s in edited["sources"].values() if s["name"] == "shipments")
    source["columns"]["courier"] = {"name": "courier", "data_type": "varchar"}
    assert changed(edited) == set()


def test_a_published_shape_is_compared_with_the_build_s(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        connection.execute("CREATE SCHEMA meta")
        assert reshaped(connection, {"fct_orders": "a"}) == frozenset()  # nothing recorded: not reshaped
        record_shapes(connection, {"fct_orders": "a", "mart_daily_revenue": "b"})
        assert reshaped(connection, {"fct_orders": "a", "mart_daily_revenue": "b"}) == frozenset()
        assert reshaped(connection, {"fct_orders": "c", "mart_daily_revenue": "b"}) == {"fct_orders"}
        record_shapes(connection, {"fct_orders": "c"})
        assert reshaped(connection, {"fct_orders": "c", "mart_daily_revenue": "b"}) == frozenset()
