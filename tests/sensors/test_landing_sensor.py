"""The landing sensor evaluated as Dagster runs it, against a real (ephemeral) instance."""

import os
import threading
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

import sensors.landing
from definitions import build_definitions
from jobs.landing import RANGE_END_TAG, RANGE_START_TAG
from sensors import landing_plan
from tests.support.json_lines import read_json_lines
from tests.synthetic import feed


@pytest.fixture
def settings(make_settings):
    """Each tick looks once: a tick with nothing to do would watch for the full window (tested below)."""
    return make_settings(landing_watch_seconds=0)


def age_files(folder: Path, seconds: float = 60) -> None:
    """Replay's files are brand new and the sensor waits until files settle: make them older."""
    stamp = time.time() - seconds
    for path in folder.rglob("*.csv"):
        os.utime(path, (stamp, stamp))


def evaluate(defs, instance, cursor=None):
    sensor = defs.resolve_sensor_def("landing_zone_sensor")
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        # The code location's own resources: the landing zone and alerts of these settings.
        resources={key: defs.resources[key] for key in ("landing_zone", "alerts")},
    )
    return sensor(context), context


def test_landed_days_become_partitions_and_ranged_runs(settings, dbt_manifest):
    feed.land(settings, feed.days(3), *feed.DAILY, reference=True)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    age_files(settings.landing)
    result, _ = evaluate(defs, instance)
    assert {
        request.partitions_def_name: list(request.partition_keys) for request in result.dynamic_partitions_requests
    } == {"days": ["2026-01-01", "2026-01-02", "2026-01-03"]}
    # One run: the three days of orders and shipments as one range, with the reference files.
    [load] = result.run_requests
    assert load.job_name == "ingest"
    assert (load.tags[RANGE_START_TAG], load.tags[RANGE_END_TAG]) == ("2026-01-01", "2026-01-03")
    assert {key.path[-1] for key in load.asset_selection} == {"orders", "shipments", "customers", "stores"}
    # Only the checks the loads report themselves; dbt's source tests wait for the next dbt build.
    assert {key.name for key in load.asset_check_keys} == {"pandera_validation", "schema_drift", "volume_anomaly"}

    # The next tick, from the stored cursor, requests nothing: the runs are already asked for.
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    again, _ = evaluate(defs, instance, cursor=result.cursor)
    assert again.run_requests == []
    # ...and says why each file is still there: its run is asked for and not started yet.
    assert again.skip_reason and "has not started yet" in again.skip_reason.skip_message


def test_files_landed_within_the_settle_time_are_requested_in_the_same_tick(settings, dbt_manifest):
    """The sensor daemon ticks every 5 s at best: a file renamed into place a moment before a tick
    is waited for within it (under a second), not left for the next tick."""
    feed.land(settings, feed.days(1), *feed.DAILY)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    age_files(settings.landing, seconds=0)  # written this instant, as if renamed into place just before the tick
    result, _ = evaluate(defs, instance)
    [run] = result.run_requests
    assert run.partition_key == "2026-01-01"
    assert set(run.tags["files"].split(",")) == {"orders/orders_2026-01-01.csv", "shipments/shipments_2026-01-01.csv"}


def test_a_file_landing_while_a_tick_watches_is_requested_by_that_tick(make_settings, dbt_manifest, monkeypatch):
    """The daemon starts a tick every 5 s at best: a tick with nothing to do keeps watching the
    landing zone for a while, so a file that lands meanwhile is loaded without waiting for the next."""
    settings = make_settings(landing_watch_seconds=4.0)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    outcome: dict[str, object] = {}
    looked = threading.Event()

    def plan_and_say(*args, **kwargs):
        plan = landing_plan.plan_tick(*args, **kwargs)
        looked.set()
        return plan

    monkeypatch.setattr(sensors.landing, "plan_tick", plan_and_say)

    def tick() -> None:
        started = time.monotonic()
        outcome["result"], _ = evaluate(defs, instance)
        outcome["seconds"] = time.monotonic() - started

    watching = threading.Thread(target=tick)
    watching.start()
    assert looked.wait(timeout=120), "the tick looked at the landing zone"  # empty: it watches now
    feed.land(settings, feed.days(1), *feed.DAILY)
    watching.join(timeout=120)
    [run] = outcome["result"].run_requests
    assert run.partition_key == "2026-01-01"
    assert outcome["seconds"] < 4.0 + 1.0, "the tick returned once the file had settled, not at the watch's end"


def test_a_tick_with_nothing_to_do_watches_for_its_window_then_skips(make_settings, dbt_manifest):
    settings = make_settings(landing_watch_seconds=1.5)
    defs = build_definitions(settings)
    started = time.monotonic()
    result, _ = evaluate(defs, dg.DagsterInstance.ephemeral())
    assert result.run_requests == []
    assert result.skip_reason and "no new files" in result.skip_reason.skip_message
    assert time.monotonic() - started >= 1.5


