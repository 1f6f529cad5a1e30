"""Expressions shared by the models: clock times written as hhmm integers."""

import polars as pl

# The column ingestion adds to a daily dataset before validation: the day named by the file.
from ingestion.lineage import PARTITION_DATE


def hhmm_minutes(column: str) -> pl.Expr:
    """Minutes after midnight of an hhmm integer clock time (e.g. 1545 -> 945)."""
    return (pl.col(column) // 100) * 60 + pl.col(column) % 100


def valid_hhmm(column: str, *, allow_2400: bool) -> pl.Expr:
    """True where the value is a real hhmm clock time (minutes below 60), or null."""
    upper = 2400 if allow_2400 else 2359
    value = pl.col(column)
    return value.is_null() | (value.is_between(0, upper) & (value % 100 < 60))


def same_minute_of_day(actual: str, scheduled: str, delay: str) -> pl.Expr:
    """True where ``actual - scheduled == delay`` on the 24h clock (a delay may cross midnight)."""
    gap = (hhmm_minutes(actual) - hhmm_minutes(scheduled) - pl.col(delay)) % 1440
    return pl.col(actual).is_null() | pl.col(delay).is_null() | (gap == 0)


def row_is_on_file_day() -> pl.Expr:
    """True where year/month/day is the day the file is named for.

    Compared part by part: building a date would raise on an impossible one (February 30) and
    turn a bad row into a failed check of the whole frame; here it is just a row that fails.
    """
    day = pl.col(PARTITION_DATE)
    same = (pl.col("year") == day.dt.year()) & (pl.col("month") == day.dt.month()) & (pl.col("day") == day.dt.day())
    return same.fill_null(False)


def column_is_on_file_day(column: str) -> pl.Expr:
    """True where the date column ``column`` is the day the file is named for."""
    return (pl.col(column) == pl.col(PARTITION_DATE)).fill_null(False)
