"""What an analytics table is: the mart it reads, the Polars that computes it, the chart it shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg
    import polars as pl


@dataclass(frozen=True)
class AnalyticsSpec:
    """One analytics table: what it reads from the marts, how Polars computes it, how it is charted."""

    name: str
    mart: str  # the per-day mart it reads (published in the marts schema)
    description: str
    compute: Callable[[pl.DataFrame], pl.DataFrame]  # of the query's result
    chart_title: str
    chart: Callable[[pl.DataFrame], dg.MarkdownMetadataValue]