def test_files_it_cannot_use_move_to_rejected_with_a_note_an_alert_and_an_asset_event(settings, dbt_manifest):
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    future = settings.landing / "orders" / "orders_2031-01-02.csv"
    wrong_case = settings.landing / "orders" / "Orders_2026-01-05.csv"
    stray = settings.landing / "tickets" / "tickets.csv"
    for path in (future, wrong_case, stray):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("year,month,day\n2031,1,2\n")
    age_files(settings.landing)

    result, _ = evaluate(defs, instance)

    assert result.run_requests == [] and result.dynamic_partitions_requests == []
    assert not any(path.exists() for path in (future, wrong_case, stray)), "nothing stays in landing"
    notes = sorted(settings.rejected.rglob("*.reason.txt"))
    assert [note.parent.name for note in notes] == ["orders", "orders", "tickets"]
    future_note = next(note.read_text() for note in notes if "orders_2031-01-02.csv" in note.name)
    assert "reason:   date 2031-01-02 is in the future" in future_note
    assert f"move it back to {settings.landing / 'orders'}/" in future_note
    moved = next(settings.rejected.rglob("*__orders_2031-01-02.csv"))
    assert moved.read_text() == "year,month,day\n2031,1,2\n", "kept as delivered"
    alerts = read_json_lines(settings.alerts)
    assert sorted(alert["title"] for alert in alerts) == [
        "file orders/Orders_2026-01-05.csv rejected",
        "file orders/orders_2031-01-02.csv rejected",
        "file tickets/tickets.csv rejected",
    ]
    observations = {event.description for event in result.asset_events}
    assert len(observations) == 2 and all(
        event.asset_key == dg.AssetKey(["raw", "orders"]) for event in result.asset_events
    )
    assert "rejected orders/orders_2031-01-02.csv: date 2031-01-02 is in the future" in " ".join(observations)
    # The next tick has nothing left to say: one alert per file, not one per tick.
    again, _ = evaluate(defs, instance, cursor=result.cursor)
    assert len(settings.alerts.read_text().splitlines()) == 3
    assert again.skip_reason.skip_message == "no new files"


def test_a_late_day_is_inserted_in_date_order_and_junk_keys_removed(settings, dbt_manifest):
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("days", ["2026-01-01", "2026-01-03", "../../x"])
    feed.land(settings, [date(2026, 1, 2)], *feed.DAILY)
    age_files(settings.landing)
    result, _ = evaluate(defs, instance)
    # Dagster refuses a result that deletes and adds the same key: the re-added days were deleted
    # by the sensor itself, and the result deletes only the junk.
    deleted = {
        key
        for r in result.dynamic_partitions_requests
        if isinstance(r, dg.DeleteDynamicPartitionsRequest)
        for key in r.partition_keys
    }
    added = {
        key
        for r in result.dynamic_partitions_requests
        if isinstance(r, dg.AddDynamicPartitionsRequest)
        for key in r.partition_keys
    }
    assert deleted == {"../../x"} and added == {"2026-01-02", "2026-01-03"}
    for request in result.dynamic_partitions_requests:
        if isinstance(request, dg.DeleteDynamicPartitionsRequest):
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
        else:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    assert instance.get_dynamic_partitions("days") == ["2026-01-01", "2026-01-02", "2026-01-03"]
    [alert] = read_json_lines(settings.alerts)
    assert alert["kind"] == "invalid_partition" and "'../../x' is not a day" in alert["details"]


def test_a_single_landed_day_is_loaded_and_refreshed_in_one_run(settings, dbt_manifest):
    """One day alone needs no second run: the land-and-refresh job builds downstream in the same run."""
    feed.land(settings, [date(2026, 1, 3)], *feed.DAILY)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("days", ["2026-01-01", "2026-01-02"])
    age_files(settings.landing)
    result, _ = evaluate(defs, instance)
    [run] = result.run_requests
    assert run.job_name == "land_and_refresh" and run.partition_key == "2026-01-03"
    selected = {key.to_user_string() for key in run.asset_selection}
    assert {"raw/orders", "raw/shipments", "marts/fct_orders", "analytics/segment_revenue"} <= selected
    assert not {"raw/customers", "raw/stores"} & selected, "only the datasets that delivered are loaded"
    checks = {key.name for key in run.asset_check_keys}
    assert {"pandera_validation", "unique_fct_orders_order_id", "source_unique_raw_customers_customer_id"} <= checks


def test_a_day_that_lands_while_other_loads_are_queued_only_loads_so_that_they_go_side_by_side(settings, dbt_manifest):
    """A refresh in each run would need the one transform slot, and a run waits in the queue for
    every pool it needs: with loads already queued, the day's run would wait for their builds. So
    it only loads, beside them, and automation builds once after them all."""
    feed.land(settings, [date(2026, 1, 3)], *feed.DAILY)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("days", ["2026-01-01", "2026-01-02"])
    queued = instance.create_run_for_job(defs.resolve_job_def("ingest"))  # not started yet
    age_files(settings.landing)
    result, _ = evaluate(defs, instance)
    [run] = result.run_requests
    assert (run.job_name, run.partition_key) == ("ingest", "2026-01-03")
    instance.report_run_canceled(queued)  # the other load gone, the same day alone loads and refreshes
    [alone] = evaluate(defs, instance)[0].run_requests
    assert (alone.job_name, alone.partition_key) == ("land_and_refresh", "2026-01-03")
