"""Incremental marts equal a full refresh, row for row, after a realistic sequence of deliveries.

Real files, real dbt and real Dagster runs on either backend. The sequence: three days (the shared
build, tests/conftest.py); the same reference file again, day 5, a re-delivered day whose rows
changed, left and failed validation, and a re-delivered weather day; the late day 4 with new
reference data. After each build, the days each per-day mart rebuilt are the ones the deliveries
touched; at the end, a full refresh rebuilds the marts from scratch and nothing differs.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from config.settings import Settings
from demo.nycflights import day_csv, source_bytes
from tests.demo.support.pipeline import Pipeline, audited_marts, audited_model
from tests.support.warehouse import query

pytestmark = [pytest.mark.integration, pytest.mark.backends]

DAY = [date(2013, 1, n) for n in range(1, 6)]
# On 2013-01-02, three real flights are re-delivered with a minute more air time, two are no
# longer in the file, and one gets a negative distance, which Pandera quarantines.
CHANGED_ROWS, DROPPED_ROWS, BAD_ROW = (0, 1, 2), (3, 4), 5
NEW_NAME = "Alaska Airlines (formerly Virgin America)"


def redelivered_day_2() -> bytes:
    frame = pl.read_csv(day_csv("flights", DAY[1]), infer_schema=False)
    index = pl.int_range(pl.len())
    changed = frame.with_columns(
        air_time=pl.when(index.is_in(CHANGED_ROWS))
        .then((pl.col("air_time").cast(pl.Int32) + 1).cast(pl.String))
        .otherwise(pl.col("air_time")),
        distance=pl.when(index == BAD_ROW).then(pl.lit("-5")).otherwise(pl.col("distance")),
    ).filter(~index.is_in(DROPPED_ROWS))
    return changed.write_csv(null_value="NA").encode()


def warmer_weather_day_3() -> bytes:
    frame = pl.read_csv(day_csv("weather", DAY[2]), infer_schema=False)
    return frame.with_columns(temp=pl.lit("99.0")).write_csv(null_value="NA").encode()


def renamed_airline() -> bytes:
    """The airlines file with Virgin America renamed: every day's flights of VX carry the new name."""
    frame = pl.read_csv(source_bytes("airlines"), infer_schema=False)
    renamed = pl.when(pl.col("carrier") == "VX").then(pl.lit(NEW_NAME)).otherwise(pl.col("name"))
    return frame.with_columns(name=renamed).write_csv(null_value="NA").encode()


@pytest.fixture
def pipeline(built_copy: Settings) -> Pipeline:
    """Days 1-3 loaded and built (tests/conftest.py's build)."""
    return Pipeline(built_copy)


def test_incremental_marts_equal_a_full_refresh_after_late_redelivered_and_reference_changes(pipeline):
    def only(days: list[date]) -> dict[str, list[date]]:
        return {model: days for model, day_column in audited_marts().items() if day_column}

    assert query(pipeline.settings, "SELECT count(DISTINCT flight_date) FROM marts.fct_flights") == [(3,)]
    # The same planes file delivered again, then reloaded from the archive (as every `backfill`
    # does): the same rows, which rebuild nothing. Day 5 (ahead of day 4), day 2 re-delivered with
    # rows changed, dropped and one quarantined, and day 3's weather again, warmer: only days 2, 3
    # and 5 are rebuilt.
    pipeline.deliver("planes", None, source_bytes("planes"))
    pipeline.load(["planes"])
    pipeline.load(["planes"])  # nothing in landing: the archived copy, under the same name
    for name in ("flights", "weather"):
        pipeline.deliver(name, DAY[4], day_csv(name, DAY[4]))
    pipeline.deliver("flights", DAY[1], redelivered_day_2())
    pipeline.deliver("weather", DAY[2], warmer_weather_day_3())
    pipeline.load(["flights", "weather"], [DAY[4]])
    pipeline.load(["flights"], [DAY[1]])
    pipeline.load(["weather"], [DAY[2]])
    [(quarantined,)] = query(pipeline.settings, "SELECT count(*) FROM quarantine.flights")
    assert quarantined == 1
    assert pipeline.build() == only([DAY[1], DAY[2], DAY[4]])
    real = pl.read_csv(day_csv("flights", DAY[1]), infer_schema=False).height
    assert query(pipeline.settings, "SELECT count(*) FROM marts.fct_flights WHERE flight_date = ?", [DAY[1]]) == [
        (real - len(DROPPED_ROWS) - 1,)
    ]
    [(warm,)] = query(
        pipeline.settings,
        "SELECT bool_and(dep_temp_f = 99) FROM marts.fct_flights WHERE flight_date = ? AND has_weather",
        [DAY[2]],
    )
    assert warm

    # The late day 4, and new reference data, which touches every day.
    for name in ("flights", "weather"):
        pipeline.deliver(name, DAY[3], day_csv(name, DAY[3]))
    pipeline.deliver("airlines", None, renamed_airline())
    pipeline.load(["flights", "weather"], [DAY[3]])
    pipeline.load(["airlines"])
    assert pipeline.build() == only(DAY)
    names = query(
        pipeline.settings, "SELECT DISTINCT carrier_name FROM marts.mart_carrier_daily_performance WHERE carrier = 'VX'"
    )
    assert names == [(NEW_NAME,)]

    incremental = pipeline.marts()
    pipeline.build(full_refresh=True)  # audited and published like any build, each mart whole
    full = pipeline.marts()
    audit_tables = (
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = ?"
    )
    audit_schema = audited_model("fct_flights").audit_schema
    assert query(pipeline.settings, audit_tables, [audit_schema]) == [(0,)], "a whole copy is not left behind"
    for name in audited_marts():
        assert incremental[name].height == full[name].height > 0, name
        assert incremental[name].equals(full[name]), name
    [(fct_rows,)] = query(pipeline.settings, "SELECT count(*) FROM marts.fct_flights")
    [(raw_rows,)] = query(pipeline.settings, "SELECT count(*) FROM raw.flights")
    assert fct_rows == raw_rows
