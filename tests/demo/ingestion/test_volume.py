from datetime import date, timedelta

import polars as pl

from demo.nycflights import daily_table
from ingestion.volume import VolumePolicy, volume_report


def real_daily_counts() -> pl.DataFrame:
    return daily_table("flights").group_by(pl.col("_day").alias("day")).agg(rows=pl.len()).sort("day")


def test_normal_saturdays_are_not_anomalies():
    counts = real_daily_counts()
    saturdays = [
        day for day in counts.get_column("day") if day.weekday() == 5 and date(2013, 4, 1) <= day <= date(2013, 5, 18)
    ]
    report = volume_report(counts, saturdays)
    assert report.get_column("status").to_list() == ["ok"] * len(saturdays)
    # ...although a Saturday is far below a weekday's volume.
    assert report.get_column("rows").max() < 0.85 * 980


def test_real_holidays_are_flagged():
    counts = real_daily_counts()
    report = volume_report(counts, [date(2013, 7, 4), date(2013, 11, 28), date(2013, 12, 25), date(2013, 11, 21)])
    assert dict(report.select("day", "status").iter_rows()) == {
        date(2013, 7, 4): "anomaly",
        date(2013, 11, 28): "anomaly",
        date(2013, 12, 25): "anomaly",
        date(2013, 11, 21): "ok",  # the Thursday before Thanksgiving is an ordinary Thursday
    }


def test_over_the_whole_year_only_a_few_days_are_flagged():
    counts = real_daily_counts()
    report = volume_report(counts, counts.get_column("day"))
    anomalies = report.filter(pl.col("status") == "anomaly")
    assert 5 <= anomalies.height <= 15, anomalies


def test_a_truncated_delivery_is_an_anomaly_and_early_days_are_judged_by_the_ratio_rule():
    counts = real_daily_counts().with_columns(
        rows=pl.when(pl.col("day") == date(2013, 6, 12)).then(300).otherwise(pl.col("rows"))
    )
    report = volume_report(counts, [date(2013, 6, 12), date(2013, 1, 3)])
    assert dict(report.select("day", "status").iter_rows()) == {date(2013, 6, 12): "anomaly", date(2013, 1, 3): "ok"}
    assert volume_report(counts, [date(2013, 1, 1) + timedelta(days=30)]).get_column("history")[0] == 4


def test_a_spike_with_short_history_is_judged_by_the_ratio_rule_and_says_so():
    counts = real_daily_counts().filter(pl.col("day") <= date(2013, 1, 2))
    spike = counts.with_columns(rows=pl.when(pl.col("day") == date(2013, 1, 2)).then(943 * 2500).otherwise("rows"))
    [row] = volume_report(spike, [date(2013, 1, 2)], VolumePolicy(max_ratio=3)).iter_rows(named=True)
    assert (row["status"], row["rule"], row["history"]) == ("anomaly", "ratio to recent days", 1)
    assert (row["lower"], row["upper"]) == (842 * 0.65, 842 * 3)
    # An ordinary second day passes the same rule, and the report says which rule passed it.
    [normal] = volume_report(counts, [date(2013, 1, 2)], VolumePolicy(max_ratio=3)).iter_rows(named=True)
    assert (normal["status"], normal["rule"]) == ("ok", "ratio to recent days")


def test_a_day_cut_to_sixty_percent_is_caught_on_a_short_history_and_real_saturdays_are_not():
    """The ratio rule's floor: 60% of a normal day is an anomaly from the second day on, while every
    real day of January 2013 judged by that rule (Saturdays at about 75% included) passes."""
    counts = real_daily_counts().filter(pl.col("day") <= date(2013, 1, 31))
    january = counts.get_column("day").to_list()
    assert set(volume_report(counts, january).get_column("status")) <= {"ok", "not judged"}
    cut = counts.with_columns(
        rows=pl.when(pl.col("day") == date(2013, 1, 9)).then(pl.col("rows") * 0.6).otherwise("rows")
    )
    [row] = volume_report(cut.cast({"rows": pl.Int64}), [date(2013, 1, 9)]).iter_rows(named=True)
    assert (row["status"], row["rule"]) == ("anomaly", "ratio to recent days")
