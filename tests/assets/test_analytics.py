"""The analytics computations on small frames whose answers are known."""

import dataclasses
from datetime import date

import duckdb
import polars as pl

from assets.analytics import (
    ANALYTICS_SPECS,
    NO_WEATHER,
    carrier_scorecard_frame,
    compute_analytics,
    weather_impact_frame,
)


def daily(carrier, flights, on_time, cancelled, delay, day=date(2013, 1, 1)):
    return {"flight_date": day, "carrier": carrier, "carrier_name": f"{carrier} Airways", "flights_scheduled": flights,
            "flights_on_time": on_time, "flights_cancelled": cancelled, "avg_arr_delay_min": delay}  # fmt: skip


def test_scorecard_weights_days_by_flights_and_breaks_ties_deterministically():
    frame = pl.DataFrame([
        daily("AA", 100, 90, 0, 10.0), daily("AA", 300, 210, 3, 30.0, date(2013, 1, 2)),
        daily("ZZ", 10, 10, 0, 0.0), daily("YY", 10, 10, 0, 5.0), daily("XX", 20, 20, 0, 5.0),
    ])  # fmt: skip
    scorecard = carrier_scorecard_frame(frame)
    aa = scorecard.filter(pl.col("carrier") == "AA").row(0, named=True)
    assert aa["flights"] == 400
    assert aa["on_time_rate"] == 0.75
    assert aa["avg_arr_delay_min"] == 25.0  # (100*10 + 300*30) / 400, not the mean of daily means
    # Three carriers at 100%: more flights first (XX), then by code (YY before ZZ).
    assert scorecard.get_column("carrier").to_list() == ["XX", "YY", "ZZ", "AA"]
    assert scorecard.get_column("rank").to_list() == [1, 2, 3, 4]


def few_flights() -> pl.DataFrame:
    return pl.DataFrame({
        "dep_delay": [60, 10, 0, None, 5],
        "is_on_time": [False, True, True, False, True],
        "is_cancelled": [False, False, False, True, False],
        "has_weather": [True, True, True, True, False],
        "dep_visibility_mi": [1.0, 10.0, 10.0, 10.0, None],
        "dep_precip_in": [0.2, 0.1, 0.0, 0.0, None],
        "dep_wind_gust_mph": [None, None, None, 30.0, None],
        "dep_temp_f": [50.0, 50.0, 50.0, 20.0, None],
    })  # fmt: skip


def test_weather_impact_puts_each_flight_in_its_most_severe_condition():
    impact = {row["condition"]: row for row in weather_impact_frame(few_flights()).iter_rows(named=True)}
    assert impact["low visibility (< 3 mi)"]["flights"] == 1  # also rainy, counted once, as the worse
    assert impact["precipitation"]["flights"] == 1
    assert impact["strong wind (gusts >= 25 mph)"]["cancellation_rate"] == 1.0
    assert impact["clear"]["flights"] == 1
    assert impact[NO_WEATHER]["flights"] == 1


def test_weather_impact_streamed_in_batches_equals_the_whole_computation():
    """The fact table is read in record batches (memory follows the batch): the result is the same."""
    spec = next(spec for spec in ANALYTICS_SPECS if spec.name == "weather_delay_impact")
    assert spec.partial is not None
    batch_sizes: list[int] = []

    def partial(batch: pl.DataFrame) -> pl.DataFrame:
        batch_sizes.append(batch.height)
        return spec.partial(batch)

    counted = dataclasses.replace(spec, partial=partial)
    flights = pl.concat([few_flights().with_columns(dep_delay=pl.col("dep_delay") + n % 7) for n in range(4000)])
    with duckdb.connect() as connection:
        connection.execute("CREATE SCHEMA marts")
        connection.register("_flights", flights.to_arrow())
        connection.execute("CREATE TABLE marts.fct_flights AS SELECT * FROM _flights")
        streamed = compute_analytics(connection, counted, batch_rows=2048)
        connection.execute("DELETE FROM marts.fct_flights")
        empty = compute_analytics(connection, spec)
    assert len(batch_sizes) > 1 and max(batch_sizes) <= 2048 and sum(batch_sizes) == flights.height
    assert streamed.equals(weather_impact_frame(flights))
    assert empty.is_empty()
