"""End to end under the real `dagster dev` (webserver, daemon, sensors, automation), as a user runs it.

Files are delivered with `replay`; nothing else is done by hand: the landing sensor loads them,
automation builds the marts. Beside it, the metrics exporter as `tasks.py dev` starts it: its
figures must be the warehouse's and the instance's, the lineage sensor's events must link the
datasets as the asset graph does, and every process logs JSON lines (`--log-format json`). Then a
bad file lands and the alert, the failed check's count and the FAIL event must arrive; and the
landing sensor's skipped ticks must be purged. On both warehouse backends. Run it alone with
``pytest -m e2e``.
"""

import functools
import json
import subprocess
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import polars as pl
import pytest

from assets.layers import raw_asset_key
from config.names import VALIDATION_CHECK
from config.settings import FILE_BACKEND, Settings
from definitions import build_definitions
from demo import replay
from demo.nycflights import day_csv
from ingestion.landing import write_atomically
from instance.local import open_local_instance
from observability import metrics as exported
from resources.pools import pool_limits
from resources.warehouse import WarehouseResource
from schemas.flights import Flights
from tests.support import dev_server, terminate
from tests.support.browser import browser_page, check_rows, page_at
from tests.support.json_lines import read_json_lines
from tests.support.metrics import Scrape, scrape
from tests.support.monitoring import metrics_queried
from tests.support.openlineage_schema import problems
from warehouse.catalog import tables_in
from warehouse.layout import QUARANTINE, quarantine_table, raw_table

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
    return read_json_lines(settings.alerts)


# A day with a flight its contract refuses (the real data's: one on 2013-02-11), so a check fails.
QUARANTINE_DAY = "2013-02-11"
LANDING_SENSOR = "landing_zone_sensor"


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory, dbt_manifest, backend_overrides):
    """One `dagster dev` per backend (starting it costs half a minute), logging JSON lines."""
    workdir = tmp_path_factory.mktemp("dagster_dev")
    settings = Settings(env="dev", data_dir=workdir / "data", **backend_overrides())
    with dev_server.dagster_dev(workdir, settings, log_format="json") as server:
        yield settings, server


@pytest.fixture(scope="module")
def metrics(dagster_dev):
    """The metrics exporter beside `dagster dev`, as `python3 tasks.py dev` starts it."""
    settings, server = dagster_dev
    with dev_server.metrics_exporter(server.home.parent, settings, server) as url:
        yield url


def executable_assets(settings: Settings) -> list[dg.AssetKey]:
    """The data assets "Materialize all" covers: every executable asset of the code location."""
    graph = build_definitions(settings).resolve_asset_graph()
    return [key for key in graph.get_all_asset_keys() if graph.get(key).is_executable]


def finished_runs(home) -> list[dg.DagsterRun]:
    return [run for run in dev_server.runs(home) if run.is_finished]


def caught_up(url: str, home) -> Scrape | None:
    """A scrape taken while no run was in flight, once the exporter has read every finished run."""
    before = dev_server.runs(home)
    scraped = scrape(url)
    after = dev_server.runs(home)
    settled = len(before) == len(after) and all(run.is_finished for run in after)
    return scraped if settled and scraped.value(exported.RUNS_SEEN) == len(after) else None


def lineage_events(settings: Settings) -> list[dict]:
    return read_json_lines(settings.lineage)


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
    runs = dev_server.runs(server.home)
    assert sorted(run.job_name for run in runs) == ["__ASSET_JOB", "ingest"], dev_server.describe_runs(runs)


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
        new = [run for run in instance.get_runs() if run.run_id not in before]
        assert len(new) == 1, f"one run for the day, not:\n{dev_server.describe_runs(new)}"
        [run] = new
    dev_server.wait_for_automation_after(server.home, run.run_id, ALERT_TIMEOUT)
    after = [r for r in dev_server.runs(server.home) if r.run_id not in before]
    assert (run.job_name, run.status) == ("land_and_refresh", dg.DagsterRunStatus.SUCCESS)
    assert [r.job_name for r in after] == ["land_and_refresh"], f"no second run:\n{dev_server.describe_runs(after)}"
    assert latest_materialization(server.home, SCORECARD).run_id == run.run_id, "the analytics came in the same run"


