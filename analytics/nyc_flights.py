"""The demo's analytics: carriers ranked by punctuality, and how the weather relates to delays.

Both read per-day aggregates (a row per carrier and day, per weather condition and day), never
the fact table: those marts rebuild only the days that changed, and what the analytics read is
a few rows per day, so their cost stays small however long the history grows.
"""

import polars as pl

from analytics.charts import bar_chart
from analytics.spec import AnalyticsSpec

CARRIER_PERFORMANCE = "mart_carrier_daily_performance"
# The conditions themselves (most severe first) are defined where flights are put in them:
# dbt_project/models/marts/mart_weather_daily_impact.sql.
WEATHER_DAILY_IMPACT = "mart_weather_daily_impact"


# On-time rate first, then fewer cancellations, then more flights; the code breaks any tie left.
RANKING = ["on_time_rate", "cancellation_rate", "flights", "carrier"]


def carrier_scorecard_frame(daily: pl.DataFrame) -> pl.DataFrame:
    """Rank carriers over all loaded days: on-time rate first, then cancellations and delay."""
    return (
        daily.group_by("carrier", "carrier_name")
        .agg(
            flights=pl.col("flights_scheduled").sum(),
            on_time=pl.col("flights_on_time").sum(),
            cancelled=pl.col("flights_cancelled").sum(),
            # Weighted by flights, so a quiet day does not count as much as a busy one.
            avg_arr_delay_min=(pl.col("avg_arr_delay_min") * pl.col("flights_scheduled")).sum()
            / pl.col("flights_scheduled").filter(pl.col("avg_arr_delay_min").is_not_null()).sum(),
            days=pl.col("flight_date").n_unique(),
        )
        .with_columns(
            on_time_rate=(pl.col("on_time") / pl.col("flights")).round(4),
            cancellation_rate=(pl.col("cancelled") / pl.col("flights")).round(4),
            avg_arr_delay_min=pl.col("avg_arr_delay_min").round(2),
        )
        # A complete order, so ties (small carriers often tie) rank the same way on every run.
        .sort(RANKING, descending=[True, False, True, False])
        .with_row_index("rank", offset=1)
    )


def weather_impact_frame(daily: pl.DataFrame) -> pl.DataFrame:
    """Departure delay, on-time and cancellation rates by the weather at departure, from the
    per-day counts and sums of mart_weather_daily_impact."""
    totals = daily.group_by(condition="weather_condition").agg(
        pl.col("flights", "dep_delay_sum", "dep_delay_count", "flights_on_time", "flights_cancelled").sum()
    )
    return totals.select(
        "condition",
        "flights",
        # The mean of the flights that have a delay (a condition with none has no mean, not 0).
        avg_dep_delay_min=pl.when(pl.col("dep_delay_count") > 0)
        .then(pl.col("dep_delay_sum") / pl.col("dep_delay_count"))
        .round(2),
        on_time_rate=(pl.col("flights_on_time") / pl.col("flights")).round(4),
        cancellation_rate=(pl.col("flights_cancelled") / pl.col("flights")).round(4),
    ).sort("avg_dep_delay_min", descending=True, nulls_last=True)


CARRIER_SCORECARD = AnalyticsSpec(
    name="carrier_scorecard",
    mart=CARRIER_PERFORMANCE,
    description="Carriers ranked by on-time rate over all loaded days, with cancellations and average arrival delay.",
    compute=carrier_scorecard_frame,
    chart_title="on_time_rate_by_carrier",
    chart=lambda frame: bar_chart(
        frame.get_column("carrier_name").to_list(),
        [rate * 100 for rate in frame.get_column("on_time_rate").to_list()],
        title="On-time arrival rate by carrier",
        unit="%",
    ),
)
WEATHER_DELAY_IMPACT = AnalyticsSpec(
    name="weather_delay_impact",
    mart=WEATHER_DAILY_IMPACT,
    description="How the weather at the origin in the departure hour relates to departure delay, on-time "
    "and cancellation rates.",
    compute=weather_impact_frame,
    chart_title="avg_departure_delay_by_weather",
    chart=lambda frame: bar_chart(
        frame.get_column("condition").to_list(),
        frame.get_column("avg_dep_delay_min").fill_null(0).to_list(),
        title="Average departure delay by weather at the origin",
        unit=" min",
    ),
)
