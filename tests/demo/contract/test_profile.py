"""Profiling on the real data: each of the five datasets profiled from January's files (the reference
files whole), the generated contracts judged against the hand-written ones on the other eleven months.

The generated models must accept every February-December row that the hand-written models accept,
and must catch the value errors of the bad-input catalogue (tests/assets/test_bad_inputs.py). Where
they differ, the numbers are printed (run with -s to see the table) and asserted.
"""

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from contract.profile import code_pattern, profile
from contract.render import config_text, model_source
from demo.nycflights import daily_table, day_csv, fed, source_bytes
from ingestion.casting import cast_to_model, model_dtypes
from ingestion.lineage import PARTITION_DATE, ROW_NUMBER
from ingestion.validation import build_schema, validate_rows

JANUARY = [date(2013, 1, 1) + timedelta(days=n) for n in range(31)]


@pytest.fixture(scope="module")
def profiled(tmp_path_factory, datasets):
    """Each demo dataset's profile from January's files (the whole file for reference data), and
    the model class its generated source defines."""
    folder = tmp_path_factory.mktemp("samples")
    result = {}
    for dataset in [*fed(datasets, "daily"), *fed(datasets, "reference")]:
        if dataset.kind == "daily":
            samples = []
            for day in JANUARY:
                path = folder / dataset.file_name_for(day)
                path.write_bytes(day_csv(dataset.name, day))
                samples.append(path)
        else:
            samples = [folder / dataset.file_name_for()]
            samples[0].write_bytes(source_bytes(dataset.name))
        found = profile(dataset.name, samples)
        namespace: dict = {}
        exec(compile(model_source(found, "Profiled."), f"<generated {dataset.name}>", "exec"), namespace)
        result[dataset.name] = (found, namespace[found_class(found)])
    return result


def found_class(found) -> str:
    return "".join(part.capitalize() for part in found.dataset.split("_"))


def rejected(model, key, text: pl.DataFrame, null_values, daily: bool) -> set[int]:
    """Row numbers of ``text`` that the contract rejects: a value that does not parse, or a failed check."""
    text = text.with_columns(pl.col(c).str.strip_chars().replace(list(null_values), None) for c in model_dtypes(model))
    cast = cast_to_model(text, model_dtypes(model))
    typed = cast.typed
    if daily:
        typed = typed.with_columns(text.get_column("_day").alias(PARTITION_DATE))
    outcome = validate_rows(typed, build_schema(model, key))
    assert outcome.frame_errors == []
    return set(cast.failures.get_column(ROW_NUMBER).to_list()) | set(
        outcome.failure_cases.get_column(ROW_NUMBER).to_list()
    )


def the_rest_of_the_year(name: str) -> pl.DataFrame:
    rest = daily_table(name).filter(pl.col("_day") > JANUARY[-1])
    return rest.with_row_index(ROW_NUMBER, offset=1).cast({ROW_NUMBER: pl.Int64})


def rejections(profiled, dataset) -> tuple[pl.DataFrame, set[int], set[int]]:
    """February to December of a daily dataset, and the rows the hand-written and the generated
    (from January) contracts reject."""
    found, generated = profiled[dataset.name]
    rows = the_rest_of_the_year(dataset.name)
    by_hand = rejected(dataset.schema_class, dataset.primary_key, rows, dataset.null_values, daily=True)
    by_profile = rejected(generated, found.primary_key, rows, found.null_values, daily=True)
    return rows, by_hand, by_profile


def test_generated_contracts_accept_the_other_eleven_months_as_the_hand_written_do(profiled, datasets):
    lines = [
        f"{'dataset':10} {'rows':>8} {'hand-written rejects':>21} {'generated rejects':>18} {'only generated':>15}"
    ]
    for dataset in fed(datasets, "daily"):
        rows, by_hand, by_profile = rejections(profiled, dataset)
        lines.append(
            f"{dataset.name:10} {rows.height:>8,} {len(by_hand):>21,} {len(by_profile):>18,} "
            f"{len(by_profile - by_hand):>15,}"
        )
        assert by_profile <= by_hand, f"{dataset.name}: rejects rows the hand-written contract accepts"
    print("\nFebruary-December, generated (from January) against hand-written contracts:\n" + "\n".join(lines))


def test_generated_reference_contracts_accept_their_whole_files(profiled, datasets):
    for dataset in fed(datasets, "reference"):
        found, generated = profiled[dataset.name]
        text = pl.read_csv(source_bytes(dataset.name), infer_schema=False).with_row_index(ROW_NUMBER, offset=1)
        rows = text.cast({ROW_NUMBER: pl.Int64})
        assert rejected(generated, found.primary_key, rows, found.null_values, daily=False) == set(), dataset.name


