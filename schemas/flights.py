"""Contract for one day of departures from New York City."""

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from schemas._base import DailyDatasetModel
from schemas._checks import hhmm_minutes, same_minute_of_day, valid_hhmm

# Carriers that flew from NYC in 2013 (see airlines.csv). A new carrier is a reviewed change to
# this list, so an unknown code in a feed is caught as it arrives rather than as a broken join.
KNOWN_CARRIERS = [
    "9E",
    "AA",
    "AS",
    "B6",
    "DL",
    "EV",
    "F9",
    "FL",
    "HA",
    "MQ",
    "OO",
    "UA",
    "US",
    "VX",
    "WN",
    "YV",
]
NYC_AIRPORTS = ["EWR", "JFK", "LGA"]
# Delays are minutes. The worst real departure delay in 2013 was 1,301 min (under a day); an
# early departure of more than two hours is not a real schedule. Outside that is corruption.
MAX_DELAY_MIN = 24 * 60
MIN_DELAY_MIN = -120


class Flights(DailyDatasetModel):
    """A departure. Cancelled flights have no dep_time / arr_time / delays: that is not an error."""

    # Which days are admissible at all is the dataset's `dates` in config/datasets/.
    year: pl.Int32 = pa.Field(description="Year of the scheduled departure (local); must be the file's day")
    month: pl.Int32 = pa.Field(
        in_range={"min_value": 1, "max_value": 12}, description="Month of the scheduled departure"
    )
    day: pl.Int32 = pa.Field(in_range={"min_value": 1, "max_value": 31}, description="Day of the scheduled departure")
    dep_time: pl.Int32 = pa.Field(
        nullable=True,
        in_range={"min_value": 1, "max_value": 2400},
        description="Actual departure, local hhmm (2400 is how the feed writes midnight); none when cancelled",
    )
    sched_dep_time: pl.Int32 = pa.Field(
        in_range={"min_value": 0, "max_value": 2359}, description="Scheduled departure, local hhmm"
    )
    dep_delay: pl.Int32 = pa.Field(
        nullable=True,
        in_range={"min_value": MIN_DELAY_MIN, "max_value": MAX_DELAY_MIN},
        description="Departure delay in minutes (negative: early); none when cancelled",
    )
    arr_time: pl.Int32 = pa.Field(
        nullable=True, in_range={"min_value": 1, "max_value": 2400}, description="Actual arrival, local hhmm"
    )
    sched_arr_time: pl.Int32 = pa.Field(
        in_range={"min_value": 0, "max_value": 2359}, description="Scheduled arrival, local hhmm"
    )
    arr_delay: pl.Int32 = pa.Field(
        nullable=True,
        in_range={"min_value": MIN_DELAY_MIN, "max_value": MAX_DELAY_MIN},
        description="Arrival delay in minutes (negative: early); none when cancelled or diverted",
    )
    carrier: str = pa.Field(isin=KNOWN_CARRIERS, description="Two-character airline code (airlines.carrier)")
    flight: pl.Int32 = pa.Field(in_range={"min_value": 1, "max_value": 9999}, description="Flight number")
    tailnum: str = pa.Field(
        nullable=True,
        str_matches=r"^N[0-9A-Z]{1,5}$",
        description="FAA registration of the aircraft: N + 1-5 letters/digits; missing for some cancelled flights",
    )
    origin: str = pa.Field(isin=NYC_AIRPORTS, description="Departure airport (FAA code): EWR, JFK or LGA")
    dest: str = pa.Field(str_matches=r"^[A-Z0-9]{3}$", description="Destination airport (FAA code)")
    air_time: pl.Int32 = pa.Field(
        nullable=True,
        in_range={"min_value": 1, "max_value": 900},
        description="Minutes in the air; the longest NYC route (to Honolulu) is about 11 hours",
    )
    distance: pl.Int32 = pa.Field(
        in_range={"min_value": 1, "max_value": 6000},
        description="Statute miles between the airports; Honolulu (4,983) is the farthest from NYC",
    )
    hour: pl.Int32 = pa.Field(in_range={"min_value": 0, "max_value": 23}, description="Hour of sched_dep_time")
    minute: pl.Int32 = pa.Field(in_range={"min_value": 0, "max_value": 59}, description="Minute of sched_dep_time")
    time_hour: pl.Datetime(time_zone="UTC") = pa.Field(description="The scheduled departure's hour, in UTC")

    @pa.dataframe_check(error="dep_time and arr_time must be real hhmm times (minutes < 60)")
    def clock_times_are_hhmm(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            valid_hhmm("dep_time", allow_2400=True)
            & valid_hhmm("arr_time", allow_2400=True)
            & valid_hhmm("sched_dep_time", allow_2400=False)
            & valid_hhmm("sched_arr_time", allow_2400=False)
        )

    @pa.dataframe_check(error="hour and minute must be sched_dep_time split in two")
    def hour_minute_match_schedule(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("hour") * 100 + pl.col("minute") == pl.col("sched_dep_time"))

    @pa.dataframe_check(error="dep_delay must equal dep_time - sched_dep_time (mod 24h)")
    def departure_delay_consistent(cls, data: PolarsData) -> pl.LazyFrame:
        # Holds for every real 2013 row, so a mismatch means a corrupted time or delay.
        return data.lazyframe.select(same_minute_of_day("dep_time", "sched_dep_time", "dep_delay"))

    @pa.dataframe_check(error="arr_delay must equal arr_time - sched_arr_time (mod 24h)")
    def arrival_delay_consistent(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(same_minute_of_day("arr_time", "sched_arr_time", "arr_delay"))

    @pa.dataframe_check(error="a flight with no dep_time (cancelled) cannot have a dep_delay, or vice versa")
    def cancelled_has_no_delay(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("dep_time").is_null() == pl.col("dep_delay").is_null())

    @pa.dataframe_check(
        error="arrival must come after departure: air_time cannot exceed the clock time between "
        "dep_time and arr_time (across midnight) plus the 6h most a time-zone change can add"
    )
    def arrival_after_departure(cls, data: PolarsData) -> pl.LazyFrame:
        elapsed = (hhmm_minutes("arr_time") - hhmm_minutes("dep_time")) % 1440
        return data.lazyframe.select(
            pl.col("air_time").is_null() | pl.col("arr_time").is_null() | (pl.col("air_time") <= elapsed + 360)
        )
