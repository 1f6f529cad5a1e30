"""Generated history for the benchmarks: years of daily files made from the real 2013 data.

Year ``k`` back from 2013 is the 2013 data with every date moved ``k`` years earlier (the text of
``year`` and ``time_hour`` changed, nothing else), so each year has the real rows, the real gaps
and the real quality problems. A leap year simply has no Feb 29. ``scale`` multiplies the flights
of each day: copy ``i`` of a flight gets another flight number, picked so that the primary key
stays unique within the day (a copy that would collide is dropped, so the rows per day are about
``scale`` times the real ones, never a duplicate).

The real config bounds the daily datasets to 2013; the history comes with a copy of
config/datasets/nyc_flights.yaml whose ``dates.earliest`` reaches back to the first generated year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import yaml

from config.datasets import DatasetConfig, load_datasets
from config.settings import PROJECT_ROOT
from demo.nycflights import NULL_MARKER, daily_table, fed, source_bytes
from ingestion.landing import dataset_landing_dir

LAST_YEAR = 2013
FLIGHT_NUMBERS = 9999  # the Pandera model's range for `flight`
KEY = ["year", "month", "day", "carrier", "flight", "origin", "sched_dep_time"]


@dataclass(frozen=True)
class History:
    """What was generated: where, how much, and the datasets file that admits its days."""

    landing: Path
    datasets_path: Path
    years: int
    scale: int
    first_year: int
    flights_files: int
    weather_files: int
    flights_rows: int


def shift_years(frame: pl.DataFrame, years_back: int) -> pl.DataFrame:
    """The same rows ``years_back`` years earlier (text columns, as in the package's CSV)."""
    if years_back == 0:
        return frame
    year = str(LAST_YEAR - years_back)
    return frame.with_columns(
        pl.lit(year).alias("year"),
        (pl.lit(year) + pl.col("time_hour").str.slice(4)).alias("time_hour"),
        pl.col("_day").dt.offset_by(f"-{years_back}y"),
    )


def scaled_flights(flights: pl.DataFrame, scale: int) -> pl.DataFrame:
    """``scale`` copies of each day's flights with other flight numbers and no key twice in a day."""
    if scale == 1:
        return flights
    copies = [flights]
    number = pl.col("flight").cast(pl.Int64)
    for copy in range(1, scale):
        # An odd step coprime with 9999 walks the numbers without repeating one within a copy.
        renumbered = ((number - 1 + copy * 2_503) % FLIGHT_NUMBERS + 1).cast(pl.String)
        copies.append(flights.with_columns(renumbered.alias("flight")))
    return pl.concat(copies).unique(subset=KEY, keep="first", maintain_order=True)


def _write_days(frame: pl.DataFrame, folder: Path, dataset: DatasetConfig) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for (day,), rows in frame.partition_by("_day", as_dict=True).items():
        rows.drop("_day").write_csv(folder / dataset.file_name_for(day), null_value=NULL_MARKER)
        written += 1
    return written


def write_history(root: Path, years: int, scale: int = 1, days: int | None = None) -> History:
    """Write ``years`` years of daily files ending with 2013, and the reference files, under ``root``;
    with ``days``, only the history's first ``days`` days (what a pipeline costs beside its work)."""
    landing = root / "landing"
    first_year = LAST_YEAR - years + 1
    before = date(first_year, 1, 1) + timedelta(days=days) if days is not None else date.max
    datasets_path = write_datasets_path(root / "datasets.yaml", first_year)
    datasets = load_datasets(datasets_path)
    daily = [dataset.name for dataset in fed(datasets, "daily")]
    counts = dict.fromkeys(daily, 0)
    flights_rows = 0
    tables = {name: daily_table(name) for name in daily}
    tables["flights"] = scaled_flights(tables["flights"], scale)
    for years_back in range(years):
        for name in daily:
            shifted = shift_years(tables[name], years_back).filter(pl.col("_day") < before)
            counts[name] += _write_days(shifted, dataset_landing_dir(landing, name), datasets[name])
            if name == "flights":
                flights_rows += shifted.height
    for dataset in fed(datasets, "reference"):
        target = dataset_landing_dir(landing, dataset.name) / dataset.file_name_for()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source_bytes(dataset.name))
    return History(landing, datasets_path, years, scale, first_year, counts["flights"], counts["weather"], flights_rows)


def write_datasets_path(target: Path, first_year: int) -> Path:
    """The demo's datasets with the daily datasets' earliest day moved back to ``first_year``."""
    config = yaml.safe_load((PROJECT_ROOT / "config" / "datasets" / "nyc_flights.yaml").read_text())
    for entry in config["datasets"].values():
        if "dates" in entry:
            entry["dates"]["earliest"] = f"{first_year}-01-01"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target


def history_in_data_folder(workdir: Path, years: int) -> tuple[History, Path]:
    """``years`` of history written under ``workdir``, its landing zone moved into a pipeline data
    folder (``workdir/file``) as the pipeline's landing: (what was generated, the data folder)."""
    history = write_history(workdir / "source", years)
    data_dir = workdir / "file"
    data_dir.mkdir(parents=True)
    history.landing.rename(data_dir / "landing")
    return history, data_dir
