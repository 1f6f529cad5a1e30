"""Ingestion of real 2013 records, clean and corrupted: nothing is dropped, each problem is named."""

import polars as pl
import pytest

from ingestion.pipeline import Severity

FLIGHTS_ON_2013_01_01 = 842


def corrupt(data: bytes, row: int, column: str, value: str) -> bytes:
    """Replace one value of a real file (row is 1-based, header excluded)."""
    frame = pl.read_csv(data, infer_schema=False)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row - 1).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )
    return frame.write_csv(null_value="NA").encode()


def assert_nothing_lost(result):
    assert result.rows_loaded + result.quarantined.height == result.records_read


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


def test_text_in_a_numeric_column_quarantines_that_row_only(ingest, flights_day_csv):
    result = ingest(corrupt(flights_day_csv, 5, "dep_time", "five past nine"))
    assert result.severity is Severity.WARN
    assert_nothing_lost(result)
    quarantined = result.quarantined.row(0, named=True)
    assert quarantined["_row_number"] == 5
    assert quarantined["failed_columns"] == ["dep_time"]
    assert quarantined["failed_checks"] == ["dtype('Int32')"]
    assert "five past nine" in quarantined["reason"]
    assert '"dep_time":"five past nine"' in quarantined["raw_record"]


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


def test_duplicate_primary_key_rejects_every_copy(ingest, flights_day_csv):
    lines = flights_day_csv.decode().splitlines()
    result = ingest(("\n".join([*lines, lines[3]]) + "\n").encode())
    assert_nothing_lost(result)
    assert sorted(result.quarantined.get_column("_row_number").to_list()) == [3, FLIGHTS_ON_2013_01_01 + 1]
    assert result.rows_loaded == FLIGHTS_ON_2013_01_01 - 1


def test_reject_rate_over_threshold_is_an_error_and_loads_nothing(ingest, flights_day_csv):
    data = flights_day_csv
    for row in range(1, 60):  # 59 of 842 = 7% > the 5% threshold
        data = corrupt(data, row, "carrier", "ZZ")
    result = ingest(data)
    assert result.severity is Severity.ERROR
    assert result.loaded is None
    assert result.quarantined.height == result.records_read == FLIGHTS_ON_2013_01_01
    assert "over the 5.0% threshold" in result.problems[-1]
    assert all(checks[0] == "file_rejected" for checks in result.quarantined.get_column("failed_checks"))


def test_missing_column_is_a_schema_error_naming_the_column(ingest, flights_day_csv):
    data = pl.read_csv(flights_day_csv, infer_schema=False).drop("tailnum").write_csv().encode()
    result = ingest(data)
    assert result.severity is Severity.ERROR
    assert result.drift.missing == ("tailnum",)
    assert "missing column(s) ['tailnum']" in result.problems[-1]
    assert result.quarantined.height == FLIGHTS_ON_2013_01_01


def test_renamed_column_is_reported_as_missing_and_unexpected(ingest, flights_day_csv):
    data = pl.read_csv(flights_day_csv, infer_schema=False).rename({"carrier": "airline"}).write_csv().encode()
    result = ingest(data)
    assert result.severity is Severity.ERROR
    assert result.drift.missing == ("carrier",)
    assert result.drift.extra == ("airline",)


def test_extra_column_is_drift_with_a_warning_and_the_rows_still_load(ingest, flights_day_csv):
    data = pl.read_csv(flights_day_csv, infer_schema=False).with_columns(gate=pl.lit("B12")).write_csv().encode()
    result = ingest(data)
    assert result.severity is Severity.WARN
    assert result.rows_loaded == FLIGHTS_ON_2013_01_01
    assert "gate" not in result.loaded.columns
    assert "unexpected column(s) ['gate']" in result.problems[0]


@pytest.mark.parametrize(
    ("data", "problem"),
    [(b"", "file is empty"), (b"year,month,day\n", "missing column(s)")],
    ids=["empty", "wrong-header"],
)
def test_unusable_files_are_errors(ingest, data, problem):
    result = ingest(data)
    assert result.severity is Severity.ERROR
    assert problem in result.problems[-1]
    assert_nothing_lost(result)


def test_header_only_file_is_an_error_not_an_empty_day(ingest, flights_day_csv):
    header = flights_day_csv.split(b"\n", 1)[0] + b"\n"
    result = ingest(header)
    assert result.severity is Severity.ERROR
    assert "header only, no records" in result.problems[-1]


def test_reference_data_loads_with_its_real_problems_visible(ingest):
    from demo.nycflights import source_bytes

    result = ingest(source_bytes("planes"), dataset="planes", partition_key=None)
    assert result.severity is Severity.OK
    assert result.rows_loaded == 3322
    assert "_partition_date" not in result.loaded.columns
