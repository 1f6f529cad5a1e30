"""Base models: what every dataset model shares, and what every daily one does."""

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from schemas._checks import row_is_on_file_day


class DatasetModel(pa.DataFrameModel):
    class Config:
        # Validation runs on frames ingestion has already cast to these columns; a file's extra
        # columns are reported as schema drift there, not failed here.
        strict = False


class DailyDatasetModel(DatasetModel):
    """A dataset delivered one file per day: every row must belong to the file's day."""

    @pa.dataframe_check(error="year/month/day must be the day in the file name")
    def row_belongs_to_file_day(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(row_is_on_file_day())
