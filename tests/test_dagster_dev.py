"""End to end under the real `dagster dev` (webserver, daemon, sensors, automation), as a user runs it.

Files are delivered with `replay`; nothing else is done by hand: the landing sensor loads them,
automation builds the marts. Then a bad file lands and the alert must arrive. On both warehouse
backends. Run it alone with ``pytest -m e2e``.
"""

import json
from datetime import UTC, date, datetime

import dagster as dg
import polars as pl
import pytest

from cli import replay
from definitions import build_definitions
from demo.nycflights import day_csv
from instance.local import open_local_instance
from resources.settings import Settings
from tests.support import dev_server
from tests.support.browser import browser_page, dismiss_welcome

pytestmark = [pytest.mark.e2e, pytest.mark.backends]

# Ceilings, not expectations: each wait ends as soon as its condition holds (seconds when idle).
PIPELINE_TIMEOUT = 1200
ALERT_TIMEOUT = 600


def marts_days(settings: Settings) -> set[str]:
    return set(dev_server.flights_per_day(settings))


SCORECARD = dg.AssetKey(["analytics", "carrier_scorecard"])


def latest_materialization(home, key: dg.AssetKey):
    with open_local_instance(home) as instance:
        return instance.get_latest_materialization_event(key)


def finished_backfill(home):
    """The backfill, once it has finished (None while there is none or it is still going)."""
    with open_local_instance(home) as instance:
        backfills = instance.get_backfills()
    return backfills[0] if backfills and backfills[0].status.value != "REQUESTED" else None


def alerts(settings: Settings) -> list[dict]:
    if not settings.alerts.exists():
        return []
    return [json.loads(line) for line in settings.alerts.read_text().splitlines()]


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory, dbt_manifest, backend_overrides):
    """One `dagster dev` per backend: starting it costs half a minute."""
    workdir = tmp_path_factory.mktemp("dagster_dev")
    settings = Settings(env="dev", data_dir=workdir / "data", **backend_overrides())
    with dev_server.dagster_dev(workdir, settings) as server:
        yield settings, server


def test_landed_files_reach_the_marts_in_one_load_and_one_build(dagster_dev):
    settings, server = dagster_dev
    replay.main(["--reference", "--days", "2"], settings=settings)
    wanted = {"2013-01-01", "2013-01-02"}
    assert dev_server.wait_for(
        "the replayed days in the marts",
        lambda: marts_days(settings) >= wanted,
        PIPELINE_TIMEOUT,
        every=5,
        in_flight=lambda: dev_server.runs_in_flight(server.home),
    )
    dev_server.wait_for(
        "the analytics to be built",
        lambda: latest_materialization(server.home, SCORECARD) is not None,
        PIPELINE_TIMEOUT,
        every=5,
        in_flight=lambda: dev_server.runs_in_flight(server.home),
    )
    # A cold start (reference data and the first days together): one load run, one dbt build.
    assert sorted(run.job_name for run in dev_server.runs(server.home)) == ["__ASSET_JOB", "ingest"]


def test_a_single_landed_day_reaches_the_marts_in_one_run(dagster_dev):
    """After the cold start, a day that lands alone is loaded and refreshed by one land-and-refresh
    run (jobs/landing.py); the automation sensor starts no second build for it."""
    settings, server = dagster_dev
    before = {run.run_id for run in dev_server.runs(server.home)}
    replay.main(["--from", "2013-01-04", "--to", "2013-01-04"], settings=settings)
    dev_server.wait_for(
        "the landed day in the marts and no run in flight",
        lambda: "2013-01-04" in marts_days(settings) and all(run.is_finished for run in dev_server.runs(server.home)),
        PIPELINE_TIMEOUT,
        every=2,
        in_flight=lambda: dev_server.runs_in_flight(server.home),
    )
    with open_local_instance(server.home) as instance:
        [run] = [run for run in instance.get_runs() if run.run_id not in before]
        automation = next(state for state in instance.all_instigator_state() if state.name == "automation_sensor")
        end = instance.get_run_record_by_id(run.run_id).end_time
        # The absence of a second run is only evidence once automation has looked after the run ended.
        dev_server.wait_for(
            "two automation ticks after the run",
            lambda: len(instance.get_ticks(automation.instigator_origin_id, automation.selector_id, after=end)) >= 2,
            ALERT_TIMEOUT,
        )
        after = [r.job_name for r in instance.get_runs() if r.run_id not in before]
    assert (run.job_name, run.status) == ("land_and_refresh", dg.DagsterRunStatus.SUCCESS)
    assert after == ["land_and_refresh"], "no second run for the same day"
    assert latest_materialization(server.home, SCORECARD).run_id == run.run_id, "the analytics came in the same run"


