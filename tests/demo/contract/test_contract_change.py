"""A schema change in a day, in a copy of the project, as docs/datasets.md says to make it.

The history (real flights days before D) is loaded and built under the current contract. From day
D the feed delivers its files in a new shape: a new column (`seats`), one renamed (`tailnum` is
now `tail_number`) and one whose values need a wider type (`air_time` in tenths of a minute).
`profile flights <new files> --update` proposes the three changes, `--write` applies them, the
SQL edit takes the new names into the models, and one `backfill` reloads the whole history: every
delivered row is in raw as before, the new column null before D and filled after, the marts hold
it and equal a full refresh, published in one version.
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import polars as pl
import pytest

from config.settings import Settings
from demo.nycflights import day_csv
from tests.support import dev_server
from tests.support.new_dataset import copy_project, run_in

pytestmark = [pytest.mark.integration, pytest.mark.backends]

HISTORY = [date(2013, 1, 1) + timedelta(days=n) for n in range(3)]
CHANGED_ON = date(2013, 1, 4)
AFTER = [CHANGED_ON, CHANGED_ON + timedelta(days=1)]


def new_shape(day: date) -> bytes:
    """The real file of ``day`` as the feed delivers it from D: seats added, tailnum renamed, air
    time in tenths of a minute."""
    frame = pl.read_csv(io.BytesIO(day_csv("flights", day)), infer_schema=False, null_values=["NA"])
    frame = frame.rename({"tailnum": "tail_number"}).with_columns(
        seats=(pl.col("flight").cast(pl.Int32) % 250 + 50).cast(pl.String),
        air_time=(pl.col("air_time").cast(pl.Float64) + 0.5).cast(pl.String),
    )
    out = io.BytesIO()
    frame.write_csv(out, null_value="NA")
    return out.getvalue()


def real_history() -> dict[str, int]:
    return {day: n for day, n in dev_server.real_flights_per_day().items() if day <= str(HISTORY[-1])}


def sql_edit(copy) -> None:
    """The SQL edit docs/datasets.md shows: the renamed column under its new name, the new one taken along."""
    staging = copy / "dbt_project" / "models" / "staging" / "stg_flights.sql"
    text = staging.read_text()
    staging.write_text(text.replace("    tailnum,\n", "    tail_number as tailnum,\n    seats,\n", 1))
    fact = copy / "dbt_project" / "models" / "marts" / "fct_flights.sql"
    text = fact.read_text()
    fact.write_text(text.replace("    f.tailnum,\n", "    f.tailnum,\n    f.seats,\n", 1))


def test_a_column_added_renamed_and_widened_from_a_day_is_published_with_the_history(tmp_path, backend_overrides):
    lake = {key: str(value) for key, value in Settings(env="test", **backend_overrides()).environment().items()}
    lake.pop("DATAOPS_ENV", None)
    copy = copy_project(tmp_path / "project")
    data = tmp_path / "data"

    def run(*command: str) -> str:
        done = run_in(copy, data, *command, settings=lake)
        assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
        return done.stdout

    run("-m", "demo.replay", "--reference", "--from", str(HISTORY[0]), "--to", str(HISTORY[-1]))
    run("-c", "from resources.dbt import ensure_manifest; ensure_manifest()")
    run("-m", "cli.backfill")

    # From D the files change shape; their samples propose the change, --write applies it.
    samples = tmp_path / "samples"
    samples.mkdir()
    for day in AFTER:
        (samples / f"flights_{day}.csv").write_bytes(new_shape(day))
    proposed = run("-m", "cli.profile", "flights", *sorted(str(path) for path in samples.iterdir()), "--update")
    assert f"seats added from {CHANGED_ON}" in proposed, proposed
    assert "tail_number renamed from tailnum" in proposed, proposed
    assert "air_time widened" in proposed, proposed
    written = run(
        "-m", "cli.profile", "flights", *sorted(str(path) for path in samples.iterdir()), "--update", "--write"
    )
    assert "wrote schemas/flights.py" in written and "wrote config/datasets/nyc_flights.yaml" in written, written
    sql_edit(copy)
    run("-c", "from resources.dbt import ensure_manifest; ensure_manifest()")
    # A build before any file of the new shape loaded (automation after the definitions reload): the
    # raw table is given the new columns first, so the models that read them bind (null for now).
    early = json.loads(run("-m", "tests.demo.support.contract_change", "--build").splitlines()[-1])
    assert early["success"], early["failures"]
    assert early["fct_rows_and_seats"] == [[sum(n for day, n in real_history().items()), 0]]
    landing = data / "landing" / "flights"
    for day in AFTER:
        (landing / f"flights_{day}.csv").write_bytes(new_shape(day))
    run("-c", "from resources.dbt import ensure_manifest; ensure_manifest()")
    before = json.loads(run("-m", "tests.demo.support.contract_change", "--versions").splitlines()[-1])[
        "published_versions"
    ]

    run("-m", "cli.backfill", "--dataset", "flights")  # its whole history, under the new contract

    state = json.loads(run("-m", "tests.demo.support.contract_change").splitlines()[-1])
    real = {day: n for day, n in dev_server.real_flights_per_day().items() if day <= str(AFTER[-1])}
    assert state["raw"] == real
    assert state["quarantined"] == 0
    assert state["raw_seats"] == {day: (n if day >= str(CHANGED_ON) else 0) for day, n in real.items()}
    assert all(state["raw_tail_numbers"][day] > 0.98 * n for day, n in real.items())  # old files too
    assert state["raw_types"]["air_time"] == "DOUBLE" and "tailnum" not in state["raw_types"]
    assert state["fct"] == real
    assert state["fct_seats"] == state["raw_seats"]  # the marts hold the new column, the history included
    assert state["published_versions"] == before + 1  # one build published it all
    assert state["differ_from_a_full_refresh"] == []
