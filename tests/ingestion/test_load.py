"""A load killed at any point loses nothing and duplicates nothing when it is done again.

Each kill is real: the load runs in a child process that SIGKILLs itself at one point (the step
after it is patched to do so), then the same load runs again, as the landing sensor would start
it for the file still in landing. Afterwards: the day's rows once, one archived file whose bytes
the rows name, one load-log row for the delivery, and the landing zone empty.
"""

import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from ingestion.load import load_partitions
from resources.warehouse import WarehouseResource
from tests.support.warehouse import query
from tests.synthetic import feed

# On the lake too: a kill inside a DuckLake commit must leave the catalog as a retry can finish it.
pytestmark = pytest.mark.backends

DAY = feed.days(2)[-1].isoformat()
ORDERS_ON_DAY = feed.orders_frame(feed.days(2)[-1]).height

# Where the child dies: the function it calls next is replaced by a SIGKILL of itself.
KILL_POINTS = {
    "after the archive copy, before validation": "ingestion.load.ingest_files",
    "inside the commit transaction": "ingestion.storage._insert",
    "after the commit, before leaving landing": "ingestion.load.remove_from_landing",
}

CHILD = """
import importlib, os, signal, sys
from config.settings import Settings
from resources.warehouse import WarehouseResource
from config.datasets import load_datasets
import ingestion.load

module, name = sys.argv[1].rsplit(".", 1)
setattr(importlib.import_module(module), name, lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL))
settings = Settings(env="test", data_dir=sys.argv[2])
dataset = load_datasets(settings.datasets_path)["orders"]
warehouse = WarehouseResource.for_settings(settings)
ingestion.load.load_partitions(dataset, [sys.argv[3]], settings.landing, settings.archive, warehouse.writer, "killed")
"""


def load(settings, datasets):
    warehouse = WarehouseResource.for_settings(settings)
    return load_partitions(datasets["orders"], [DAY], settings.landing, settings.archive, warehouse.writer, "again")


def state(settings) -> dict:
    [rows] = query(
        settings,
        "SELECT count(*), count(DISTINCT _source_file), any_value(_source_file) FROM raw.orders "
        "WHERE _partition_date = ?",
        [DAY],
    )
    log = query(
        settings,
        "SELECT source_file, records_read, rows_loaded, run_id FROM meta.file_loads "
        "WHERE dataset = 'orders' AND partition_date = ?",
        [DAY],
    )
    return {"rows": rows, "log": log}


@pytest.mark.parametrize("point", list(KILL_POINTS), ids=lambda point: point.split(",")[0].replace(" ", "-"))
def test_a_load_killed_at_any_point_is_completed_exactly_once_by_the_next(settings, datasets, point):
    feed.land(settings, [date.fromisoformat(DAY)])
    landed = settings.landing / "orders" / f"orders_{DAY}.csv"
    delivered = landed.read_bytes()
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), KILL_POINTS[point], str(settings.data_dir), DAY],
        cwd=Path(__file__).resolve().parents[3],
        # The child's settings are the test's: the backend and lake catalog through the environment.
        env={**os.environ, **settings.environment()},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -9, child.stderr[-2000:]
    assert landed.exists(), "until its rows are committed and archived, the file stays in landing"

    outcome = load(settings, datasets)

    assert [report.rows_loaded for report in outcome.summary.files] == [ORDERS_ON_DAY]
    assert not landed.exists()
    [archived] = (settings.archive / "orders" / DAY).iterdir()
    assert archived.read_bytes() == delivered
    source = archived.relative_to(settings.archive).as_posix()
    assert state(settings) == {
        "rows": (ORDERS_ON_DAY, 1, source),
        "log": [(source, ORDERS_ON_DAY, ORDERS_ON_DAY, "again")],
    }


def test_loading_a_day_twice_logs_one_row_per_delivery(settings, datasets):
    feed.land(settings, [date.fromisoformat(DAY)])
    load(settings, datasets)
    load(settings, datasets)  # re-materialised from the archive, as a retry of the run would be
    assert len(state(settings)["log"]) == 1
    feed.land(settings, [date.fromisoformat(DAY)])  # a new delivery of the day
    load(settings, datasets)
    assert len(state(settings)["log"]) == 2


def test_junk_partition_keys_are_skipped_and_said_while_the_real_days_load(settings, datasets):
    feed.land(settings, [date.fromisoformat(DAY)])
    warehouse = WarehouseResource.for_settings(settings)
    outcome = load_partitions(
        datasets["orders"], ["../../x", DAY, "2031-01-02"], settings.landing, settings.archive, warehouse.writer, "r"
    )
    assert [report.rows_loaded for report in outcome.summary.files] == [ORDERS_ON_DAY]
    assert outcome.invalid_keys[0] == "orders: partition key '../../x' is not a day (YYYY-MM-DD); skipped"
    assert "date 2031-01-02 is in the future" in outcome.invalid_keys[1]
    assert outcome.missing == []


def test_a_load_commits_batch_by_batch_and_keeps_only_a_summary(settings, datasets):
    """A range loads in batches of about batch_bytes: each is committed before the next is read."""
    days = [day.isoformat() for day in feed.days(3)]
    feed.land(settings, feed.days(3))
    warehouse = WarehouseResource.for_settings(settings)
    committed: list[tuple[list[str | None], int]] = []

    def progress(reports) -> None:
        # Called once a batch is committed: its rows are in raw already, the later days' are not.
        [(rows,)] = query(settings, "SELECT count(*) FROM raw.orders")
        committed.append(([report.partition_key for report in reports], rows))

    # One byte a batch: every file is a batch of its own.
    outcome = load_partitions(
        datasets["orders"],
        days,
        settings.landing,
        settings.archive,
        warehouse.writer,
        "r",
        batch_bytes=1,
        progress=progress,
    )
    per_day = [report.rows_loaded for report in outcome.summary.files]
    assert [keys for keys, _ in committed] == [[day] for day in days]
    assert [rows for _, rows in committed] == [sum(per_day[: n + 1]) for n in range(len(days))]
    assert outcome.summary.rows_loaded == sum(per_day) and per_day[1] == ORDERS_ON_DAY
    assert sorted(outcome.volume["day"].cast(str).to_list()) == days


def test_batches_follow_file_sizes_and_never_split_a_file(tmp_path):
    from ingestion.landing import LandedFile
    from ingestion.load import batches

    files = []
    for name, size in (("a", 40), ("b", 40), ("c", 100), ("d", 10)):
        path = tmp_path / name
        path.write_bytes(b"x" * size)
        files.append(LandedFile("orders", path, None))
    assert [[f.path.name for f in batch] for batch in batches(files, 90)] == [["a", "b"], ["c"], ["d"]]
    assert [[f.path.name for f in batch] for batch in batches(files, 10_000)] == [["a", "b", "c", "d"]]
