"""The analytics computations on small frames whose answers are known."""

import json
from datetime import date

import polars as pl
import pytest

from analytics.nyc_flights import carrier_scorecard_frame, weather_impact_frame
from assets.analytics import declared_specs
from assets.dbt_assets import per_day_models
from resources.dbt import dbt_resource
from resources.warehouse import WarehouseResource
from tests.demo.support.pipeline import audited_model
from tests.support.warehouse import query


def daily(carrier, flights, on_time, cancelled, delay, day=date(2013, 1, 1)):
    return {
        "flight_date": day,
        "carrier": carrier,
        "carrier_name": f"{carrier} Airways",
        "flights_scheduled": flights,
        "flights_on_time": on_time,
        "flights_cancelled": cancelled,
        "avg_arr_delay_min": delay,
    }


def test_scorecard_weights_days_by_flights_and_breaks_ties_deterministically():
    frame = pl.DataFrame(
        [
            daily("AA", 100, 90, 0, 10.0),
            daily("AA", 300, 210, 3, 30.0, date(2013, 1, 2)),
            daily("ZZ", 10, 10, 0, 0.0),
            daily("YY", 10, 10, 0, 5.0),
            daily("XX", 20, 20, 0, 5.0),
        ]
    )
    scorecard = carrier_scorecard_frame(frame)
    aa = scorecard.filter(pl.col("carrier") == "AA").row(0, named=True)
    assert aa["flights"] == 400
    assert aa["on_time_rate"] == 0.75
    assert aa["avg_arr_delay_min"] == 25.0  # (100*10 + 300*30) / 400, not the mean of daily means
    # Three carriers at 100%: more flights first (XX), then by code (YY before ZZ).
    assert scorecard.get_column("carrier").to_list() == ["XX", "YY", "ZZ", "AA"]
    assert scorecard.get_column("rank").to_list() == [1, 2, 3, 4]


def few_flights() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "dep_delay": [60, 10, 0, None, 5],
            "is_on_time": [False, True, True, False, True],
            "is_cancelled": [False, False, False, True, False],
            "has_weather": [True, True, True, True, False],
            "dep_visibility_mi": [1.0, 10.0, 10.0, 10.0, None],
            "dep_precip_in": [0.2, 0.1, 0.0, 0.0, None],
            "dep_wind_gust_mph": [None, None, None, 30.0, None],
            "dep_temp_f": [50.0, 50.0, 50.0, 20.0, None],
        }
    )


@pytest.mark.integration
def test_the_weather_mart_puts_each_flight_in_its_most_severe_condition(settings, dbt_manifest):
    """The real model, built by dbt over a published fact table of five flights whose conditions are
    known (a full build: every day), read where dbt writes it before publishing."""
    warehouse = WarehouseResource.for_settings(settings)
    with warehouse.writer() as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS marts")
        connection.register("_flights", few_flights().to_arrow())
        connection.execute("CREATE TABLE marts.fct_flights AS SELECT DATE '2013-01-01' AS flight_date, * FROM _flights")
    invocation = dbt_resource(settings).cli(
        ["run", "--select", "mart_weather_daily_impact", "--full-refresh", "--vars", json.dumps(warehouse.dbt_vars())],
        manifest=dbt_manifest,
        raise_on_error=False,
    )
    assert invocation.wait().is_successful(), invocation.get_error()
    written = audited_model("mart_weather_daily_impact").audit_table
    rows = query(
        settings, f"SELECT weather_condition, flights, dep_delay_sum, flights_cancelled FROM {written} ORDER BY ALL"
    )
    assert rows == [
        ("clear", 1, 0, 0),
        ("low visibility (< 3 mi)", 1, 60, 0),  # also rainy: counted once, as the worse
        ("no observation", 1, 5, 0),
        ("precipitation", 1, 10, 0),
        ("strong wind (gusts >= 25 mph)", 1, None, 1),  # and freezing: wind is the more severe
    ]


def daily_weather(day: int, condition: str, flights: int, delay_sum: int, delays: int, on_time: int) -> dict:
    return {
        "flight_date": date(2013, 1, day),
        "weather_condition": condition,
        "flights": flights,
        "dep_delay_sum": delay_sum,
        "dep_delay_count": delays,
        "flights_on_time": on_time,
        "flights_cancelled": flights - delays,
    }


def test_weather_impact_adds_up_the_days_before_dividing():
    daily = pl.DataFrame(
        [
            daily_weather(1, "clear", 100, 500, 100, 90),
            daily_weather(2, "clear", 300, 4500, 300, 210),
            daily_weather(1, "precipitation", 10, 300, 8, 2),
            daily_weather(2, "no observation", 2, 0, 0, 0),
        ]
    )
    impact = {row["condition"]: row for row in weather_impact_frame(daily).iter_rows(named=True)}
    assert impact["clear"]["flights"] == 400
    assert impact["clear"]["avg_dep_delay_min"] == 12.5  # (500 + 4500) / 400, not the mean of 5 and 15
    assert impact["clear"]["on_time_rate"] == 0.75
    assert impact["precipitation"]["cancellation_rate"] == 0.2
    assert impact["no observation"]["avg_dep_delay_min"] is None, "no delay at all: no mean, not 0"
    assert list(impact) == ["precipitation", "clear", "no observation"], "worst delay first, no mean last"


def test_every_analytics_table_reads_per_day_aggregates_not_the_fact_table(dbt_manifest):
    """What keeps the analytics' cost flat in the history: a few rows per day, never one per flight."""
    per_day = per_day_models(json.loads(dbt_manifest.read_text()))
    for spec in declared_specs():
        assert spec.mart in per_day and spec.mart != "fct_flights", spec.name