def test_where_the_generated_contracts_are_looser_it_is_said_in_numbers(profiled, datasets, capsys):
    """What the hand-written contracts catch in the real year that January's profile does not:
    the rules a profile cannot see (relations between columns, known domains), counted."""
    lines = []
    for dataset in fed(datasets, "daily"):
        _, by_hand, by_profile = rejections(profiled, dataset)
        lines.append(
            f"{dataset.name}: both reject {len(by_hand & by_profile)}, only hand-written {len(by_hand - by_profile)}"
        )
    print("\n" + "\n".join(lines))
    # The year's known bad rows (tests/schemas/test_real_data.py): the 1,048 mph wind is caught by both;
    # the D942DN tail number by both (the profile's pattern is N + 4-5 characters).
    assert lines == ["flights: both reject 4, only hand-written 0", "weather: both reject 1, only hand-written 0"]


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("dep_time", "ten to six", "dtype"),  # text in a numeric column
        ("dep_time", "05:17", "dtype"),  # the column changed type
        ("distance", "-5", "in_range"),  # out of range
    ],
)
def test_generated_flights_contract_catches_the_catalogue_s_value_errors(profiled, datasets, column, value, check):
    found, generated = profiled["flights"]
    day = daily_table("flights").filter(pl.col("_day") == date(2013, 3, 1))
    bad = day.with_row_index(ROW_NUMBER, offset=1).cast({ROW_NUMBER: pl.Int64})
    bad = bad.with_columns(pl.when(pl.col(ROW_NUMBER) == 3).then(pl.lit(value)).otherwise(pl.col(column)).alias(column))
    assert 3 in rejected(generated, found.primary_key, bad, found.null_values, daily=True)


def test_generated_contracts_catch_duplicate_keys_and_the_impossible_wind(profiled):
    found, generated = profiled["flights"]
    day = daily_table("flights").filter(pl.col("_day") == date(2013, 3, 1))
    twice = pl.concat([day, day.head(2)]).with_row_index(ROW_NUMBER, offset=1).cast({ROW_NUMBER: pl.Int64})
    assert {1, 2, twice.height - 1, twice.height} <= rejected(
        generated, found.primary_key, twice, found.null_values, True
    )
    found, generated = profiled["weather"]
    windy = the_rest_of_the_year("weather").filter(pl.col("wind_speed").cast(pl.Float64, strict=False) > 1000)
    assert windy.height == 1 and rejected(generated, found.primary_key, windy, found.null_values, daily=True)


def test_the_profile_finds_the_real_keys_types_and_markers(profiled):
    flights, _ = profiled["flights"]
    assert flights.kind == "daily" and flights.file_pattern == "flights_{date}.csv"
    assert flights.null_values == ("NA", "")
    assert flights.primary_key == ("carrier", "flight", "time_hour")
    assert {column.name: str(column.dtype) for column in flights.columns}["time_hour"].startswith("Datetime")
    assert profiled["weather"][0].primary_key == ("origin", "time_hour")
    assert profiled["airports"][0].primary_key == ("faa",)
    assert [rule.check for rule in flights.column("carrier").rules] == ["isin"]
    assert [rule.value for rule in flights.column("tailnum").rules] == ["^N[A-Z0-9]{4,5}$"]


def test_code_patterns_keep_a_shared_prefix_and_the_lengths_seen():
    assert code_pattern(["N14228", "N3ALAA", "N501"]) == "^N[A-Z0-9]{3,5}$"
    assert code_pattern(["04G", "JFK", "369"]) == "^[A-Z0-9]{3}$"
    assert code_pattern(["Kennedy Intl"]) is None  # not code-like: a space


