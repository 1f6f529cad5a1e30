"""The file backend's readers: a copy published after each build, which never stalls the pipeline.

A session held open on the warehouse file itself would lock every load and build out. One held
open on the readers' copy for the whole of a load and build does not: the runs succeed with no
retry, the open session keeps the version it opened, and the next session sees the new build.
"""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import duckdb
import pytest

from cli.backfill import run_backfill
from tests.synthetic import feed
from warehouse.file import FileWarehouse

pytestmark = pytest.mark.integration

# Opens the copy read-only, reports its count, then keeps the session (and its lock) until told.
HOLD_COPY = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
print(connection.execute("SELECT count(*) FROM marts.fct_orders").fetchall()[0][0], flush=True)
sys.stdin.readline()
print(connection.execute("SELECT count(*) FROM marts.fct_orders").fetchall()[0][0], flush=True)
"""


def fct_rows(path) -> int:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("SELECT count(*) FROM marts.fct_orders").fetchall()[0][0]


FIRST, SECOND = feed.days(2)
ON_FIRST, ON_SECOND = (feed.orders_frame(day).height for day in (FIRST, SECOND))


def test_a_reader_of_the_copy_never_stalls_loads_and_builds(make_settings):
    settings = make_settings()
    copy = FileWarehouse(settings.warehouse, settings.env).reader_copy
    feed.land(settings, [FIRST, SECOND], reference=True)
    instance = dg.DagsterInstance.ephemeral()
    assert run_backfill(settings, instance, end=FIRST).success
    assert fct_rows(copy) == ON_FIRST, "the first build published the copy"
    schemas = "SELECT schema_name FROM information_schema.schemata"
    with duckdb.connect(str(settings.warehouse), read_only=True) as pipeline:
        assert ("quarantine",) in pipeline.execute(schemas).fetchall()
    with duckdb.connect(str(copy), read_only=True) as reader:
        readers = {name for (name,) in reader.execute(schemas).fetchall()}
    assert {"raw", "marts"} <= readers and "quarantine" not in readers, "refused records stay with the pipeline"

    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_COPY, str(copy)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout.readline().strip() == str(ON_FIRST)
        report = run_backfill(settings, instance, start=SECOND)
        assert report.success
        retries = [
            event
            for result in report.results.values()
            for event in result.all_events
            if event.event_type in (dg.DagsterEventType.STEP_UP_FOR_RETRY, dg.DagsterEventType.STEP_FAILURE)
        ]
        assert retries == [], "nothing waited for the reader"
        stdout, _ = reader.communicate("\n", timeout=60)
    finally:
        reader.kill()
    assert stdout.strip() == str(ON_FIRST), "the open session kept the version it opened"
    assert fct_rows(copy) == ON_FIRST + ON_SECOND, "a new session reads the new build"
