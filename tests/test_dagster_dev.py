"""The pipeline under the real `dagster dev` (webserver, daemon, sensors, automation), on the synthetic
project, as a user runs it: files land and nothing else is done by hand. The landing sensor loads
them, automation builds the marts and the analytics, and a day landing alone later is loaded and
refreshed by one run. On both warehouse backends."""

from __future__ import annotations

from collections import Counter

import dagster as dg
import pytest

from config.settings import Settings
from instance.local import open_local_instance
from tests.support import dev_server, synthetic
from tests.synthetic import feed

pytestmark = [pytest.mark.e2e, pytest.mark.backends]

# Ceilings, not expectations: each wait ends as soon as its condition holds.
PIPELINE_TIMEOUT = 1200
ANALYTICS = dg.AssetKey(["analytics", "segment_revenue"])
FIRST_DAYS = feed.days(2)
LATER_DAY = feed.days(4)[-1]  # not the next day: a gap, as a late feed leaves one


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory, synthetic_dbt, backend_overrides):
    """One `dagster dev` per backend, on the synthetic project."""
    workdir = tmp_path_factory.mktemp("dagster_dev")
    content = synthetic.content_settings(synthetic_dbt)
    settings = Settings(env="dev", data_dir=workdir / "data", **backend_overrides(), **content)
    with dev_server.dagster_dev(workdir, settings) as server:
        yield settings, server


def orders_per_day(settings: Settings) -> dict[str, int]:
    return dev_server.rows_per_day(settings, "marts.fct_orders", "order_date")


def delivered_per_day(days) -> dict[str, int]:
    return {day.isoformat(): feed.orders_frame(day).height for day in days}


def analytics_run(home) -> str | None:
    with open_local_instance(home) as instance:
        event = instance.get_latest_materialization_event(ANALYTICS)
    return event.run_id if event else None


def test_landed_files_reach_the_marts_and_the_analytics_in_one_load_and_one_build(dagster_dev):
    settings, server = dagster_dev
    feed.land(settings, FIRST_DAYS, reference=True)
    dev_server.wait_for(
        "every landed order in the marts, the analytics built and no run in flight",
        lambda: (
            orders_per_day(settings) == delivered_per_day(FIRST_DAYS)
            and analytics_run(server.home) is not None
            and all(run.is_finished for run in dev_server.runs(server.home))
        ),
        PIPELINE_TIMEOUT,
        every=5,
        in_flight=lambda: dev_server.runs_in_flight(server.home),
    )
    runs = dev_server.runs(server.home)
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}, dev_server.describe_runs(runs)
    # A cold start (the customer list and the first days together): one load run, one build.
    assert Counter(run.job_name for run in runs) == {"ingest": 1, "__ASSET_JOB": 1}, dev_server.describe_runs(runs)


def test_a_day_landing_alone_is_loaded_and_refreshed_in_one_run(dagster_dev):
    settings, server = dagster_dev
    before = {run.run_id for run in dev_server.runs(server.home)}
    feed.land(settings, [LATER_DAY])
    dev_server.wait_for(
        "the day in the marts and no run in flight",
        lambda: (
            LATER_DAY.isoformat() in orders_per_day(settings)
            and all(run.is_finished for run in dev_server.runs(server.home))
        ),
        PIPELINE_TIMEOUT,
        every=2,
        in_flight=lambda: dev_server.runs_in_flight(server.home),
    )
    [run] = [run for run in dev_server.runs(server.home) if run.run_id not in before]
    dev_server.wait_for_automation_after(server.home, run.run_id, PIPELINE_TIMEOUT)
    new = [run for run in dev_server.runs(server.home) if run.run_id not in before]
    assert [(run.job_name, run.status) for run in new] == [("land_and_refresh", dg.DagsterRunStatus.SUCCESS)], (
        dev_server.describe_runs(new)
    )
    assert orders_per_day(settings) == delivered_per_day([*FIRST_DAYS, LATER_DAY])
    assert analytics_run(server.home) == new[0].run_id, "the analytics came in the same run"
