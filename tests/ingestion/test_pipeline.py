"""Ingestion of a day's records, clean and corrupted: nothing is dropped, each problem is named with
the record, the column and the check (the synthetic feed's orders; the demo's tests do the same on
the real flights data)."""

import polars as pl
import pytest

from ingestion.pipeline import Severity
from tests.synthetic import feed

ORDERS_ON_DAY = feed.orders_frame(feed.FIRST_DAY).height


def corrupt(data: bytes, row: int, column: str, value: str) -> bytes:
    """Replace one value of a delivered file (row is 1-based, header excluded)."""
    frame = pl.read_csv(data, infer_schema=False)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row - 1).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )
    return frame.write_csv(null_value="NA").encode()


def assert_nothing_lost(result):
    assert result.rows_loaded + result.quarantined.height == result.records_read


def test_a_day_loads_completely_with_its_nulls_and_lineage(ingest, orders_day_csv):
    result = ingest(orders_day_csv)
    assert result.severity is Severity.OK
    assert result.records_read == result.rows_loaded == ORDERS_ON_DAY
    assert result.loaded.schema["quantity"] == pl.Int32
    # An amount not known yet stays null: missing is not invalid.
    expected_nulls = feed.orders_frame(feed.FIRST_DAY).get_column("amount_cents").null_count()
    assert expected_nulls > 0 and result.loaded.get_column("amount_cents").null_count() == expected_nulls
    assert set(result.loaded.get_column("_source_file")) == {f"orders/orders_{feed.FIRST_DAY}.csv"}


def test_text_in_a_numeric_column_quarantines_that_row_only(ingest, orders_day_csv):
    result = ingest(corrupt(orders_day_csv, 5, "quantity", "three"))
    assert result.severity is Severity.WARN
    assert_nothing_lost(result)
    quarantined = result.quarantined.row(0, named=True)
    assert quarantined["_row_number"] == 5
    assert quarantined["failed_columns"] == ["quantity"]
    assert quarantined["failed_checks"] == ["dtype('Int32')"]
    assert "three" in quarantined["reason"]
    assert '"quantity":"three"' in quarantined["raw_record"]


def test_out_of_range_and_unknown_values_are_quarantined_with_the_checks_that_failed(ingest, orders_day_csv):
    result = ingest(corrupt(corrupt(orders_day_csv, 7, "quantity", "0"), 9, "status", "lost"))
    assert result.severity is Severity.WARN
    assert_nothing_lost(result)
    reasons = dict(zip(*result.quarantined.select("_row_number", "reason"), strict=True))
    assert "quantity: in_range(1, 1000) (value 0)" in reasons[7]
    assert "status: isin" in reasons[9] and "lost" in reasons[9]


def test_a_row_of_another_day_fails_the_dataframe_level_check(ingest, orders_day_csv):
    result = ingest(corrupt(orders_day_csv, 1, "order_date", "2026-01-04"))
    assert result.quarantined.get_column("failed_checks").to_list()[0] == [
        "order_date must be the day in the file name"
    ]


def test_duplicate_primary_key_rejects_every_copy(ingest, orders_day_csv):
    lines = orders_day_csv.decode().splitlines()
    result = ingest(("\n".join([*lines, lines[3]]) + "\n").encode())
    assert_nothing_lost(result)
    assert sorted(result.quarantined.get_column("_row_number").to_list()) == [3, ORDERS_ON_DAY + 1]
    assert result.rows_loaded == ORDERS_ON_DAY - 1


def test_reject_rate_over_threshold_is_an_error_and_loads_nothing(ingest, orders_day_csv):
    data = orders_day_csv
    over = int(ORDERS_ON_DAY * 0.05) + 2  # past the dataset's 5% reject threshold
    for row in range(1, over + 1):
        data = corrupt(data, row, "customer_id", "ZZ")
    result = ingest(data)
    assert result.severity is Severity.ERROR
    assert result.loaded is None
    assert result.quarantined.height == result.records_read == ORDERS_ON_DAY
    assert "over the 5.0% threshold" in result.problems[-1]
    assert all(checks[0] == "file_rejected" for checks in result.quarantined.get_column("failed_checks"))


def test_missing_column_is_a_schema_error_naming_the_column(ingest, orders_day_csv):
    data = pl.read_csv(orders_day_csv, infer_schema=False).drop("status").write_csv().encode()
    result = ingest(data)
    assert result.severity is Severity.ERROR
    assert result.drift.missing == ("status",)
    assert "missing column(s) ['status']" in result.problems[-1]
    assert result.quarantined.height == ORDERS_ON_DAY


def test_renamed_column_is_reported_as_missing_and_unexpected(ingest, orders_day_csv):
    data = pl.read_csv(orders_day_csv, infer_schema=False).rename({"customer_id": "client"}).write_csv().encode()
    result = ingest(data)
    assert result.severity is Severity.ERROR
    assert result.drift.missing == ("customer_id",)
    assert result.drift.extra == ("client",)


def test_extra_column_is_drift_with_a_warning_and_the_rows_still_load(ingest, orders_day_csv):
    data = pl.read_csv(orders_day_csv, infer_schema=False).with_columns(channel=pl.lit("web")).write_csv().encode()
    result = ingest(data)
    assert result.severity is Severity.WARN
    assert result.rows_loaded == ORDERS_ON_DAY
    assert "channel" not in result.loaded.columns
    assert "unexpected column(s) ['channel']" in result.problems[0]


@pytest.mark.parametrize(
    ("data", "problem"),
    [(b"", "file is empty"), (b"order_id,quantity\n", "missing column(s)")],
    ids=["empty", "wrong-header"],
)
def test_unusable_files_are_errors(ingest, data, problem):
    result = ingest(data)
    assert result.severity is Severity.ERROR
    assert problem in result.problems[-1]
    assert_nothing_lost(result)


def test_header_only_file_is_an_error_not_an_empty_day(ingest, orders_day_csv):
    header = orders_day_csv.split(b"\n", 1)[0] + b"\n"
    result = ingest(header)
    assert result.severity is Severity.ERROR
    assert "header only, no records" in result.problems[-1]


def test_reference_data_loads_whole_with_no_partition_day(ingest):
    result = ingest(feed.csv_bytes(feed.customers_frame()), dataset="customers", partition_key=None)
    assert result.severity is Severity.OK
    assert result.rows_loaded == len(feed.CUSTOMER_IDS)
    assert "_partition_date" not in result.loaded.columns
