"""A new dataset is a profile and one SQL file: a synthetic daily gate-events feed, added to a copy of
the project the way the README's "Add a dataset" says, loads and reaches a mart, with its checks
and lineage in the asset graph (tests/support/new_dataset.py does the steps)."""

import json
import random
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from config.settings import PROJECT_ROOT
from tests.support.new_dataset import copy_project, run_in

pytestmark = pytest.mark.integration

DAYS = [date(2013, 1, 1) + timedelta(days=n) for n in range(3)]
TERMINALS = ["T1", "T4", "T5", "T7"]
EVENTS = ["open", "boarding", "closed"]
MART = "mart_gate_events_daily"
MART_SQL = """-- Gate events per day and terminal: how many, and the passengers they boarded.
select
    _partition_date as event_date,
    terminal,
    count(*) as events,
    sum(passengers) as passengers
from {{ ref('stg_gate_events') }}
group by all
"""


def gate_events(day: date, rows: int = 150) -> pl.DataFrame:
    """One day of a feed the project has never seen: events at gates, a few passengers unknown."""
    rng = random.Random(day.toordinal())
    start = datetime(day.year, day.month, day.day, 5, tzinfo=UTC)
    return pl.DataFrame(
        {
            "event_id": [day.toordinal() * 1_000 + n for n in range(rows)],
            "gate": [f"{rng.choice('ABC')}{rng.randint(1, 40)}" for _ in range(rows)],
            "terminal": [rng.choice(TERMINALS) for _ in range(rows)],
            "event": [rng.choice(EVENTS) for _ in range(rows)],
            "event_time": [(start + timedelta(minutes=6 * n)).strftime("%Y-%m-%dT%H:%M:%SZ") for n in range(rows)],
            "passengers": [None if n % 25 == 0 else rng.randint(0, 280) for n in range(rows)],
        }
    )


def test_a_new_dataset_is_a_profile_and_one_sql_file(tmp_path):
    copy = copy_project(tmp_path / "project")
    data = tmp_path / "data"
    sample = tmp_path / "sample" / f"gate_events_{DAYS[0]}.csv"
    sample.parent.mkdir()
    gate_events(DAYS[0]).write_csv(sample, null_value="NA")

    # 1. The profile, written into the project.
    described = ["--description", "Gate events at the NYC terminals, one file per day."]
    done = run_in(copy, data, "-m", "cli.profile", "gate_events", str(sample), "--write", *described)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wrote config/datasets/gate_events.yaml" in done.stdout and "wrote schemas/gate_events.py" in done.stdout
    # 2. The one SQL file: a mart over the staging view.
    (copy / "dbt_project" / "models" / "marts" / f"{MART}.sql").write_text(MART_SQL)
    # 3. Files land: the demo's reference data and first day, and three days of the new feed.
    assert run_in(copy, data, "-m", "demo.replay", "--reference", "--days", "1").returncode == 0
    for day in DAYS:
        landed = data / "landing" / "gate_events" / f"gate_events_{day}.csv"
        landed.parent.mkdir(parents=True, exist_ok=True)
        gate_events(day).write_csv(landed, null_value="NA")
    # 4. Load and build, as without a daemon (the dbt project parsed first, as outside `dagster dev`).
    parsed = run_in(copy, data, "-c", "from resources.dbt import ensure_manifest; ensure_manifest()")
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    built = run_in(copy, data, "-m", "cli.backfill")
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]

    found = run_in(copy, data, "-m", "tests.support.new_dataset", "gate_events", MART)
    assert found.returncode == 0, found.stderr[-3000:]
    state = json.loads(found.stdout.strip().splitlines()[-1])
    # Checks: the load's own (Pandera, drift, volume) and dbt's key tests on the raw table.
    assert {"pandera_validation", "schema_drift", "volume_anomaly"} <= set(state["raw_checks"])
    assert any("event_id" in name and "unique" in name for name in state["raw_checks"]), state["raw_checks"]
    # Lineage: the raw asset -> its staging view -> the mart.
    assert state["staging_parents"] == ["raw/gate_events"]
    assert state["mart_parents"] == ["staging/stg_gate_events"]
    # The data: every generated row loaded, the mart holds each day's events per terminal.
    assert state["raw_rows"] == 150 * len(DAYS)
    expected = (
        pl.concat([gate_events(day).with_columns(event_date=pl.lit(day)) for day in DAYS])
        .group_by("event_date", "terminal")
        .agg(events=pl.len(), passengers=pl.col("passengers").sum())
        .sort("event_date", "terminal")
    )
    assert state["mart_rows"] == [[str(value) for value in row] for row in expected.iter_rows()]
    # The repository itself was not touched.
    assert not (PROJECT_ROOT / "schemas" / "gate_events.py").exists()
