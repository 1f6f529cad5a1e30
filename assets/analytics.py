"""Python analytics downstream of the dbt marts, computed in Polars.

Each asset reads its marts read-only, computes in Polars, and writes one table to the
``analytics`` schema (so the result is queryable, not only visible in the UI), with the result
as a table and a chart in its materialisation metadata.

An analytics table over the fact table (one row per flight, every day of the history) is computed
as partial aggregates of record batches streamed out of DuckDB, then combined: its memory follows
the batch, never the history. One over a daily mart (a row per carrier and day) reads it whole.
"""

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import duckdb
import polars as pl

from assets.automation import REFRESH_AFTER_CHECKS_PASS
from assets.charts import bar_chart
from assets.layers import ANALYTICS, PIPELINE_GROUP
from assets.metadata import null_counts, table_metadata
from resources.warehouse import WRITER_RETRY, WarehouseResource, retry_only_transient

CARRIER_PERFORMANCE = dg.AssetKey(["marts", "mart_carrier_daily_performance"])
FACT_FLIGHTS = dg.AssetKey(["marts", "fct_flights"])

# Weather at the origin in the scheduled hour, most severe first: a flight falls in the first
# condition that holds. Thresholds follow aviation practice (IFR below 3 miles visibility; 25 mph
# gusts are where crosswind limits start to bite for regional jets).
WEATHER_CONDITIONS: list[tuple[str, pl.Expr]] = [
    ("low visibility (< 3 mi)", pl.col("dep_visibility_mi") < 3),
    ("precipitation", pl.col("dep_precip_in") > 0),
    ("strong wind (gusts >= 25 mph)", pl.col("dep_wind_gust_mph") >= 25),
    ("freezing (< 32 F)", pl.col("dep_temp_f") < 32),
    ("clear", pl.col("has_weather")),
]
NO_WEATHER = "no observation"


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


def weather_impact_partial(flights: pl.DataFrame) -> pl.DataFrame:
    """Counts and sums by the weather at departure, for some of the flights: they add up across batches."""
    condition = pl.when(WEATHER_CONDITIONS[0][1]).then(pl.lit(WEATHER_CONDITIONS[0][0]))
    for label, test in WEATHER_CONDITIONS[1:]:
        condition = condition.when(test).then(pl.lit(label))
    return (
        flights.with_columns(condition=condition.otherwise(pl.lit(NO_WEATHER)))
        .group_by("condition")
        .agg(
            flights=pl.len(),
            dep_delay_sum=pl.col("dep_delay").cast(pl.Int64).sum(),
            dep_delay_count=pl.col("dep_delay").count(),
            on_time=pl.col("is_on_time").sum(),
            cancelled=pl.col("is_cancelled").sum(),
        )
    )


def weather_impact_combine(partials: pl.DataFrame) -> pl.DataFrame:
    """Departure delay, on-time and cancellation rates by the weather at departure, from the partials."""
    totals = partials.group_by("condition").agg(pl.all().sum())
    return totals.select(
        "condition",
        "flights",
        # The mean of the flights that have a delay (a condition with none has no mean, not 0).
        avg_dep_delay_min=pl.when(pl.col("dep_delay_count") > 0)
        .then(pl.col("dep_delay_sum") / pl.col("dep_delay_count"))
        .round(2),
        on_time_rate=(pl.col("on_time") / pl.col("flights")).round(4),
        cancellation_rate=(pl.col("cancelled") / pl.col("flights")).round(4),
    ).sort("avg_dep_delay_min", descending=True, nulls_last=True)


def weather_impact_frame(flights: pl.DataFrame) -> pl.DataFrame:
    """Departure delay, on-time and cancellation rates by the weather at departure."""
    return weather_impact_combine(weather_impact_partial(flights))


@dataclass(frozen=True)
class AnalyticsSpec:
    """One analytics table: what it reads from the marts, how Polars computes it, how it is charted."""

    name: str
    deps: tuple[dg.AssetKey, ...]
    description: str
    query: str
    compute: Callable[[pl.DataFrame], pl.DataFrame]  # of the whole query, or of the combined partials
    chart_title: str
    chart: Callable[[pl.DataFrame], dg.MarkdownMetadataValue]
    # Set for a query over the fact table: applied to each streamed batch; ``compute`` combines them.
    partial: Callable[[pl.DataFrame], pl.DataFrame] | None = None


