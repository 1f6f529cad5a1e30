"""The models against the whole real 2013 data: they must find its real problems, and only those."""

from datetime import date

import polars as pl
import pytest

from demo.nycflights import daily_table, fed, source_bytes
from ingestion.casting import cast_to_model, model_dtypes
from ingestion.reading import read_csv_bytes
from ingestion.validation import build_schema, validate_rows


def validate(datasets, name: str, data: bytes, partition_dates: pl.Expr | None = None) -> pl.DataFrame:
    dataset = datasets[name]
    table = read_csv_bytes(data, dataset.null_values)
    cast = cast_to_model(table.rows, model_dtypes(dataset.schema_class))
    assert cast.failures.is_empty(), "every real value parses as its declared type"
    typed = cast.typed if partition_dates is None else cast.typed.with_columns(_partition_date=partition_dates)
    outcome = validate_rows(typed, build_schema(dataset.schema_class, dataset.primary_key))
    assert outcome.frame_errors == []
    return outcome.failure_cases


def whole_year(name: str) -> bytes:
    return daily_table(name).drop("_day").write_csv(null_value="NA").encode()


def test_reference_data_is_clean(datasets):
    for dataset in fed(datasets, "reference"):
        assert validate(datasets, dataset.name, source_bytes(dataset.name)).is_empty(), dataset.name


def test_flights_fail_only_on_the_one_malformed_tail_number(datasets):
    failures = validate(datasets, "flights", whole_year("flights"), pl.date("year", "month", "day"))
    # D942DN is not an FAA registration (N-number); it appears on 4 flights in 2013.
    assert failures.get_column("failure_case").unique().to_list() == ["D942DN"]
    assert failures.height == 4


def test_weather_fails_only_on_the_impossible_wind_speed(datasets):
    failures = validate(datasets, "weather", whole_year("weather"), pl.date("year", "month", "day"))
    # 1,048 mph at EWR on 2013-02-12 03:00: a sensor or unit error, found by the range check.
    assert failures.select("column", "check").unique().rows() == [("wind_speed", "in_range(0, 200)")]
    assert [float(value) for value in failures.get_column("failure_case")] == [pytest.approx(1048.36058)]


def test_missing_days_in_the_real_weather_feed():
    days = daily_table("weather").get_column("_day").unique()
    assert date(2013, 12, 31) not in days.to_list()
