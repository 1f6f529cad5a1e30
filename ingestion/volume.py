"""Volume anomaly detection for daily datasets: is a day's row count normal?

The main rule is statistical process control on the same weekday's recent history: the band is
the median of the last ``window`` same-weekday days, plus or minus ``k`` robust standard deviations
(MAD x 1.4826), never narrower than ``min_relative_band`` of the median. Comparing a Saturday with
Saturdays is what keeps the check quiet on normal weekends (flights run ~25% fewer then). On the
real 2013 data it flags the days a planner would expect: July 4th, Thanksgiving week, Christmas and
New Year's Eve, and holiday weekends.

That rule needs ``min_history`` earlier same weekdays: four weeks of data. Before then a cruder
rule judges the day, so that "not enough history" never reads as "normal": the day's count against
the median of every earlier day in the last ``recent_days``, bounded by the dataset's ``max_ratio``
(config). A day 2,500x the usual passes neither. Only a day with no earlier day in the last
``recent_days`` is not judged, and the report says so. Every row names the rule that judged it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import polars as pl

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution x this = its standard deviation


class Rule(StrEnum):
    WEEKDAY_BAND = "same-weekday band"
    RECENT_RATIO = "ratio to recent days"
    NONE = "no recent earlier day"


class Status(StrEnum):
    OK = "ok"
    ANOMALY = "anomaly"
    NOT_JUDGED = "not judged"


@dataclass(frozen=True)
class VolumePolicy:
    window: int = 8  # same-weekday days of history
    min_history: int = 4  # same-weekday days the band needs; fewer: the ratio rule judges
    k: float = 5.0  # band half-width in robust standard deviations
    min_relative_band: float = 0.15  # floor, as a share of the median: very stable history is not a hair trigger
    recent_days: int = 28  # history of the ratio rule, any weekday
    max_ratio: float = 3.0  # the ratio rule: within median / max_ratio .. median * max_ratio (from config)


REPORT_SCHEMA = {
    "day": pl.Date,
    "rows": pl.Int64,
    "expected": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "history": pl.Int64,
    "rule": pl.String,
    "status": pl.String,
}


def _judge(day: date, rows: int, by_day: dict[date, int], policy: VolumePolicy) -> tuple:
    earlier = sorted(d for d in by_day if d < day)
    weekday = [d for d in earlier if d.weekday() == day.weekday()][-policy.window :]
    if len(weekday) >= policy.min_history:
        values = [by_day[d] for d in weekday]
        median = statistics.median(values)
        sigma = statistics.median(abs(value - median) for value in values) * MAD_TO_SIGMA
        half_width = max(policy.k * sigma, policy.min_relative_band * median)
        lower, upper, rule, history = median - half_width, median + half_width, Rule.WEEKDAY_BAND, len(values)
    else:
        recent = [d for d in earlier if d >= day - timedelta(days=policy.recent_days)]
        if not recent:
            return (day, rows, None, None, None, 0, Rule.NONE.value, Status.NOT_JUDGED.value)
        median = statistics.median(by_day[d] for d in recent)
        lower, upper, rule, history = (
            median / policy.max_ratio,
            median * policy.max_ratio,
            Rule.RECENT_RATIO,
            len(recent),
        )
    status = Status.OK if lower <= rows <= upper else Status.ANOMALY
    return (day, rows, median, lower, upper, history, rule.value, status.value)


def volume_report(counts: pl.DataFrame, checked: Iterable[date], policy: VolumePolicy = VolumePolicy()) -> pl.DataFrame:
    """For each checked day: rows, the expected band, the rule that set it, and a status.

    ``counts`` has columns ``day`` (Date) and ``rows``; status is ok, anomaly or not judged.
    """
    by_day = dict(counts.select("day", "rows").iter_rows())
    report = [_judge(day, by_day.get(day, 0), by_day, policy) for day in sorted(set(checked))]
    return pl.DataFrame(report, schema=REPORT_SCHEMA, orient="row")
