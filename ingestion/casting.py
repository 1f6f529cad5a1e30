"""Cast text columns to the types a Pandera model declares, one value at a time.

A value that does not parse becomes a failure case for its row (column, expected type and the
value as written) instead of failing the whole file. The column set is compared with the model
first: that comparison is the schema-drift report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from ingestion.lineage import ROW_NUMBER

if TYPE_CHECKING:
    import pandera.polars as pa

# Timestamp spellings accepted for Datetime columns, tried in order.
DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
TRUE_WORDS = ["true", "t", "yes", "y", "1"]
FALSE_WORDS = ["false", "f", "no", "n", "0"]


# What a column name looks like. A header field that does not (a line of /etc/passwd, a record
# where the header should be) is a record's contents: messages, alerts and lineage never repeat it.
COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ .\-]{0,63}")


def column_label(name: str) -> str:
    """A file's column name as messages give it: quoted if it looks like a name, else only its length."""
    if COLUMN_NAME.fullmatch(name):
        return repr(name)
    return f"<a field of {len(name)} character(s) that is not a column name>"


@dataclass(frozen=True)
class SchemaDrift:
    """How the file's columns differ from the model's."""

    missing: tuple[str, ...]  # declared names the file lacks
    extra: tuple[str, ...]  # the file's own names: in a hostile or headerless file, its first record
    found: tuple[str, ...] = ()  # declared names the file has

    def describe(self) -> str:
        if self.missing and self.extra and not self.found:
            return (
                f"none of the declared columns in the first line ({len(self.extra)} field(s)): it is not the "
                "expected header"
            )
        parts = []
        if self.missing:
            parts.append(f"missing column(s) {list(self.missing)}")
        if self.extra:
            parts.append(f"unexpected column(s) [{', '.join(column_label(name) for name in self.extra)}]")
        return "; ".join(parts) or "columns match the schema"


@dataclass
class CastResult:
    typed: pl.DataFrame  # model columns, typed, + ROW_NUMBER; failed values are null
    failures: pl.DataFrame  # ROW_NUMBER, column, check, failure_case


def model_dtypes(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    """Column name -> Polars dtype, as the Pandera model declares them."""
    return {name: column.dtype.type for name, column in model.to_schema().columns.items()}


def compare_columns(file_columns: list[str], dtypes: dict[str, pl.DataType]) -> SchemaDrift:
    return SchemaDrift(
        missing=tuple(name for name in dtypes if name not in file_columns),
        extra=tuple(name for name in file_columns if name not in dtypes),
        found=tuple(name for name in dtypes if name in file_columns),
    )


def parse_text(text: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """``text`` parsed as ``dtype`` the way ingestion casts a column; null where it does not parse."""
    if dtype == pl.String:
        return text
    if dtype == pl.Boolean:
        lowered = text.str.to_lowercase()
        return pl.when(lowered.is_in(TRUE_WORDS)).then(True).when(lowered.is_in(FALSE_WORDS)).then(False)
    if dtype == pl.Date:
        return text.str.to_date("%Y-%m-%d", strict=False)
    if isinstance(dtype, pl.Datetime):
        attempts = [
            text.str.to_datetime(fmt, strict=False, time_zone=dtype.time_zone, time_unit=dtype.time_unit)
            for fmt in DATETIME_FORMATS
        ]
        return pl.coalesce(attempts)
    # Numbers: a strict cast, so "12.5" is not silently truncated into an integer column.
    return text.cast(dtype, strict=False)


def cast_to_model(
    rows: pl.DataFrame, dtypes: dict[str, pl.DataType], id_columns: Sequence[str] = (ROW_NUMBER,)
) -> CastResult:
    """Cast every model column present in ``rows``; report each value that does not parse.

    ``id_columns`` identify a row (the record number, plus the file when a batch of files is cast
    together) and are carried into both results.
    """
    present = [name for name in dtypes if name in rows.columns]
    typed = rows.select(*id_columns, *[parse_text(pl.col(name), dtypes[name]).alias(name) for name in present])
    failures = [
        rows.select(
            *id_columns,
            column=pl.lit(name),
            check=pl.lit(f"dtype('{dtypes[name]}')"),
            failure_case=pl.col(name),
        ).filter(pl.col("failure_case").is_not_null() & typed.get_column(name).is_null())
        for name in present
    ]
    empty = pl.DataFrame(
        schema={
            **dict.fromkeys(id_columns, pl.Int64),
            "column": pl.String,
            "check": pl.String,
            "failure_case": pl.String,
        }
    )
    failures = pl.concat([empty, *failures])
    return CastResult(typed=typed, failures=failures)
