"""The validation check says one thing: its description, severity and metadata agree."""

import re
from datetime import date

import dagster as dg
import polars as pl

from assets.ingestion_report import failure_summary, log_batch, validation_check, volume_check
from ingestion.pipeline import FileIngestion
from ingestion.summary import LoadSummary
from ingestion.volume import volume_report
from tests.demo.ingestion.test_volume import real_daily_counts
from tests.ingestion.test_pipeline import corrupt

FLIGHTS = 842


def summarize(results: list[FileIngestion]) -> LoadSummary:
    """A load's summary of ``results``, as one committed batch."""
    summary = LoadSummary()
    summary.add(results)
    return summary


def rate_in(text: str) -> float:
    [percent] = re.findall(r"\((\d+\.\d)%\) failed", text)
    return float(percent) / 100


def test_a_clean_file_passes_and_says_so(ingest, datasets, flights_day_csv):
    check = validation_check(datasets["flights"], summarize([ingest(flights_day_csv)]), [])
    assert check.passed
    assert check.description == f"all {FLIGHTS} records of 1 file(s) passed flights.Flights"
    assert check.metadata["outcome"].value == "OK"
    assert check.metadata["reject_rate"].value == 0.0


def test_quarantined_records_warn_and_the_text_counts_them(ingest, datasets, flights_day_csv):
    data = flights_day_csv
    for row in (3, 4, 5):
        data = corrupt(data, row, "distance", "-5")
    check = validation_check(datasets["flights"], summarize([ingest(data)]), [])
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.description == (
        f"3 of {FLIGHTS} records (0.4%) failed flights.Flights; {FLIGHTS - 3} loaded, 3 quarantined, "
        "within the 5.0% threshold"
    )
    assert "passed" not in check.description
    assert check.metadata["outcome"].value == "WARN"
    assert (check.metadata["rows_rejected"].value, check.metadata["rows_quarantined"].value) == (3, 3)
    assert round(check.metadata["reject_rate"].value, 3) == rate_in(check.description)


def test_a_refused_file_reports_the_same_rate_in_text_and_metadata(ingest, datasets, flights_day_csv):
    frame = pl.read_csv(flights_day_csv, infer_schema=False)
    bad = frame.with_columns(
        distance=pl.when(pl.int_range(pl.len()) % 5 < 3).then(pl.lit("-5")).otherwise(pl.col("distance"))
    )
    check = validation_check(datasets["flights"], summarize([ingest(bad.write_csv(null_value="NA").encode())]), [])
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    failed = check.metadata["rows_rejected"].value
    assert failed == 506  # 3 rows of every 5
    assert f"{failed} of {FLIGHTS} records (60.1%) failed" in check.description
    assert "over the 5.0% threshold" in check.description
    assert "1 of 1 file(s) refused, missing or not read, nothing of them loaded" in check.description
    assert check.metadata["reject_rate"].value == round(failed / FLIGHTS, 6)
    assert round(check.metadata["reject_rate"].value, 3) == rate_in(check.description.split(" | ")[1])
    # The refused file's valid records are kept too: everything read is in quarantine.
    assert check.metadata["rows_quarantined"].value == FLIGHTS
    assert check.metadata["files_refused"].value == 1


def test_a_row_rule_failure_is_explained_with_record_numbers_not_an_empty_example(ingest, flights_day_csv):
    # hour/minute no longer match sched_dep_time: a rule over several columns, with no single failing value.
    result = ingest(corrupt(flights_day_csv, 7, "minute", "59"))
    summary = failure_summary(summarize([result]))
    row = summary.filter(pl.col("check").str.starts_with("hour and minute")).row(0, named=True)
    assert row["examples"] == "records 7"

    lines: list[str] = []

    class Log:
        def warning(self, text: str) -> None:
            lines.append(text)

    log_batch(Log(), summarize([result]).files)  # type: ignore[arg-type]
    assert "e.g. records 7" in lines[0]
    assert not re.search(r"e\.g\. ?$", lines[0], re.MULTILINE)


def test_the_very_first_day_is_not_judged_and_never_called_normal():
    counts = real_daily_counts().filter(pl.col("day") == date(2013, 1, 1))
    [row] = volume_report(counts, [date(2013, 1, 1)]).iter_rows(named=True)
    assert (row["status"], row["rule"]) == ("not judged", "no recent earlier day")
    check = volume_check(volume_report(counts, [date(2013, 1, 1)]))
    assert check.description == "1 day(s): 1 not judged (no earlier day in the last four weeks to compare with)"
    assert "usual" not in check.description and "within" not in check.description


def test_the_check_names_the_rule_for_an_anomaly_and_the_days_that_passed():
    counts = real_daily_counts().filter(pl.col("day") <= date(2013, 1, 3))
    spike = counts.with_columns(rows=pl.when(pl.col("day") == date(2013, 1, 3)).then(914 * 2500).otherwise("rows"))
    check = volume_check(volume_report(spike, [date(2013, 1, 1), date(2013, 1, 2), date(2013, 1, 3)]))
    assert not check.passed
    assert check.description.startswith("2013-01-03 (Thursday): 2285000 rows, expected 580-2678 by the ratio to")
    assert check.description.endswith(
        "| 3 day(s): 1 within the ratio to recent days, "
        "1 not judged (no earlier day in the last four weeks to compare with)"
    )
    assert check.metadata["judged_by_recent_ratio"].value == 2


def test_a_missing_file_counts_as_refused_in_text_and_metadata(ingest, datasets, flights_day_csv):
    missing = ["no file for flights partition 2013-01-02: expected landing/flights/flights_2013-01-02.csv"]
    check = validation_check(datasets["flights"], summarize([ingest(flights_day_csv)]), missing)
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert check.description.startswith(missing[0])
    assert "1 of 2 file(s) refused, missing or not read, nothing of them loaded" in check.description
    assert check.metadata["files_refused"].value == 1
