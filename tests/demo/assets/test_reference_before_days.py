"""Reference files that land before any day: the refresh builds what it can and fails nothing.

Before the first day of flights and weather there are no raw tables to build the marts from. The
refresh of the reference load (the landing sensor's, `backfill`'s) must not fail and raise an
alert over data that simply has not come yet: it leaves out what reads the missing sources, and
the first refresh after the first day builds and publishes everything.
"""

import dagster as dg
import pytest

from assets.day_coverage import DAY_COVERAGE_CHECK
from cli.backfill import run_backfill
from definitions import build_definitions
from demo import replay
from tests.support.warehouse import query

pytestmark = [pytest.mark.integration, pytest.mark.backends]

PER_DAY_MODELS = (
    "fct_flights",
    "mart_carrier_daily_performance",
    "mart_origin_daily_performance",
    "mart_weather_daily_impact",
)


def relations(settings, schema: str) -> set[str]:
    rows = query(
        settings,
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()"
        " AND table_schema = ?",
        [schema],
    )
    return {name for (name,) in rows}


def test_a_refresh_before_any_day_leaves_the_marts_out_and_the_first_day_builds_them(dbt_manifest, settings):
    instance = dg.DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    replay.main(["--reference"], settings=settings)

    first = run_backfill(settings, instance, defs=defs)

    assert set(first.results) == {"reference", "downstream"}
    assert first.success, {label: result.success for label, result in first.results.items()}
    downstream = first.results["downstream"]
    built = {event.asset_key.path[-1] for event in downstream.get_asset_materialization_events()}
    assert built == {"stg_airlines", "stg_airports", "stg_planes"}
    # What reads the marts is skipped, not failed (the readers' copy exists on the file backend only).
    skipped = {event.step_key for event in downstream.all_events if event.event_type_value == "STEP_SKIPPED"}
    readers = set() if settings.uses_lake else {"readers__warehouse_copy"}
    # So are the checks that each per-day mart holds every day of its input (assets/day_coverage.py).
    coverage = {f"marts__{name}_{DAY_COVERAGE_CHECK}" for name in PER_DAY_MODELS}
    assert skipped == {"analytics__carrier_scorecard", "analytics__weather_delay_impact", *readers, *coverage}
    assert relations(settings, "marts") == set()
    assert relations(settings, "raw") == {"airlines", "airports", "planes"}

    replay.main(["--days", "1"], settings=settings)
    second = run_backfill(settings, instance, defs=defs)

    assert second.success, {label: result.success for label, result in second.results.items()}
    assert query(settings, "SELECT count(*) FROM marts.fct_flights") == [(842,)]
    assert query(settings, "SELECT count(*) FROM analytics.carrier_scorecard") != [(0,)]