def test_the_metrics_are_the_warehouse_s_and_the_instance_s_figures(dagster_dev, metrics, promtool):
    """A day with a refused flight lands; once its run is done and the exporter has read every
    finished run, the scrape's rows are the tables' rows, its runs and check results the instance's."""
    settings, server = dagster_dev
    replay.main(["--from", QUARANTINE_DAY, "--to", QUARANTINE_DAY], settings=settings)
    scraped = dev_server.wait_for(
        "the day in the marts and the exporter caught up with every finished run",
        lambda: QUARANTINE_DAY in marts_days(settings) and caught_up(metrics, server.home),
        PIPELINE_TIMEOUT,
        every=3,
        in_flight=lambda: dev_server.runs_in_flight(server.home),
    )
    with WarehouseResource.for_settings(settings).read_only() as connection:
        quarantined_tables = set(tables_in(connection, QUARANTINE))
        for labels in scraped.series(exported.ROWS_LOADED_TOTAL):
            dataset = dict(labels)["dataset"]
            [(loaded,)] = connection.execute(f"SELECT count(*) FROM {raw_table(dataset)}").fetchall()
            quarantined = 0
            if dataset in quarantined_tables:
                [(quarantined,)] = connection.execute(f"SELECT count(*) FROM {quarantine_table(dataset)}").fetchall()
            assert scraped.value(exported.ROWS_LOADED_TOTAL, dataset=dataset) == loaded, dataset
            assert scraped.value(exported.ROWS_QUARANTINED_TOTAL, dataset=dataset) == quarantined, dataset
            assert scraped.value(exported.ROWS_READ_TOTAL, dataset=dataset) == loaded + quarantined, dataset
    assert scraped.value(exported.ROWS_QUARANTINED_TOTAL, dataset="flights") == 1, "the day's refused flight"

    runs = finished_runs(server.home)
    by_job = Counter((run.job_name, run.status.value) for run in runs)
    counted = {
        (dict(labels)[exported.JOB_LABEL], dict(labels)["status"]): n
        for labels, n in scraped.series(exported.RUNS).items()
    }
    assert counted == dict(by_job)
    for job in {run.job_name for run in runs}:
        assert scraped.value(f"{exported.RUN_DURATION}_count", **{exported.JOB_LABEL: job}) == sum(
            count for (name, _), count in by_job.items() if name == job
        )
    # The validation check of raw/flights: one failed (WARN, the refused flight), as the instance recorded.
    check_key = dg.AssetCheckKey(raw_asset_key("flights"), VALIDATION_CHECK)
    with open_local_instance(server.home) as instance:
        history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=1000)
        outcomes = Counter(
            (
                record.event.dagster_event.event_specific_data.severity.value,
                record.event.dagster_event.event_specific_data.passed,
            )
            for record in history
            if record.event is not None
        )
    flights_check = {"asset": "raw/flights", "check": VALIDATION_CHECK}
    assert outcomes[("WARN", False)] == 1, "the refused flight's day"
    for (severity, passed), count in outcomes.items():
        outcome = "passed" if passed else "failed"
        assert scraped.value(exported.CHECK_EVALUATIONS, **flights_check, severity=severity, outcome=outcome) == count
    assert scraped.value(exported.CHECK_FAILING, **flights_check, severity="WARN") == 1, "on the latest materialisation"

    # The present state: nothing waits or runs, the pools are the instance's, the sensors tick.
    waiting = scraped.series(exported.LANDING_FILES)
    assert set(waiting.values()) == {0}, waiting  # a series per dataset, each at 0 (none is no evidence)
    for pool, slots in pool_limits(settings).items():
        assert scraped.value(exported.POOL_SLOTS, pool=pool) == slots
        assert scraped.value(exported.POOL_QUEUED, pool=pool) == 0
    assert scraped.value(exported.SENSOR_RUNNING, sensor=LANDING_SENSOR) == 1
    assert scraped.value(exported.SENSOR_LAG, sensor=LANDING_SENSOR) < ALERT_TIMEOUT
    assert scraped.value(exported.FRESHNESS_FAIL_WINDOW, asset="raw/flights") == 48 * 3600
    assert scraped.value(exported.FRESHNESS_LAG, asset="raw/flights") < PIPELINE_TIMEOUT
    assert scraped.value(exported.DAGSTER_UP) == 1

    # Every declared metric is exported, and the dashboard and rules query only exported ones.
    families = {line.split()[2] for line in scraped.text.splitlines() if line.startswith("# HELP")}
    series = scraped.names | families
    assert {name.removesuffix("_total") for name in exported.HELP} <= {name.removesuffix("_total") for name in families}
    assert metrics_queried() <= series
    linted = subprocess.run([str(promtool), "check", "metrics"], input=scraped.text, capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr

    # Dagster's own freshness evaluation (its daemon, every 30 s) finds the loaded data fresh.
    dev_server.wait_for(
        "Dagster's freshness daemon to find raw/flights healthy",
        lambda: scrape(metrics).samples.get(
            (exported.FRESHNESS_STATUS, frozenset({"asset": "raw/flights", "status": "HEALTHY"}.items()))
        ),
        ALERT_TIMEOUT,
    )


def test_lineage_events_link_raw_flights_through_fct_flights_to_the_analytics(dagster_dev):
    """Every run's OpenLineage events, valid against the specification: a job per asset, whose
    inputs are the outputs of the assets upstream, so raw.flights leads to the analytics."""
    settings, server = dagster_dev
    finished = finished_runs(server.home)
    runs, jobs = {run.run_id for run in finished}, {run.job_name for run in finished}

    def every_run_ended() -> bool:
        ended = {e["run"]["runId"] for e in lineage_events(settings) if e["eventType"] in ("COMPLETE", "FAIL")}
        return runs <= ended

    dev_server.wait_for("a COMPLETE or FAIL event for every finished run", every_run_ended, ALERT_TIMEOUT)
    events = lineage_events(settings)
    assert [problem for event in events for problem in problems(event)] == []
    assert {e["run"]["runId"] for e in events if e["job"]["name"] in jobs} >= runs
    downstream = defaultdict(set)
    for event in events:
        if event["eventType"] == "COMPLETE":
            for source in event.get("inputs", []):
                for target in event.get("outputs", []):
                    downstream[source["name"]].add(target["name"])

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for name in downstream[todo.pop()] - seen:
                seen.add(name)
                todo.append(name)
        return seen

    assert "marts.fct_flights" in reachable("raw.flights")
    assert any(name.startswith("analytics.") for name in reachable("marts.fct_flights"))
    # The day's load: its rows written and its failed check, on the raw asset's run.
    with WarehouseResource.for_settings(settings).read_only() as connection:
        [(day_rows,)] = connection.execute(
            f"SELECT count(*) FROM {raw_table('flights')} WHERE _partition_date = ?", [QUARANTINE_DAY]
        ).fetchall()
    flights_runs = [e for e in events if e["job"]["name"] == "raw/flights" and e["eventType"] == "COMPLETE"]
    day_run = next(
        e
        for e in flights_runs
        if any(t["status"] == "fail" for t in e["run"]["facets"].get("test", {}).get("tests", []))
    )
    assert day_run["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == day_rows


@pytest.mark.backend_independent
def test_every_process_logs_json_lines(dagster_dev):
    """`--log-format json` and deploy/json_logs.yaml: the daemon, the webserver and the runs."""
    _, server = dagster_dev
    records = []
    for line in server.log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    loggers = {record.get("logger", "") for record in records}
    assert any(logger.startswith("dagster.daemon") for logger in loggers), loggers
    assert any(logger.startswith("dagster.webserver") or logger == "dagster" for logger in loggers), loggers
    run_records = [record for record in records if "run_id" in record]
    assert {record["dagster_event"] for record in run_records if "dagster_event" in record} >= {
        "PIPELINE_START",
        "STEP_START",
        "ASSET_MATERIALIZATION",
        "PIPELINE_SUCCESS",
    }
    assert all({"event", "level", "timestamp", "job"} <= set(record) for record in run_records)


@pytest.mark.backend_independent
def test_the_ui_opens_readable_with_real_charts(dagster_dev, tmp_path):
    """In a real browser: the lineage graph shows every asset (no collapsed groups), "Materialize all"
    counts the data assets only (not the operations), and a chart is a rendered PNG image."""
    settings, server = dagster_dev
    data_assets = executable_assets(settings)

    with page_at(f"{server.url}/asset-groups") as page:
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


@pytest.mark.backend_independent
def test_columns_and_checks_explain_themselves_in_the_ui(dagster_dev, dbt_manifest):
    """A raw asset's columns carry their Pandera descriptions; a dbt test of warning level that finds
    rows shows as a warning (a yellow sign), not as a red failure, and no other check failed."""
    _, server = dagster_dev
    carrier = Flights.to_schema().columns["carrier"].description
    manifest = json.loads(dbt_manifest.read_text())
    warn_level = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and node["config"]["severity"].lower() == "warn"
    }
    with page_at(f"{server.url}/assets/raw/flights") as page:
        page.get_by_text("Columns", exact=True).first.wait_for(timeout=60_000)
        assert page.get_by_text(carrier, exact=True).first.is_visible(), "the carrier column's description"

        checks = check_rows(page, "marts/fct_flights", server.url)
    failed = {name: icon for name, (icon, status) in checks.items() if status == "Failed"}
    assert failed, "the real data has flights whose plane is missing from the registry: a warning"
    assert set(failed) <= warn_level, f"only warning-level tests may find rows: {failed}"
    assert set(failed.values()) == {"warning_outline"}, failed


def test_materialize_all_in_the_ui_is_the_data(dagster_dev):
    """The README's way through the "Materialize all" dialog (All, Launch) backfills the pipeline
    with no extra runs from automation (which waits for a backfill in progress: assets/automation.py)."""
    settings, server = dagster_dev
    data_assets = executable_assets(settings)
    with page_at(f"{server.url}/asset-groups") as page:
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


def test_a_bad_file_raises_an_alert_and_is_not_published(dagster_dev, metrics):
    settings, server = dagster_dev
    log = server.log
    broken = pl.read_csv(day_csv("flights", date(2013, 1, 3)), infer_schema=False)
    write_atomically(
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
    # The failure in the other channels: counted in the metrics, a FAIL event with the reason.
    scraped = dev_server.wait_for(
        "the exporter to read the failed run", lambda: caught_up(metrics, server.home), ALERT_TIMEOUT
    )
    refused = {"asset": "raw/flights", "check": VALIDATION_CHECK, "severity": "ERROR", "outcome": "failed"}
    assert scraped.value(exported.CHECK_EVALUATIONS, **refused) == 1
    assert scraped.value(exported.CHECK_FAILING, asset="raw/flights", check=VALIDATION_CHECK, severity="ERROR") == 1
    failed_runs = [run for run in finished_runs(server.home) if run.status == dg.DagsterRunStatus.FAILURE]
    assert sum(n for labels, n in scraped.series(exported.RUNS).items() if ("status", "FAILURE") in labels) == len(
        failed_runs
    )

    def failed_load() -> dict | None:
        return next(
            (e for e in lineage_events(settings) if e["job"]["name"] == "raw/flights" and e["eventType"] == "FAIL"),
            None,
        )

    event = dev_server.wait_for("the FAIL event of the bad file's load", failed_load, ALERT_TIMEOUT)
    assert problems(event) == []
    assert "flights_2013-01-03.csv" in event["run"]["facets"]["errorMessage"]["message"]


@pytest.mark.backend_independent
def test_a_refused_file_shows_in_the_ui_as_its_failed_validation(dagster_dev):
    """After the bad file above: its raw asset's Checks tab shows `pandera_validation` failed with the
    reason, the missing column as a drift warning, and a volume check that says there was nothing to judge."""
    _, server = dagster_dev
    with browser_page() as page:
        checks = check_rows(page, "raw/flights", server.url)
        assert checks[VALIDATION_CHECK] == ("cancel", "Failed"), checks
        assert checks["schema_drift"] == ("warning_outline", "Failed"), checks
        assert checks["volume_anomaly"] == ("check_circle", "Succeeded"), checks
        page.get_by_text(VALIDATION_CHECK, exact=True).first.click()
        reason = page.get_by_text("flights_2013-01-03.csv: missing column(s) ['carrier']").first
        reason.wait_for(timeout=60_000)


@pytest.mark.backend_independent
def test_the_landing_sensor_s_skipped_ticks_go_after_a_day(dagster_dev):
    """About 17,000 skipped ticks a day: the dev instance keeps a day of them (deploy/dagster.dev.yaml).
    The sensor's skips are aged by two days; the daemon deletes them after the sensor's next tick."""
    _, server = dagster_dev
    with open_local_instance(server.home) as instance:
        landing = next(state for state in instance.all_instigator_state() if state.name == LANDING_SENSOR)
        ids = (landing.instigator_origin_id, landing.selector_id)
        skipped = [tick for tick in instance.get_ticks(*ids) if tick.status.value == "SKIPPED"]
        assert len(skipped) >= 5, "the sensor has been ticking all along"
        two_days_ago = time.time() - 2 * 86400
        for tick in skipped:
            instance.update_tick(tick._replace(tick_data=tick.tick_data._replace(timestamp=two_days_ago)))
        aged = {tick.tick_id for tick in skipped}

        def purged() -> bool:
            left = {tick.tick_id for tick in instance.get_ticks(*ids)}
            return not (aged & left) and len(left) > 0

        dev_server.wait_for("the aged skipped ticks to be purged", purged, ALERT_TIMEOUT, every=2)
        day_ago = time.time() - 86400
        assert all(tick.timestamp > day_ago for tick in instance.get_ticks(*ids)), "nothing older than a day"


# Where a user may press Terminate: in a load, in dbt, while dbt's output is published, while the
# readers' copy is written (the file backend's: the lake has none). Each is a run of its own.
TERMINATE_PHASES = {
    "load": terminate.in_step("raw__"),
    "dbt": terminate.building_with_dbt,
    "publishing": terminate.publishing,
    "readers' copy": terminate.in_step("readers__"),
}
# A user waits this long at most for a terminated run to end (seconds when idle).
TERMINATE_SECONDS = 30


def test_terminate_stops_a_run_at_every_step_and_publishes_nothing_half_written(dagster_dev):
    """Terminate, as the UI sends it, in each step of a land-and-refresh run: the run ends canceled
    within seconds, no step is retried, the worker exits, its writer slot is free, and readers see
    whole days only. A terminated load's files are refused with the reason (not lost), and the next
    delivery brings the marts up to date."""
    settings, server = dagster_dev
    pools = list(pool_limits(settings))
    real = dev_server.real_flights_per_day()
    phases = {
        name: phase
        for name, phase in TERMINATE_PHASES.items()
        if name != "readers' copy" or settings.backend == FILE_BACKEND
    }
    for name, phase in phases.items():
        before: dict[str, Any] = {}

        def deliver(days: int, before: dict[str, Any] = before) -> None:
            """Once nothing is in flight: what the marts hold, then a delivery, for one run to catch."""
            dev_server.wait_for(
                "the runs before to end",
                lambda: all(run.is_finished for run in dev_server.runs(server.home)),
                PIPELINE_TIMEOUT,
                every=1,
            )
            before["published"] = marts_days(settings)
            replay.main(["--days", str(days)], settings=settings)
            before["delivered"] = sorted(path.name for path in (settings.landing / "flights").glob("flights_*.csv"))

        deliver(3 if name == "load" else 1)
        stopped = terminate.terminate_inside(
            server.home, server.url, phase, name, PIPELINE_TIMEOUT, again=functools.partial(deliver, 1)
        )
        published_before, delivered = before["published"], before["delivered"]
        assert stopped.run.status == dg.DagsterRunStatus.CANCELED, (name, stopped.events)
        assert dg.DagsterEventType.STEP_UP_FOR_RETRY not in stopped.events, f"{name}: the interrupt was retried"
        assert stopped.seconds < TERMINATE_SECONDS, f"{name}: {stopped.seconds:.1f} s from Terminate to the run's end"
        with open_local_instance(server.home) as instance:
            assert terminate.slots_held_by(instance, pools, stopped.run.run_id) == [], name
        # Whole days only, in the raw layer and in the marts; nothing new published by a cut dbt step.
        raw = dev_server.rows_per_day(settings, raw_table("flights"))
        rejected = dev_server.rows_per_day(settings, quarantine_table("flights"))
        half_loaded = {day: rows for day, rows in raw.items() if rows + rejected.get(day, 0) != real[day]}
        assert half_loaded == {}, f"{name}: days half loaded"
        published = dev_server.flights_per_day(settings)
        assert all(published[day] == raw[day] for day in published), f"{name}: a day half published"
        if name == "dbt":
            assert set(published) == published_before, "a terminated dbt build published nothing"
        if name == "load":
            # Each file of the terminated load was loaded whole before the interrupt, or is refused
            # by the sensor's next tick, kept in rejected/ with the reason: none is lost.
            waiting = [settings.landing / "flights" / file for file in delivered]
            dev_server.wait_for(
                "the terminated load's files to leave landing",
                lambda waiting=waiting: not any(path.exists() for path in waiting),
                ALERT_TIMEOUT,
            )
            raw = dev_server.rows_per_day(settings, raw_table("flights"))
            refused = {path.name.split("__")[-1] for path in settings.rejected.rglob("*flights_*.csv")}
            for file in delivered:
                day = file.removeprefix("flights_").removesuffix(".csv")
                assert (day in raw) != (file in refused), f"{file}: loaded {day in raw}, refused {file in refused}"
        assert not list(settings.warehouse.parent.glob("*.partial")), f"{name}: a partial file was left"

    # The pipeline goes on: the next delivery's run brings every loaded day into the marts.
    replay.main(["--days", "1"], settings=settings)
    dev_server.wait_for(
        "the marts to hold every loaded day again",
        lambda: set(dev_server.rows_per_day(settings, raw_table("flights"))) == marts_days(settings),
        PIPELINE_TIMEOUT,
        every=5,
        in_flight=lambda: dev_server.runs_in_flight(server.home),
    )
