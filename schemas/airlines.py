"""Contract for the carrier reference table."""

import pandera.polars as pa

from schemas._base import DatasetModel


class Airlines(DatasetModel):
    # IATA airline designators are two letters or digits.
    carrier: str = pa.Field(str_matches=r"^[A-Z0-9]{2}$")
    name: str = pa.Field(str_length={"min_value": 1})
