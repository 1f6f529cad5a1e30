"""Contract for one day of parcels handed to the courier."""

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from schemas._base import DatasetModel
from schemas._checks import column_is_on_file_day


class Shipments(DatasetModel):
    """A parcel: which order it carries, from which store, how heavy."""

    shipment_id: pl.Int64 = pa.Field(ge=1, description="The parcel's number")
    order_id: pl.Int64 = pa.Field(ge=1, description="The order it carries")
    store_id: str = pa.Field(str_matches=r"^S\d{2}$", description="The store it left from")
    shipped_on: pl.Date = pa.Field(description="The day it was handed over: the file's day")
    weight_grams: pl.Int32 = pa.Field(in_range={"min_value": 1, "max_value": 30_000}, description="Its weight")

    @pa.dataframe_check(error="shipped_on must be the day in the file name")
    def shipped_on_file_day(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(column_is_on_file_day("shipped_on"))