# Rows of the fact table per streamed batch: a few tens of MB of the analytics' columns.
BATCH_ROWS = 1_000_000


def compute_analytics(
    connection: duckdb.DuckDBPyConnection, spec: AnalyticsSpec, batch_rows: int = BATCH_ROWS
) -> pl.DataFrame:
    """Run ``spec`` on the warehouse: whole, or batch by batch when it has a partial step."""
    if spec.partial is None:
        return spec.compute(connection.sql(spec.query).pl())
    reader = connection.execute(spec.query).to_arrow_reader(batch_rows)
    partials = [spec.partial(pl.DataFrame(pl.from_arrow(batch))) for batch in reader]
    if not partials:  # no flights at all: the partial of an empty frame, with the query's columns
        partials = [spec.partial(pl.DataFrame(pl.from_arrow(reader.schema.empty_table())))]
    return spec.compute(pl.concat(partials))


def build_analytics_asset(spec: AnalyticsSpec, pool: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=[ANALYTICS, spec.name],
        group_name=PIPELINE_GROUP,
        tags={"layer": ANALYTICS},
        deps=list(spec.deps),
        description=f"{spec.description} Written to analytics.{spec.name}.",
        kinds={"polars", "duckdb"},
        pool=pool,
        retry_policy=WRITER_RETRY,
        automation_condition=REFRESH_AFTER_CHECKS_PASS,
    )
    def _asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
        with retry_only_transient():
            with warehouse.read_only() as connection:
                result = compute_analytics(connection, spec)
            with warehouse.writer() as connection:
                connection.register("_result", result.to_arrow())
                # Safe to interpolate: spec names are constants in this module.
                connection.execute(f"CREATE OR REPLACE TABLE {ANALYTICS}.{spec.name} AS SELECT * FROM _result")
            warehouse.publish_reader_copy()
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.height,
                "null_counts": null_counts(result),
                # A table renders inline in the UI; Markdown this long would hide behind "Show Markdown".
                "result": table_metadata(result),
                spec.chart_title: spec.chart(result),
            }
        )

    return _asset


ANALYTICS_SPECS = [
    AnalyticsSpec(
        name="carrier_scorecard",
        deps=(CARRIER_PERFORMANCE,),
        description="Carriers ranked by on-time rate over all loaded days, with cancellations and average "
        "arrival delay.",
        query="SELECT * FROM marts.mart_carrier_daily_performance",
        compute=carrier_scorecard_frame,
        chart_title="on_time_rate_by_carrier",
        chart=lambda frame: bar_chart(
            frame.get_column("carrier_name").to_list(),
            [rate * 100 for rate in frame.get_column("on_time_rate").to_list()],
            title="On-time arrival rate by carrier",
            unit="%",
        ),
    ),
    AnalyticsSpec(
        name="weather_delay_impact",
        deps=(FACT_FLIGHTS,),
        description="How the weather at the origin in the departure hour relates to departure delay, on-time "
        "and cancellation rates.",
        query="SELECT dep_delay, is_on_time, is_cancelled, has_weather, dep_visibility_mi, dep_precip_in, "
        "dep_wind_gust_mph, dep_temp_f FROM marts.fct_flights",
        partial=weather_impact_partial,
        compute=weather_impact_combine,
        chart_title="avg_departure_delay_by_weather",
        chart=lambda frame: bar_chart(
            frame.get_column("condition").to_list(),
            frame.get_column("avg_dep_delay_min").fill_null(0).to_list(),
            title="Average departure delay by weather at the origin",
            unit=" min",
        ),
    ),
]


def build_analytics_assets(pool: str) -> list[dg.AssetsDefinition]:
    """The analytics assets; ``pool``: the transforms' writer pool (resources/pools.py)."""
    return [build_analytics_asset(spec, pool) for spec in ANALYTICS_SPECS]