def test_a_generated_model_is_formatted_as_ruff_formats_the_project(profiled, tmp_path):
    for name, (found, _) in profiled.items():
        (tmp_path / f"{name}.py").write_text(
            model_source(
                found, "Profiled for the test, with a description long enough to be wrapped over more than one line."
            )
        )
    ruff = Path(sys.executable).with_name("ruff")
    for command in (["format", "--check"], ["check"]):
        done = subprocess.run([str(ruff), *command, str(tmp_path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def compare(hand, generated) -> dict[str, int]:
    """How a generated model's rules differ from the hand-written one's, column by column, counted."""
    ours, theirs = hand.to_schema(), generated.to_schema()
    counts = dict.fromkeys(
        [
            "columns",
            "same type",
            "looser nulls",
            "same rules",
            "wider range",
            "narrower range",
            "other rule",
            "frame checks",
        ],
        0,
    )
    for name, column in ours.columns.items():
        other = theirs.columns[name]
        counts["columns"] += 1
        counts["same type"] += str(column.dtype) == str(other.dtype)
        counts["looser nulls"] += other.nullable and not column.nullable
        mine = {check.name: check.statistics for check in column.checks}
        yours = {check.name: check.statistics for check in other.checks}
        if mine == yours:
            counts["same rules"] += 1
        elif "in_range" in mine and "in_range" in yours:
            inside = (
                yours["in_range"]["min_value"] <= mine["in_range"]["min_value"]
                and mine["in_range"]["max_value"] <= yours["in_range"]["max_value"]
            )
            counts["wider range" if inside else "narrower range"] += 1
        else:
            counts["other rule"] += 1
    counts["frame checks"] = len(ours.checks) - len(theirs.checks)  # what only the hand-written model checks
    return counts


def test_how_the_generated_rules_differ_from_the_hand_written_in_numbers(profiled, datasets):
    table = {name: compare(datasets[name].schema_class, generated) for name, (_, generated) in profiled.items()}
    header = list(next(iter(table.values())))
    print("\n" + " ".join(f"{h:>14}" for h in ["dataset", *header]))
    for name, counts in table.items():
        print(" ".join(f"{value:>14}" for value in [name, *counts.values()]))
    # Every type is the hand-written one. The differences are margins (a wider range where the sample
    # is all a profile knows of; narrower where the hand-written bound is a physical limit far from
    # the data, e.g. 200 mph of wind), nullability where the sample is too small to say, codes and
    # allowed values as seen (other rule), and the relations between columns that only the
    # hand-written flights and weather models check (frame checks).
    assert all(counts["same type"] == counts["columns"] for counts in table.values())
    assert {name: list(counts.values())[2:] for name, counts in table.items()} == {
        # looser nulls, same rules, wider range, narrower range, other rule, frame checks
        "flights": [0, 4, 12, 0, 3, 6],
        "weather": [6, 3, 7, 4, 1, 2],
        "airlines": [1, 2, 0, 0, 0, 0],
        "airports": [6, 1, 3, 1, 3, 0],
        "planes": [6, 3, 4, 0, 2, 0],
    }


def test_a_small_feed_is_judged_by_its_days(tmp_path):
    """One row a day for three weeks: a column every day delivered is never null, true/false is a
    boolean, the first day bounds the dates, and a date column holding the file's day is checked."""
    days = [date(2013, 3, 1) + timedelta(days=n) for n in range(21)]
    samples = []
    for n, day in enumerate(days):
        path = tmp_path / f"park_{day:%Y%m%d}.csv"
        rows = {"report_date": [str(day)], "open": ["true" if n % 6 else "false"], "visitors": [str(100 + n)]}
        pl.DataFrame(rows).write_csv(path)
        samples.append(path)
    found = profile("park", samples)
    columns = {column.name: column for column in found.columns}
    assert columns["open"].dtype == pl.Boolean()
    assert not any(column.nullable for column in found.columns)  # 21 days, every one delivered each column
    assert found.day_columns == ("report_date",)
    assert "earliest: 2013-03-01" in config_text(found, "A park's daily report.")

    namespace: dict = {}
    exec(compile(model_source(found, "A park's daily report."), "<generated park>", "exec"), namespace)
    model = namespace["Park"]
    frame = pl.DataFrame(
        {
            ROW_NUMBER: [1, 2],
            "report_date": [date(2013, 3, 22), date(2013, 3, 21)],  # the second is not its file's day
            "open": [True, False],
            "visitors": [120, 130],
            PARTITION_DATE: [date(2013, 3, 22), date(2013, 3, 22)],
        },
        schema_overrides={"visitors": pl.Int32},
    )
    outcome = validate_rows(frame, build_schema(model, found.primary_key))
    assert outcome.failure_cases.get_column(ROW_NUMBER).to_list() == [2]


def test_fewer_days_of_a_small_feed_leave_its_columns_nullable(tmp_path):
    samples = []
    for n in range(3):
        path = tmp_path / f"park_2013030{n + 1}.csv"
        pl.DataFrame({"visitors": [str(100 + n)], "note": [f"n{n}"]}).write_csv(path)
        samples.append(path)
    found = profile("park", samples)
    outside_the_key = [column for column in found.columns if column.name not in found.primary_key]
    assert outside_the_key and all(column.nullable for column in outside_the_key)
