"""Helpers that turn frames and results into Dagster metadata the UI renders well."""

from __future__ import annotations

from collections.abc import Mapping

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


def table_metadata(frame: pl.DataFrame) -> dg.TableMetadataValue:
    """A whole frame as table metadata: the UI shows it as a sortable table, values untruncated."""
    kinds = {pl.Int64: "int", pl.Float64: "float", pl.Boolean: "bool"}
    schema = dg.TableSchema(
        columns=[dg.TableColumn(name, kinds.get(dtype, "string")) for name, dtype in frame.schema.items()]
    )
    return dg.MetadataValue.table([dg.TableRecord(row) for row in frame.iter_rows(named=True)], schema=schema)
