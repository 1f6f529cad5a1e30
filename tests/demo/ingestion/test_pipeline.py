"""The demo's contracts on real 2013 records: a real day loads whole, and the flights rules (a delay
that does not add up, a month past 12) quarantine what breaks them (the core's ingestion tests
run on the synthetic feed: tests/ingestion/test_pipeline.py)."""

import polars as pl

from ingestion.pipeline import Severity
from tests.ingestion.test_pipeline import assert_nothing_lost, corrupt

FLIGHTS_ON_2013_01_01 = 842


def test_a_real_day_loads_completely(ingest, flights_day_csv):
    result = ingest(flights_day_csv)
    assert result.severity is Severity.OK
    assert result.records_read == result.rows_loaded == FLIGHTS_ON_2013_01_01
    assert result.quarantined.is_empty()
    assert result.loaded.schema["dep_time"] == pl.Int32
    assert result.loaded.schema["time_hour"] == pl.Datetime("us", "UTC")
    # Cancelled flights keep their nulls: missing is not invalid.
    assert result.loaded.get_column("dep_time").null_count() == 4
    assert set(result.loaded.get_column("_source_file")) == {"flights/flights_2013-01-01.csv"}


def test_out_of_range_value_is_quarantined_with_the_check_that_failed(ingest, flights_day_csv):
    result = ingest(corrupt(flights_day_csv, 7, "month", "13"))
    assert result.severity is Severity.WARN
    assert_nothing_lost(result)
    reasons = result.quarantined.get_column("reason").to_list()[0]
    assert "month: in_range(1, 12) (value 13)" in reasons
    # The row no longer belongs to the file's day either, and both problems are reported.
    assert "year/month/day must be the day in the file name" in reasons


def test_inconsistent_delay_fails_a_dataframe_level_check(ingest, flights_day_csv):
    result = ingest(corrupt(flights_day_csv, 1, "dep_delay", "45"))
    assert result.quarantined.get_column("failed_checks").to_list()[0] == [
        "dep_delay must equal dep_time - sched_dep_time (mod 24h)"
    ]


def test_reference_data_loads_with_its_real_problems_visible(ingest):
    from demo.nycflights import source_bytes

    result = ingest(source_bytes("planes"), dataset="planes", partition_key=None)
    assert result.severity is Severity.OK
    assert result.rows_loaded == 3322
    assert "_partition_date" not in result.loaded.columns
