"""End to end under the real `dagster dev` (webserver, daemon, sensors, automation), as a user runs it.

Files are delivered with `replay`; nothing else is done by hand: the landing sensor loads them,
automation builds the marts. Then a bad file lands and the alert must arrive. Run it alone with
``pytest -m e2e``.
"""

import json
from datetime import date

import dagster as dg
import polars as pl
import pytest

from cli import dev_server, replay
from cli.nycflights import day_csv
from definitions import build_definitions
from resources.settings import Settings
from tests.support.browser import browser_page, dismiss_welcome

pytestmark = pytest.mark.e2e

# Ceilings, not expectations: each wait ends as soon as its condition holds (seconds when idle).
PIPELINE_TIMEOUT = 1200
ALERT_TIMEOUT = 600


def marts_days(settings: Settings) -> set[str]:
    return set(dev_server.flights_per_day(settings.warehouse))


def alerts(settings: Settings) -> list[dict]:
    if not settings.alerts.exists():
        return []
    return [json.loads(line) for line in settings.alerts.read_text().splitlines()]


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory, dbt_manifest):
    """One `dagster dev` for the module: starting it costs half a minute."""
    workdir = tmp_path_factory.mktemp("dagster_dev")
    settings = Settings(env="dev", data_dir=workdir / "data")
    with dev_server.dagster_dev(workdir, settings.data_dir) as server:
        yield settings, server


def test_landed_files_reach_the_marts_and_a_bad_file_raises_an_alert(dagster_dev):
    settings, server = dagster_dev
    log = server.log
    replay.main(["--reference", "--days", "2"], settings=settings)
    wanted = {"2013-01-01", "2013-01-02"}
    assert dev_server.wait_for(
        "the replayed days in the marts",
        lambda: marts_days(settings) >= wanted,
        PIPELINE_TIMEOUT,
        every=5,
        in_flight=lambda: dev_server.runs_in_flight(server.home),
    )

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
    assert marts_days(settings) == {"2013-01-01", "2013-01-02"}, "the bad day was not published"
    assert list(settings.archive.rglob("*__flights_2013-01-03.csv")), "the bad file is kept"


def test_the_ui_opens_readable_with_real_charts_and_materialize_all_is_the_data(dagster_dev, tmp_path):
    """In a real browser: the lineage graph shows every asset (no collapsed groups), "Materialize all"
    counts the data assets only (not the operations), and a chart is a rendered PNG image."""
    settings, server = dagster_dev
    scorecard = dg.AssetKey(["analytics", "carrier_scorecard"])

    def scorecard_built() -> bool:
        with dg.DagsterInstance.from_config(str(server.home)) as instance:
            return instance.get_latest_materialization_event(scorecard) is not None

    dev_server.wait_for(
        "the analytics to be built",
        scorecard_built,
        PIPELINE_TIMEOUT,
        every=5,
        in_flight=lambda: dev_server.runs_in_flight(server.home),
    )
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
