"""Contract for one day of hourly weather at the NYC airports (imperial units, as delivered)."""

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from schemas._base import DailyDatasetModel
from schemas.flights import NYC_AIRPORTS

# Hurricane Sandy peaked below 100 mph sustained at these airports; 200 mph is beyond any
# surface wind recorded in New York, so a higher reading is a sensor or unit error.
MAX_WIND_MPH = 200


class Weather(DailyDatasetModel):
    """An hourly observation. Sensors drop out: most measurements may be missing."""

    origin: str = pa.Field(isin=NYC_AIRPORTS, description="Airport of the weather station (FAA code)")
    # Must match the file's day (DailyDatasetModel); admissible days: `dates` in config/datasets/.
    year: pl.Int32 = pa.Field(description="Year of the observation (local)")
    month: pl.Int32 = pa.Field(in_range={"min_value": 1, "max_value": 12}, description="Month of the observation")
    day: pl.Int32 = pa.Field(in_range={"min_value": 1, "max_value": 31}, description="Day of the observation")
    hour: pl.Int32 = pa.Field(in_range={"min_value": 0, "max_value": 23}, description="Local hour of the observation")
    temp: pl.Float64 = pa.Field(
        nullable=True,
        in_range={"min_value": -40, "max_value": 130},
        description="Temperature, F; New York's records are -15 F and 106 F, the bounds leave a margin",
    )
    dewp: pl.Float64 = pa.Field(
        nullable=True, in_range={"min_value": -60, "max_value": 100}, description="Dew point, F"
    )
    humid: pl.Float64 = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": 100}, description="Relative humidity, %"
    )
    wind_dir: pl.Int32 = pa.Field(
        nullable=True,
        in_range={"min_value": 0, "max_value": 360},
        description="Wind direction in compass degrees; 0 is reported for calm air",
    )
    wind_speed: pl.Float64 = pa.Field(
        nullable=True,
        in_range={"min_value": 0, "max_value": MAX_WIND_MPH},
        description="Sustained wind, mph (above 200 mph is a sensor or unit error)",
    )
    wind_gust: pl.Float64 = pa.Field(
        nullable=True, in_range={"min_value": 0, "max_value": MAX_WIND_MPH}, description="Wind gust, mph"
    )
    precip: pl.Float64 = pa.Field(
        in_range={"min_value": 0, "max_value": 12},
        description="Precipitation in the hour, inches; the US hourly record is about 12 inches",
    )
    pressure: pl.Float64 = pa.Field(
        nullable=True,
        in_range={"min_value": 870, "max_value": 1085},
        description="Sea-level pressure, millibars; the Earth's records are 870 and 1084",
    )
    visib: pl.Float64 = pa.Field(
        in_range={"min_value": 0, "max_value": 10},
        description="Visibility, miles; the instruments report 10 for 10 or more",
    )
    time_hour: pl.Datetime(time_zone="UTC") = pa.Field(description="The hour of the observation, in UTC")

    @pa.dataframe_check(error="a gust cannot be slower than the sustained wind")
    def gust_at_least_wind(cls, data: PolarsData) -> pl.LazyFrame:
        gust, wind = pl.col("wind_gust"), pl.col("wind_speed")
        return data.lazyframe.select(gust.is_null() | wind.is_null() | (gust >= wind))

    @pa.dataframe_check(error="dew point cannot exceed the temperature (beyond rounding)")
    def dew_point_below_temperature(cls, data: PolarsData) -> pl.LazyFrame:
        temp, dewp = pl.col("temp"), pl.col("dewp")
        return data.lazyframe.select(temp.is_null() | dewp.is_null() | (dewp <= temp + 0.5))
