"""What each mart is built from, as a fingerprint: when it changes, the mart is rebuilt whole.

A per-day mart is rebuilt by day: a build replaces the days whose inputs changed. That keeps the
history right only while the model itself stays the same. When its SQL changes, or the SQL of a
model it reads, or a macro they use, or the columns of a raw table under it (a contract change:
config/changes.py), every day it holds was computed the old way, and its columns may differ from
the published table's. So each published mart's fingerprint is recorded with it; a build whose
manifest gives a mart another fingerprint builds that mart's every day and publishes it whole, in
the same version as the rest (no manual full refresh, no other mart held up).

The fingerprint is dbt's own checksum of each model file and macro (manifest.json), and the
source columns' names and types (generated from the contracts), over the model and all it reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from warehouse.catalog import table_exists
from warehouse.layout import meta_table

PUBLISHED_SHAPES = meta_table("published_shapes")
SHAPES_DDL = f"CREATE TABLE IF NOT EXISTS {PUBLISHED_SHAPES} (model VARCHAR NOT NULL, shape VARCHAR NOT NULL)"


@dataclass(frozen=True)
class Reshaping:
    """What a build publishes whole because it was reshaped, and every built model's fingerprint."""

    whole: frozenset[str] = frozenset()
    shapes: Mapping[str, str] = field(default_factory=dict)


NOT_RESHAPED = Reshaping()


def model_shapes(manifest: Mapping[str, Any], models: Iterable[str]) -> dict[str, str]:
    """The fingerprint of each of ``models`` (names of models in ``manifest``)."""
    nodes, sources, macros = manifest["nodes"], manifest["sources"], manifest.get("macros", {})
    digests: dict[str, str] = {}

    def digest(unique_id: str) -> str:
        if unique_id in digests:
            return digests[unique_id]
        if unique_id in sources:
            columns = sources[unique_id].get("columns", {})
            parts = [f"{name}:{column.get('data_type')}" for name, column in sorted(columns.items())]
        else:
            node = nodes[unique_id]
            depends = node.get("depends_on", {})
            parts = [node.get("checksum", {}).get("checksum", "")]
            parents = [parent for parent in depends.get("nodes", []) if parent in nodes or parent in sources]
            parts += sorted(digest(parent) for parent in parents)
            parts += sorted(_macro(macros, name) for name in depends.get("macros", []))
        digests[unique_id] = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
        return digests[unique_id]

    by_name = {node["name"]: unique_id for unique_id, node in nodes.items() if node.get("resource_type") == "model"}
    return {name: digest(by_name[name]) for name in models if name in by_name}


def _macro(macros: Mapping[str, Any], unique_id: str) -> str:
    sql = macros.get(unique_id, {}).get("macro_sql", "")
    return hashlib.sha256(f"{unique_id}:{sql}".encode()).hexdigest()[:16]


def published_shapes(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each published mart's fingerprint, as recorded when it was published (none before the first)."""
    if not table_exists(connection, PUBLISHED_SHAPES):
        return {}
    return dict(connection.execute(f"SELECT model, shape FROM {PUBLISHED_SHAPES}").fetchall())


def reshaped(connection: duckdb.DuckDBPyConnection, shapes: Mapping[str, str]) -> frozenset[str]:
    """The models published under another fingerprint than the one they have now."""
    recorded = published_shapes(connection)
    return frozenset(name for name, shape in shapes.items() if recorded.get(name, shape) != shape)


def record_shapes(connection: duckdb.DuckDBPyConnection, shapes: Mapping[str, str]) -> None:
    """Record ``shapes`` of the models being published, in the caller's (publishing) transaction."""
    if not shapes:
        return
    connection.execute(SHAPES_DDL)
    names = list(shapes)
    connection.execute(f"DELETE FROM {PUBLISHED_SHAPES} WHERE model IN ({', '.join('?' for _ in names)})", names)
    connection.executemany(f"INSERT INTO {PUBLISHED_SHAPES} VALUES (?, ?)", list(shapes.items()))
