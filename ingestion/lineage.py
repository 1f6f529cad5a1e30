"""The columns ingestion adds to every row it writes, so each row can be traced to its file and run:
the one home of their names, types and meanings.

A raw table is ``_row_number``, the dataset's model columns, then the lineage below (``_partition_date``
for daily datasets only); a quarantine table carries the same lineage around the rejected record.
The asset metadata (assets/ingestion_factory.py) and the generated dbt sources (contract/) describe
the columns from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

ROW_NUMBER = "_row_number"
PARTITION_DATE = "_partition_date"
SOURCE_FILE = "_source_file"
LOADED_AT = "_loaded_at"
RUN_ID = "_run_id"
# When a load happened, everywhere it is recorded (rows, the load log, the claims).
TIMESTAMP = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class LineageColumn:
    name: str
    dtype: pl.DataType
    description: str
    daily_only: bool = False


ROW_NUMBER_COLUMN = LineageColumn(
    ROW_NUMBER, pl.Int64(), "Record number in the source file (1 = first row after the header)"
)
# After the model's columns, in this order.
TRAILING = (
    LineageColumn(PARTITION_DATE, pl.Date(), "Day named by the file (daily datasets only)", daily_only=True),
    LineageColumn(SOURCE_FILE, pl.String(), "Archived file the row came from, relative to the archive root"),
    LineageColumn(LOADED_AT, TIMESTAMP, "When the row was loaded"),
    LineageColumn(RUN_ID, pl.String(), "Dagster run that loaded the row"),
)
# The same in every row of a load: nothing to learn from their null counts.
CONSTANT_PER_LOAD = (SOURCE_FILE, LOADED_AT, RUN_ID)


def lineage_columns(daily: bool) -> list[LineageColumn]:
    """Every lineage column of a raw table, ``_row_number`` first."""
    return [ROW_NUMBER_COLUMN, *(column for column in TRAILING if daily or not column.daily_only)]


def raw_columns(model_dtypes: dict[str, pl.DataType], daily: bool) -> dict[str, pl.DataType]:
    """A raw table's columns and types, in order: ``_row_number``, the model's, then the lineage."""
    trailing = [column for column in lineage_columns(daily) if column is not ROW_NUMBER_COLUMN]
    return {ROW_NUMBER: ROW_NUMBER_COLUMN.dtype, **model_dtypes, **{column.name: column.dtype for column in trailing}}
