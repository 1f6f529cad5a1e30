"""Contract for the shop's customer list."""

import pandera.polars as pa

from schemas._base import DatasetModel

SEGMENTS = ["retail", "wholesale", "online"]


class Customers(DatasetModel):
    """A customer, by its code."""

    customer_id: str = pa.Field(str_matches=r"^C\d{3}$", description="The customer's code")
    customer_name: str = pa.Field(str_length={"min_value": 1}, description="The customer's name")
    segment: str = pa.Field(isin=SEGMENTS, description="Which part of the business the customer buys through")
