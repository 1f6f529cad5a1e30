"""Contract for the aircraft registry (FAA tail numbers)."""

import pandera.polars as pa
import polars as pl

from schemas._base import DatasetModel

PLANE_TYPES = ["Fixed wing multi engine", "Fixed wing single engine", "Rotorcraft"]
ENGINE_TYPES = ["Turbo-fan", "Turbo-jet", "Turbo-prop", "Turbo-shaft", "Reciprocating", "4 Cycle"]


class Planes(DatasetModel):
    tailnum: str = pa.Field(str_matches=r"^N[0-9A-Z]{1,5}$")
    # Year of manufacture: the jet age starts in the 1950s; unknown for some registrations.
    year: pl.Int32 = pa.Field(nullable=True, in_range={"min_value": 1940, "max_value": 2100})
    type: str = pa.Field(isin=PLANE_TYPES)
    manufacturer: str = pa.Field(str_length={"min_value": 1})
    model: str = pa.Field(str_length={"min_value": 1})
    engines: pl.Int32 = pa.Field(in_range={"min_value": 1, "max_value": 8})
    # The largest airliner (A380) seats under 900.
    seats: pl.Int32 = pa.Field(in_range={"min_value": 1, "max_value": 900})
    # Cruise speed in mph; mostly unknown in the registry.
    speed: pl.Int32 = pa.Field(nullable=True, in_range={"min_value": 1, "max_value": 800})
    engine: str = pa.Field(isin=ENGINE_TYPES)
