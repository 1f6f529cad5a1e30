"""Helpers that turn frames and results into Dagster metadata the UI renders well."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import dagster as dg
import polars as pl


def markdown_table(frame: pl.DataFrame, max_rows: int = 10) -> dg.MarkdownMetadataValue:
    """A frame's first rows as a Markdown table (for previews and failure samples)."""
    shown = frame.head(max_rows)
    if shown.is_empty():
        return dg.MetadataValue.md("_(no rows)_")
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "| " + " | ".join("---" for _ in shown.columns) + " |"

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")[:80]

    body = ["| " + " | ".join(cell(value) for value in row) + " |" for row in shown.iter_rows()]
    more = [f"\n_{frame.height - max_rows} more rows_"] if frame.height > max_rows else []
    return dg.MetadataValue.md("\n".join([header, rule, *body, *more]))


def column_schema(dtypes: Mapping[str, pl.DataType], descriptions: Mapping[str, str] | None = None) -> dg.TableSchema:
    descriptions = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=name, type=str(dtype), description=descriptions.get(name))
            for name, dtype in dtypes.items()
        ]
    )


def null_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Null count of every column (all zero for an empty frame)."""
    if frame.is_empty():
        return dict.fromkeys(frame.columns, 0)
    return {name: int(count) for name, count in frame.null_count().row(0, named=True).items()}


def _kind(dtype: pl.DataType) -> str:
    if dtype.is_integer() or (isinstance(dtype, pl.Decimal) and dtype.scale == 0):
        return "int"
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return "float"
    return "bool" if dtype == pl.Boolean else "string"


def _cell(value: object) -> str | int | float | bool | None:
    """A value as table metadata holds it: a number, a flag or text (a SUM in DuckDB is a DECIMAL,
    a day is a date: neither is one of those)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def table_metadata(frame: pl.DataFrame) -> dg.TableMetadataValue:
    """A whole frame as table metadata: the UI shows it as a sortable table, values untruncated."""
    schema = dg.TableSchema(columns=[dg.TableColumn(name, _kind(dtype)) for name, dtype in frame.schema.items()])
    rows = frame.iter_rows(named=True)
    records = [dg.TableRecord({name: _cell(value) for name, value in row.items()}) for row in rows]
    return dg.MetadataValue.table(records, schema=schema)
