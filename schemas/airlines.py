"""Contract for the carrier reference table."""

import pandera.polars as pa

from schemas._base import DatasetModel


class Airlines(DatasetModel):
    """An airline, by its code."""

    carrier: str = pa.Field(str_matches=r"^[A-Z0-9]{2}$", description="IATA airline designator: two letters or digits")
    name: str = pa.Field(str_length={"min_value": 1}, description="The airline's name")
