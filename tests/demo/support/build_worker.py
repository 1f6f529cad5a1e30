"""The downstream build (the dbt models) in a process of its own, as a run worker runs it, for the
tests that kill a build: tests/publishing/test_killed_builds.py.

    python -m tests.demo.support.build_worker [--hold-publish MARKER]

With ``--hold-publish`` the publishing transaction stops once it has written every mart, before
its commit: the worker touches MARKER and waits to be killed there. Settings come from DATAOPS_*
variables, as in a run. Prints a JSON line with the run's outcome if nobody killed it.
"""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

import duckdb

import publishing.marts
from config.settings import get_settings
from ingestion.changes import Claim
from tests.demo.support.pipeline import Pipeline


def hold_publish_before_commit(marker: Path) -> None:
    """Make the publishing transaction wait, all written and nothing committed, to be killed."""
    record_consumed = publishing.marts.record_consumed

    def written_then_held(connection: duckdb.DuckDBPyConnection, claim: Claim, models: set[str]) -> int:
        recorded = record_consumed(connection, claim, models)
        marker.touch()
        threading.Event().wait()  # forever: the test kills this process here
        return recorded

    publishing.marts.record_consumed = written_then_held  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hold-publish", type=Path)
    args = parser.parse_args()
    if args.hold_publish:
        hold_publish_before_commit(args.hold_publish)
    result = Pipeline(get_settings()).run_build()
    print(json.dumps({"success": result.success}), flush=True)


if __name__ == "__main__":
    main()
