"""Contract for the FAA airport reference table."""

import pandera.polars as pa
import polars as pl

from schemas._base import DatasetModel


class Airports(DatasetModel):
    # FAA location identifiers: 3-4 letters/digits (small fields use digits, e.g. 04G).
    faa: str = pa.Field(str_matches=r"^[A-Z0-9]{3,4}$")
    name: str = pa.Field(str_length={"min_value": 1})
    lat: pl.Float64 = pa.Field(in_range={"min_value": -90, "max_value": 90})
    lon: pl.Float64 = pa.Field(in_range={"min_value": -180, "max_value": 180})
    # Feet; the Dead Sea shore is about -1,400 and the highest airports are near 14,500.
    alt: pl.Int32 = pa.Field(in_range={"min_value": -1500, "max_value": 15000})
    # Offset from UTC in hours; real zones run from -12 to +14.
    tz: pl.Int32 = pa.Field(in_range={"min_value": -12, "max_value": 14})
    # Daylight saving: A (US/Canada), U (unknown), N (none), as the FAA file codes it.
    dst: str = pa.Field(isin=["A", "U", "N", "E", "S", "O", "Z"])
    tzone: str = pa.Field(nullable=True)
