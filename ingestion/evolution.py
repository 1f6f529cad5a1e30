"""A delivery read under the current contract: the declared changes (config/changes.py) applied to
its columns before they are compared with the schema.

An older name becomes the current one; a column the file may lack (added after its day, retired
before it) is filled, as text like the rest, with the change's default or null. What no change
explains is left as it is, so the comparison that follows still refuses a file that lacks a column.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from functools import cache

import polars as pl

from config.changes import ColumnChange, older_names
from config.datasets import DatasetConfig
from ingestion.reading import RawTable


def under_current_contract(raw: RawTable, changes: Sequence[ColumnChange], day: date | None) -> RawTable:
    """``raw`` (a file for ``day``; None for a reference file) with its columns as the contract now names them."""
    if not changes:
        return raw
    renames = {old: new for old, new in older_names(changes).items() if old in raw.columns and new not in raw.columns}
    columns = [renames.get(name, name) for name in raw.columns]
    rows = raw.rows.rename(renames)
    filled = [
        change
        for change in changes
        if change.column not in columns and change.kind in ("added", "retired") and change.explains_absence(day)
    ]
    if filled:
        rows = rows.with_columns(pl.lit(change.default, dtype=pl.String).alias(change.column) for change in filled)
        columns = [*columns, *(change.column for change in filled)]
    return replace(raw, columns=columns, rows=rows)


@cache
def contract_fingerprint(dataset: DatasetConfig) -> str:
    """What a delivery loaded under ``dataset``'s contract depends on: its columns (names, types,
    nullability, checks), its table-wide checks, its key and its declared changes. Recorded with
    each load (the load log), so that the same bytes reloaded under another contract count as a
    change for the marts they feed (ingestion/changes.py)."""
    schema = dataset.schema_class.to_schema()
    described = {
        "columns": [
            [name, str(column.dtype), column.nullable, sorted(repr(check) for check in column.checks)]
            for name, column in schema.columns.items()
        ],
        "checks": sorted(repr(check) for check in schema.checks),
        "key": list(dataset.primary_key),
        "changes": [change.model_dump(mode="json", exclude_defaults=True) for change in dataset.changes],
        "null_values": list(dataset.null_values),
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]