def test_the_ui_opens_readable_with_real_charts(dagster_dev, tmp_path):
    """In a real browser: the lineage graph shows every asset (no collapsed groups), "Materialize all"
    counts the data assets only (not the operations), and a chart is a rendered PNG image."""
    settings, server = dagster_dev
    graph = build_definitions(settings).resolve_asset_graph()
    data_assets = [key for key in graph.get_all_asset_keys() if graph.get(key).is_executable]

    with browser_page() as page:
        page.goto(f"{server.url}/asset-groups", wait_until="networkidle")
        dismiss_welcome(page)
        # Every asset is a node on the first view; operations are not in "Materialize all".
        for name in ("flights", "stg_flights", "fct_flights", "carrier_scorecard", "warehouse_backup"):
            page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
        assert page.get_by_role("button", name=f"Materialize all ({len(data_assets)})").is_visible()
        page.screenshot(path=tmp_path / "lineage.png")

        page.goto(f"{server.url}/assets/analytics/carrier_scorecard", wait_until="networkidle")
        row = page.locator("tr", has_text="on_time_rate_by_carrier")
        row.get_by_text("[Show Markdown]").click(timeout=60_000)
        image = page.get_by_role("img", name="On-time arrival rate by carrier")
        image.wait_for(timeout=30_000)
        width = image.evaluate("img => img.complete ? img.naturalWidth : 0")
        page.screenshot(path=tmp_path / "carrier_scorecard_chart.png", animations="disabled")
        assert width == 750, "the PNG was decoded and drawn by the browser"


def test_materialize_all_in_the_ui_is_the_data(dagster_dev):
    """The README's way through the "Materialize all" dialog (All, Launch) backfills the pipeline
    with no extra runs from automation (which waits for a backfill in progress: assets/automation.py)."""
    settings, server = dagster_dev
    graph = build_definitions(settings).resolve_asset_graph()
    data_assets = [key for key in graph.get_all_asset_keys() if graph.get(key).is_executable]
    with browser_page() as page:
        page.goto(f"{server.url}/asset-groups", wait_until="networkidle")
        dismiss_welcome(page)
        page.get_by_role("button", name=f"Materialize all ({len(data_assets)})").click(timeout=60_000)
        page.get_by_role("button", name="All", exact=True).click(timeout=60_000)
        page.get_by_role("button", name="Launch backfill").click(timeout=60_000)

    backfill = dev_server.wait_for(
        "the Materialize all backfill to finish",
        lambda: finished_backfill(server.home),
        PIPELINE_TIMEOUT,
        every=5,
        in_flight=lambda: dev_server.runs_in_flight(server.home),
    )
    assert backfill.status.value == "COMPLETED_SUCCESS"
    with open_local_instance(server.home) as instance:
        backfilled = instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
        done_at = max(record.end_time or 0 for record in backfilled)
        # The absence of a run is only evidence once automation has looked: two of its ticks after the end.
        automation = next(state for state in instance.all_instigator_state() if state.name == "automation_sensor")
        dev_server.wait_for(
            "two automation ticks after the backfill",
            lambda: (
                len(instance.get_ticks(automation.instigator_origin_id, automation.selector_id, after=done_at)) >= 2
            ),
            ALERT_TIMEOUT,
        )
        since = datetime.fromtimestamp(backfill.backfill_timestamp, UTC)
        automated = instance.get_runs(
            filters=dg.RunsFilter(tags={"dagster/sensor_name": "automation_sensor"}, created_after=since)
        )
    assert len(backfilled) >= 2, "the backfill loaded and built"
    started_by_automation = [
        (
            sorted(key.to_user_string() for key in run.asset_selection or ()),
            sorted(key.name for key in run.asset_check_selection or ()),
        )
        for run in automated
    ]
    assert started_by_automation == [], "automation left the backfilled loads to the backfill's own dbt run"


def test_a_bad_file_raises_an_alert_and_is_not_published(dagster_dev):
    settings, server = dagster_dev
    log = server.log
    broken = pl.read_csv(day_csv("flights", date(2013, 1, 3)), infer_schema=False)
    replay.write_atomically(
        settings.landing / "flights" / "flights_2013-01-03.csv", broken.drop("carrier").write_csv().encode()
    )
    found = dev_server.wait_for(
        "the alerts for the bad file",
        lambda: {alert["kind"] for alert in alerts(settings)} >= {"check_failure", "run_failure"},
        ALERT_TIMEOUT,
        in_flight=lambda: dev_server.runs_in_flight(server.home),
    )
    assert found, log.read_text()[-3000:]
    check_alert = next(alert for alert in alerts(settings) if alert["kind"] == "check_failure")
    assert check_alert["asset"] == "raw/flights"
    assert "missing column(s) ['carrier']" in check_alert["details"]
    assert "2013-01-03" not in marts_days(settings), "the bad day was not published"
    assert list(settings.archive.rglob("*__flights_2013-01-03.csv")), "the bad file is kept"
