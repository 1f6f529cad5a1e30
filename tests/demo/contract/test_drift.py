"""`profile --compare` on a warehouse loaded for real: four days of weather, the last two drifting."""

from datetime import date, timedelta

import polars as pl
import pytest

from cli import profile as profile_command
from contract.drift import compare
from demo.nycflights import daily_table
from ingestion.landing import dataset_landing_dir
from ingestion.load import load_partitions
from resources.warehouse import WarehouseResource

DAYS = [date(2013, 6, 1) + timedelta(days=n) for n in range(4)]


def deliver(settings, datasets, day: date, frame: pl.DataFrame) -> None:
    dataset = datasets["weather"]
    target = dataset_landing_dir(settings.landing, "weather") / dataset.file_name_for(day)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.drop("_day").write_csv(target, null_value="NA")


@pytest.fixture
def drifting(settings, datasets):
    """June 1-2 as they were; June 3-4 warmer near the bound, gusts mostly missing, and a new airport."""
    weather = daily_table("weather")
    for day in DAYS:
        frame = weather.filter(pl.col("_day") == day)
        if day >= DAYS[2]:
            frame = frame.with_columns(
                temp=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("126.5")).otherwise(pl.col("temp")),
                wind_gust=pl.lit(None, pl.String),
                origin=pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("XYZ")).otherwise(pl.col("origin")),
            )
        deliver(settings, datasets, day, frame)
    warehouse = WarehouseResource.for_settings(settings)
    keys = [day.isoformat() for day in DAYS]
    load_partitions(datasets["weather"], keys, settings.landing, settings.archive, warehouse.writer, "drift")
    return settings


def verdicts(findings, column: str) -> dict[str, str]:
    return {finding.contract.split(" ")[0]: finding.verdict for finding in findings if finding.column == column}


def test_the_report_says_what_drifted_and_what_to_do(drifting):
    days, findings = compare(drifting, WarehouseResource.for_settings(drifting), "weather", DAYS[0], DAYS[-1])
    assert days == DAYS
    assert verdicts(findings, "origin")["isin"] == "act: 2 value(s) refused, e.g. 'XYZ'"
    assert verdicts(findings, "temp")["in_range"].startswith("watch: moving toward a bound")
    assert verdicts(findings, "wind_gust")["nullable"].startswith("watch: null rate rising")
    assert verdicts(findings, "pressure")["in_range"] == "ok"
    assert not any(finding.verdict.startswith(("act", "watch")) for finding in findings if finding.column == "visib")


def test_the_command_prints_a_table_and_exits_1_when_something_is_to_act_on(drifting, capsys):
    code = profile_command.main(
        ["weather", "--compare", "--from", "2013-06-01", "--to", "2013-06-04"], settings=drifting
    )
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("weather against its contract, 2013-06-01 .. 2013-06-04 (4 days, compared half against half)")
    assert "origin      isin 3 values        2 refused" in out
    assert "\n1 to act on, " in out


def test_a_dataset_with_nothing_landed_is_said(settings, capsys):
    assert profile_command.main(["weather", "--compare"], settings=settings) == 2
    assert "does not exist yet" in capsys.readouterr().out
