"""Contract for one day of the shop's orders."""

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from schemas._base import DatasetModel
from schemas._checks import column_is_on_file_day

STATUSES = ["placed", "shipped", "cancelled"]


class Orders(DatasetModel):
    """An order: who placed it, when, what it came to."""

    order_id: pl.Int64 = pa.Field(ge=1, description="The order's number, unique for ever")
    customer_id: str = pa.Field(str_matches=r"^C\d{3}$", description="The customer who placed it")
    order_date: pl.Date = pa.Field(description="The day it was placed: the file's day")
    status: str = pa.Field(isin=STATUSES, description="Where the order is")
    quantity: pl.Int32 = pa.Field(in_range={"min_value": 1, "max_value": 1_000}, description="Items ordered")
    amount_cents: pl.Int64 = pa.Field(nullable=True, ge=0, description="What it came to, in cents; unknown while open")

    @pa.dataframe_check(error="order_date must be the day in the file name")
    def placed_on_file_day(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(column_is_on_file_day("order_date"))
