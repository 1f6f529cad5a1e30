"""Volume anomaly detection for daily datasets: is a day's row count normal?

The main rule is statistical process control on the same weekday's recent history: the band is
the median of the last ``window`` same-weekday days, plus or minus ``k`` robust standard deviations
(MAD x 1.4826), never narrower than ``min_relative_band`` of the median. Comparing a Saturday with
Saturdays is what keeps the check quiet on normal weekends (a feed of business activity may have a
quarter fewer rows then). On a year of real travel data it flags the days a planner would expect:
July 4th, Thanksgiving week, Christmas and New Year's Eve, and holiday weekends.

That rule needs ``min_history`` earlier same weekdays: four weeks of data. Before then a cruder
rule judges the day, so that "not enough history" never reads as "normal": the day's count against
the median of every earlier day in the last ``recent_days``, bounded by the dataset's ``min_share``
and ``max_ratio`` (config). A day 2,500x the usual passes neither. Only a day with no earlier day in the last
``recent_days`` is not judged, and the report says so. Every row names the rule that judged it.
"""

from __future__ import annotations

import bisect
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
    min_share: float = 0.65  # the ratio rule: within median * min_share .. median * max_ratio (from config)
    max_ratio: float = 3.0

    @property
    def lookback_days(self) -> int:
        """How far before a day its judgement looks: the band's weeks or the ratio rule's days."""
        return max(7 * self.window, self.recent_days)


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


class _History:
    """Row counts by day, sorted once, so judging each of many days costs a lookup, not a scan."""

    def __init__(self, by_day: dict[date, int]) -> None:
        self.by_day = by_day
        self.days = sorted(by_day)
        self.by_weekday = [[day for day in self.days if day.weekday() == weekday] for weekday in range(7)]

    def same_weekday_before(self, day: date, count: int) -> list[date]:
        days = self.by_weekday[day.weekday()]
        end = bisect.bisect_left(days, day)
        return days[max(0, end - count) : end]

    def between(self, first: date, before: date) -> list[date]:
        return self.days[bisect.bisect_left(self.days, first) : bisect.bisect_left(self.days, before)]


def _judge(day: date, rows: int, history: _History, policy: VolumePolicy) -> tuple:
    weekday = history.same_weekday_before(day, policy.window)
    if len(weekday) >= policy.min_history:
        values = [history.by_day[d] for d in weekday]
        median = statistics.median(values)
        sigma = statistics.median(abs(value - median) for value in values) * MAD_TO_SIGMA
        half_width = max(policy.k * sigma, policy.min_relative_band * median)
        lower, upper, rule, count = median - half_width, median + half_width, Rule.WEEKDAY_BAND, len(values)
    else:
        recent = history.between(day - timedelta(days=policy.recent_days), day)
        if not recent:
            return (day, rows, None, None, None, 0, Rule.NONE.value, Status.NOT_JUDGED.value)
        median = statistics.median(history.by_day[d] for d in recent)
        lower, upper, rule, count = (
            median * policy.min_share,
            median * policy.max_ratio,
            Rule.RECENT_RATIO,
            len(recent),
        )
    status = Status.OK if lower <= rows <= upper else Status.ANOMALY
    return (day, rows, median, lower, upper, count, rule.value, status.value)


def volume_report(counts: pl.DataFrame, checked: Iterable[date], policy: VolumePolicy = VolumePolicy()) -> pl.DataFrame:
    """For each checked day: rows, the expected band, the rule that set it, and a status.

    ``counts`` has columns ``day`` (Date) and ``rows``; status is ok, anomaly or not judged.
    """
    by_day = dict(counts.select("day", "rows").iter_rows())
    history = _History(by_day)
    report = [_judge(day, by_day.get(day, 0), history, policy) for day in sorted(set(checked))]
    return pl.DataFrame(report, schema=REPORT_SCHEMA, orient="row")
