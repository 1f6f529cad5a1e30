"""Contract for the aircraft registry (FAA tail numbers)."""

import pandera.polars as pa
import polars as pl

from schemas._base import DatasetModel

PLANE_TYPES = ["Fixed wing multi engine", "Fixed wing single engine", "Rotorcraft"]
ENGINE_TYPES = ["Turbo-fan", "Turbo-jet", "Turbo-prop", "Turbo-shaft", "Reciprocating", "4 Cycle"]


class Planes(DatasetModel):
    """An aircraft, by its tail number."""

    tailnum: str = pa.Field(str_matches=r"^N[0-9A-Z]{1,5}$", description="FAA registration: N + 1-5 letters/digits")
    year: pl.Int32 = pa.Field(
        nullable=True,
        in_range={"min_value": 1940, "max_value": 2100},
        description="Year of manufacture (the jet age starts in the 1950s); unknown for some registrations",
    )
    type: str = pa.Field(isin=PLANE_TYPES, description="Kind of aircraft")
    manufacturer: str = pa.Field(str_length={"min_value": 1}, description="Manufacturer")
    model: str = pa.Field(str_length={"min_value": 1}, description="Model")
    engines: pl.Int32 = pa.Field(in_range={"min_value": 1, "max_value": 8}, description="Number of engines")
    seats: pl.Int32 = pa.Field(
        in_range={"min_value": 1, "max_value": 900}, description="Seats; the largest airliner (A380) seats under 900"
    )
    speed: pl.Int32 = pa.Field(
        nullable=True,
        in_range={"min_value": 1, "max_value": 800},
        description="Cruise speed, mph; mostly unknown in the registry",
    )
    engine: str = pa.Field(isin=ENGINE_TYPES, description="Type of engine")
