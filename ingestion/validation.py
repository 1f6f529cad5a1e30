"""Validate typed rows with a Pandera model and split them into valid and rejected.

Pandera runs with ``lazy=True`` on a collected DataFrame, so every failed check on every row is
reported in one pass (a LazyFrame would only get a schema check). Its failure cases carry the
positional index of the row, which maps back to the record number in the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from ingestion.lineage import ROW_NUMBER

FAILURE_CASES_SCHEMA = {ROW_NUMBER: pl.Int64, "column": pl.String, "check": pl.String, "failure_case": pl.String}


@dataclass
class ValidationOutcome:
    valid: pl.DataFrame  # rows that passed every check
    failure_cases: pl.DataFrame  # one row per (record, column, check) that failed
    frame_errors: list[str]  # failures not tied to a row (e.g. a dtype the frame cannot have)


def empty_failure_cases(id_columns: Sequence[str] = (ROW_NUMBER,)) -> pl.DataFrame:
    return pl.DataFrame(schema={**dict.fromkeys(id_columns, pl.Int64), **FAILURE_CASES_SCHEMA})


def build_schema(model: type[pa.DataFrameModel], primary_key: tuple[str, ...]) -> pa.DataFrameSchema:
    """The model's schema plus uniqueness of the dataset's primary key (declared in config, once)."""
    schema = model.to_schema()
    schema.unique = list(primary_key)
    # Every copy of a duplicated key is rejected: the feed cannot tell us which one is right.
    schema.report_duplicates = "all"
    return schema


def validate_rows(
    typed: pl.DataFrame, schema: pa.DataFrameSchema, id_columns: Sequence[str] = (ROW_NUMBER,)
) -> ValidationOutcome:
    """Validate ``typed``; never raises for data problems.

    ``id_columns`` identify a row (the record number, plus the file when several files are
    validated together); failure cases carry them instead of Pandera's positional index.
    """
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return ValidationOutcome(typed, empty_failure_cases(id_columns), [])
    row_level = cases.filter(pl.col("index").is_not_null())
    frame_level = cases.filter(pl.col("index").is_null())
    failures = (
        pl.concat(
            [typed.select(id_columns)[row_level.get_column("index")], row_level.drop(*id_columns, strict=False)],
            how="horizontal",
        )
        .select(
            *id_columns,
            # Dataframe-level checks have no column: name the check's subject as the model does.
            pl.col("column").fill_null(pl.col("schema_context")),
            pl.col("check"),
            # A dataframe-level failure case is the whole row; the record is quarantined whole anyway.
            pl.when(pl.col("schema_context") == "Column")
            .then(pl.col("failure_case").cast(pl.String))
            .alias("failure_case"),
        )
        .unique()
    )
    valid = typed.join(failures.select(id_columns).unique(), on=list(id_columns), how="anti")
    frame_errors = [
        f"{row['column'] or row['schema_context']}: {row['check']} ({row['failure_case']})"
        for row in frame_level.iter_rows(named=True)
    ]
    return ValidationOutcome(valid, failures, frame_errors)
