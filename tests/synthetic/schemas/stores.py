"""Contract for the shop's list of stores."""

import pandera.polars as pa

from schemas._base import DatasetModel


class Stores(DatasetModel):
    """A store, by its code."""

    store_id: str = pa.Field(str_matches=r"^S\d{2}$", description="The store's code")
    city: str = pa.Field(str_length={"min_value": 1}, description="Where it is")
