"""Volume anomaly detection for daily datasets: is today's row count normal for this weekday?

Statistical process control on the same weekday's recent history: the band is the median of the
last ``window`` same-weekday partitions, plus or minus ``k`` robust standard deviations
(MAD x 1.4826), never narrower than ``min_relative_band`` of the median. Comparing a Saturday
with Saturdays is what keeps the check quiet on normal weekends (flights run ~25% fewer then).

On the real 2013 data it flags the days a planner would expect: July 4th, Thanksgiving week,
Christmas and New Year's Eve, and holiday weekends.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import polars as pl

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution x this = its standard deviation


@dataclass(frozen=True)
class VolumePolicy:
    window: int = 8  # same-weekday partitions of history
    min_history: int = 4  # fewer than this: no verdict yet
    k: float = 5.0  # band half-width in robust standard deviations
    min_relative_band: float = 0.15  # floor, as a share of the median: very stable history is not a hair trigger


def volume_report(counts: pl.DataFrame, checked: Iterable[date], policy: VolumePolicy = VolumePolicy()) -> pl.DataFrame:
    """For each checked day: rows, the expected band from earlier same-weekday days, and a status.

    ``counts`` has columns ``day`` (Date) and ``rows``; status is ok, anomaly or insufficient history.
    """
    by_day = dict(counts.select("day", "rows").iter_rows())
    report = []
    for day in sorted(set(checked)):
        history = sorted(d for d in by_day if d < day and d.weekday() == day.weekday())[-policy.window :]
        values = [by_day[d] for d in history]
        rows = by_day.get(day, 0)
        if len(values) < policy.min_history:
            report.append((day, rows, None, None, None, len(values), "insufficient history"))
            continue
        median = statistics.median(values)
        sigma = statistics.median(abs(value - median) for value in values) * MAD_TO_SIGMA
        half_width = max(policy.k * sigma, policy.min_relative_band * median)
        status = "ok" if abs(rows - median) <= half_width else "anomaly"
        report.append((day, rows, median, median - half_width, median + half_width, len(values), status))
    return pl.DataFrame(
        report,
        schema={
            "day": pl.Date,
            "rows": pl.Int64,
            "expected": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
            "history": pl.Int64,
            "status": pl.String,
        },
        orient="row",
    )
