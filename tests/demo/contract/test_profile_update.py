"""`profile --update` (contract/update.py): the change the flights contract needs to take new files,
proposed from real days reshaped, and written into a copy of the schema's source and the config."""

from __future__ import annotations

import ast
import io
from datetime import date

import polars as pl
import yaml

from config.settings import PROJECT_ROOT
from contract.profile import profile
from contract.update import edited_model, propose, with_changes
from demo.nycflights import day_csv

DAYS = [date(2013, 2, 4), date(2013, 2, 5)]

DEMO_DATASETS = PROJECT_ROOT / "config" / "datasets" / "nyc_flights.yaml"


def sample(tmp_path, reshape) -> list:
    paths = []
    for day in DAYS:
        frame = reshape(pl.read_csv(io.BytesIO(day_csv("flights", day)), infer_schema=False))
        path = tmp_path / f"flights_{day}.csv"
        frame.write_csv(path)
        paths.append(path)
    return paths


def test_new_renamed_widened_and_missing_columns_are_proposed_with_their_reasons(tmp_path, datasets):
    def reshape(frame: pl.DataFrame) -> pl.DataFrame:
        return (
            frame.rename({"tailnum": "tail_number"})
            .drop("minute")
            .with_columns(seats=pl.lit("150"), air_time=pl.col("air_time").str.replace("^(\\d+)$", "$1.5"))
        )

    paths = sample(tmp_path, reshape)
    proposals = propose(datasets["flights"], profile("flights", paths), paths)
    said = {proposal.change.describe(): proposal.reason for proposal in proposals if proposal.change}
    assert set(said) == {
        "tail_number renamed from tailnum",
        "minute retired from 2013-02-04 (null in files after)",
        "seats added from 2013-02-04 (null in files before)",
        "air_time widened",
    }, said
    assert "same type" in said["tail_number renamed from tailnum"]
    assert "Float64" in said["air_time widened"]


def test_values_outside_a_declared_range_are_reported_not_changed(tmp_path, datasets):
    paths = sample(tmp_path, lambda frame: frame.with_columns(distance=pl.lit("7000")))
    proposals = propose(datasets["flights"], profile("flights", paths), paths)
    assert [proposal.change for proposal in proposals] == [None]
    assert "'distance': the files hold 7000 to 7000, the contract allows 1 to 6000" in proposals[0].reason


def test_the_changes_are_written_into_the_schema_s_source_and_the_config(tmp_path, datasets):
    def reshape(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.rename({"tailnum": "tail_number"}).drop("minute").with_columns(seats=pl.lit("150"))

    paths = sample(tmp_path, reshape)
    proposals = propose(datasets["flights"], profile("flights", paths), paths)
    source = edited_model((PROJECT_ROOT / "schemas" / "flights.py").read_text(), "Flights", proposals)
    fields = {
        node.target.id: ast.unparse(node)
        for node in next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "Flights").body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    assert "tailnum" not in fields and "str_matches" in fields["tail_number"]  # renamed, its rules kept
    assert "nullable=True" in fields["minute"]  # retired: older files have it, newer ones not
    assert fields["seats"].startswith("seats: pl.Int32 = pa.Field(nullable=True")
    assert list(fields)[-1] == "seats"

    changes = [proposal.change for proposal in proposals if proposal.change]
    config = with_changes((DEMO_DATASETS).read_text(), "flights", changes)
    entry = yaml.safe_load(config)["datasets"]["flights"]
    assert entry["changes"] == [
        {"renamed": "tail_number", "was": ["tailnum"]},
        {"retired": "minute", "from": date(2013, 2, 4)},
        {"added": "seats", "from": date(2013, 2, 4)},
    ]
    assert (
        yaml.safe_load(config)["datasets"]["weather"]
        == yaml.safe_load((DEMO_DATASETS).read_text())["datasets"]["weather"]
    )
