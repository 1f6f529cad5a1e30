"""Contract for the FAA airport reference table."""

import pandera.polars as pa
import polars as pl

from schemas._base import DatasetModel


class Airports(DatasetModel):
    """An airport, by its FAA code."""

    faa: str = pa.Field(
        str_matches=r"^[A-Z0-9]{3,4}$",
        description="FAA location identifier: 3-4 letters/digits (small fields use digits, e.g. 04G)",
    )
    name: str = pa.Field(str_length={"min_value": 1}, description="The airport's name")
    lat: pl.Float64 = pa.Field(in_range={"min_value": -90, "max_value": 90}, description="Latitude, degrees")
    lon: pl.Float64 = pa.Field(in_range={"min_value": -180, "max_value": 180}, description="Longitude, degrees")
    alt: pl.Int32 = pa.Field(
        in_range={"min_value": -1500, "max_value": 15000},
        description="Altitude, feet; the Dead Sea shore is about -1,400 and the highest airports near 14,500",
    )
    tz: pl.Int32 = pa.Field(
        in_range={"min_value": -12, "max_value": 14}, description="Offset from UTC in hours (real zones: -12 to +14)"
    )
    dst: str = pa.Field(
        isin=["A", "U", "N", "E", "S", "O", "Z"],
        description="Daylight saving as the FAA file codes it: A (US/Canada), U (unknown), N (none), ...",
    )
    tzone: str = pa.Field(nullable=True, description="IANA time zone name")
