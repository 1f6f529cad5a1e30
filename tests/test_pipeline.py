"""The pipeline end to end on the synthetic project, on both backends: landed files are loaded,
validated and built, in real Dagster runs with real dbt, into marts and analytics that hold exactly
what the files say, every check passing."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from cli.backfill import run_backfill
from tests.support.warehouse import query
from tests.synthetic import feed

pytestmark = [pytest.mark.integration, pytest.mark.backends]

DAYS = feed.days(6)


def expected_orders() -> pl.DataFrame:
    orders = pl.concat([feed.orders_frame(day) for day in DAYS])
    return orders.join(feed.customers_frame(), on="customer_id", how="left")


def frame(settings, sql: str, columns: list[str]) -> pl.DataFrame:
    return pl.DataFrame(query(settings, sql), schema=columns, orient="row")


def test_landed_days_reach_the_marts_and_the_analytics_exactly(synthetic_settings):
    settings = synthetic_settings
    feed.land(settings, DAYS, reference=True)
    instance = dg.DagsterInstance.ephemeral()
    report = run_backfill(settings, instance)
    assert report.success, {label: result.success for label, result in report.results.items()}

    # Every check of every run passed: the loads' Pandera, drift and volume checks, dbt's tests.
    evaluations = [
        evaluation for result in report.results.values() for evaluation in result.get_asset_check_evaluations()
    ]
    assert {evaluation.check_name for evaluation in evaluations} >= {
        "pandera_validation",
        "schema_drift",
        "unique_fct_orders_order_id",
        "relationships_fct_orders_customer_id__customer_id__ref_stg_customers_",
    }
    assert [evaluation.check_name for evaluation in evaluations if not evaluation.passed] == []

    orders = expected_orders()
    columns = ["order_id", "order_date", "customer_id", "segment", "status", "quantity", "amount_cents"]
    fact = frame(settings, f"SELECT {', '.join(columns)} FROM marts.fct_orders ORDER BY order_id", columns)
    assert fact.to_dicts() == orders.select(columns).sort("order_id").to_dicts()

    kept = orders.filter(pl.col("status") != "cancelled")
    daily = (
        orders.group_by("order_date", "segment")
        .agg(orders=pl.len(), orders_cancelled=(pl.col("status") == "cancelled").sum())
        .join(
            kept.group_by("order_date", "segment").agg(
                items=pl.col("quantity").sum(), revenue_cents=pl.col("amount_cents").sum()
            ),
            on=["order_date", "segment"],
            how="left",
        )
        .with_columns(pl.col("revenue_cents").fill_null(0))
        .sort("order_date", "segment")
    )
    mart_columns = ["order_date", "segment", "orders", "orders_cancelled", "items", "revenue_cents"]
    mart_sql = f"SELECT {', '.join(mart_columns)} FROM marts.mart_daily_revenue ORDER BY 1, 2"
    mart = frame(settings, mart_sql, mart_columns)
    assert mart.to_dicts() == daily.select(mart_columns).to_dicts()

    revenue = frame(
        settings,
        "SELECT segment, orders, revenue_cents, days FROM analytics.segment_revenue ORDER BY segment",
        ["segment", "orders", "revenue_cents", "days"],
    )
    per_segment = (
        daily.group_by("segment")
        .agg(orders=pl.col("orders").sum(), revenue_cents=pl.col("revenue_cents").sum(), days=pl.len())
        .sort("segment")
    )
    assert revenue.to_dicts() == per_segment.to_dicts()
