"""Revenue per customer segment over every loaded day, from the per-day revenue mart."""

import polars as pl

from analytics.charts import bar_chart
from analytics.spec import AnalyticsSpec


def segment_revenue_frame(daily: pl.DataFrame) -> pl.DataFrame:
    """Each segment's orders and revenue over all days, the largest revenue first."""
    return (
        daily.group_by("segment")
        .agg(
            orders=pl.col("orders").sum(),
            orders_cancelled=pl.col("orders_cancelled").sum(),
            revenue_cents=pl.col("revenue_cents").sum(),
            days=pl.col("order_date").n_unique(),
        )
        .sort(["revenue_cents", "segment"], descending=[True, False], nulls_last=True)
    )


SEGMENT_REVENUE = AnalyticsSpec(
    name="segment_revenue",
    mart="mart_daily_revenue",
    description="Orders and revenue per customer segment over all loaded days.",
    compute=segment_revenue_frame,
    chart_title="revenue_by_segment",
    chart=lambda frame: bar_chart(
        [str(segment) for segment in frame.get_column("segment").to_list()],
        [cents / 100 for cents in frame.get_column("revenue_cents").to_list()],
        title="Revenue by customer segment",
        unit=" $",
    ),
)
