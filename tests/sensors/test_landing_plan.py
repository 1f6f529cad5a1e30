import os
import time

import pytest

from sensors.landing_plan import (
    LAUNCH_GRACE_SECONDS,
    MAX_ATTEMPTS,
    RETRY_BACKOFF_SECONDS,
    Cursor,
    RunInfo,
    RunState,
    plan_tick,
)

LATER = 10.0  # seconds after the files were written: they have settled


def land(landing, dataset, name, text="a,b\n1,2\n", age=60.0):
    path = landing / dataset / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def tick(datasets, landing, cursor=None, existing=None, settle=2.0, states=None, now=None):
    return plan_tick(
        datasets,
        landing,
        cursor or Cursor(),
        existing or [],
        now=now or time.time(),
        settle_seconds=settle,
        run_states=states,
    )


def test_a_new_file_registers_its_day_and_requests_one_run(datasets, tmp_path):
    land(tmp_path, "orders", "orders_2026-01-01.csv")
    plan = tick(datasets, tmp_path)
    assert plan.new_partitions == ["2026-01-01"]
    [run] = plan.runs
    assert (run.datasets, run.partition_keys, run.files) == (
        ("orders",),
        ("2026-01-01",),
        ("orders/orders_2026-01-01.csv",),
    )


def test_new_days_of_one_dataset_form_one_ranged_run(datasets, tmp_path):
    for day in ("03", "01", "02"):
        land(tmp_path, "orders", f"orders_2026-01-{day}.csv")
    land(tmp_path, "shipments", "shipments_2026-01-01.csv")
    plan = tick(datasets, tmp_path, existing=["2025-12-31"])
    by_datasets = {run.datasets: run.partition_keys for run in plan.runs}
    assert by_datasets == {("orders",): ("2026-01-01", "2026-01-02", "2026-01-03"), ("shipments",): ("2026-01-01",)}
    assert plan.new_partitions == ["2026-01-01", "2026-01-02", "2026-01-03"]  # one shared set of days


def test_datasets_delivering_the_same_days_load_in_one_run(datasets, tmp_path):
    for day in ("01", "02"):
        land(tmp_path, "orders", f"orders_2026-01-{day}.csv")
        land(tmp_path, "shipments", f"shipments_2026-01-{day}.csv")
    [run] = tick(datasets, tmp_path).runs
    assert (run.datasets, run.partition_keys) == (("orders", "shipments"), ("2026-01-01", "2026-01-02"))
    assert sorted(run.files) == [
        "orders/orders_2026-01-01.csv",
        "orders/orders_2026-01-02.csv",
        "shipments/shipments_2026-01-01.csv",
        "shipments/shipments_2026-01-02.csv",
    ]


def test_reference_files_join_the_first_run_of_days_of_their_tick(datasets, tmp_path):
    for name in ("customers", "stores"):
        land(tmp_path, name, f"{name}.csv")
    for day in ("01", "02"):
        land(tmp_path, "orders", f"orders_2026-01-{day}.csv")
    [run] = tick(datasets, tmp_path).runs  # a cold start is one load, so one dbt build after it
    assert (run.datasets, run.partition_keys) == (("customers", "orders", "stores"), ("2026-01-01", "2026-01-02"))
    assert len(run.files) == 4


def test_the_reference_files_of_a_tick_load_in_one_run(datasets, tmp_path):
    for name in ("customers", "stores"):
        land(tmp_path, name, f"{name}.csv")
    [run] = tick(datasets, tmp_path).runs
    assert (run.datasets, run.partition_keys) == (("customers", "stores"), ())


def test_redelivered_old_days_that_are_not_adjacent_get_separate_runs(datasets, tmp_path):
    existing = ["2026-01-01", "2026-01-02", "2026-01-03"]
    land(tmp_path, "orders", "orders_2026-01-01.csv")
    land(tmp_path, "orders", "orders_2026-01-03.csv")
    plan = tick(datasets, tmp_path, existing=existing)
    assert plan.new_partitions == []
    assert sorted(run.partition_keys for run in plan.runs) == [("2026-01-01",), ("2026-01-03",)]


def test_the_same_file_is_not_requested_twice_even_after_a_restart(datasets, tmp_path):
    land(tmp_path, "orders", "orders_2026-01-01.csv")
    first = tick(datasets, tmp_path)
    # A restart only has the serialised cursor.
    restarted = Cursor.parse(first.cursor.serialize())
    second = tick(datasets, tmp_path, cursor=restarted, existing=["2026-01-01"])
    assert second.runs == []
    assert second.cursor.requested == first.cursor.requested


def test_a_changed_file_is_requested_again_with_a_new_run_key(datasets, tmp_path):
    path = land(tmp_path, "orders", "orders_2026-01-01.csv")
    first = tick(datasets, tmp_path)
    path.write_text("a,b\n1,2\n3,4\n")
    os.utime(path, (time.time() - 60, time.time() - 60))
    second = tick(datasets, tmp_path, cursor=first.cursor, existing=["2026-01-01"])
    [run] = second.runs
    assert run.partition_keys == ("2026-01-01",)
    assert run.run_key != first.runs[0].run_key


def test_half_written_files_are_not_picked_up(datasets, tmp_path):
    land(tmp_path, "orders", ".orders_2026-01-01.csv.tmp")
    land(tmp_path, "orders", "orders_2026-01-02.csv.part")
    changing = land(tmp_path, "orders", "orders_2026-01-03.csv", age=0.1)  # still changing: not settled
    written = changing.stat().st_mtime_ns / 1e9
    plan = tick(datasets, tmp_path, now=written + 0.5)
    assert plan.runs == []
    assert plan.reports == []
    assert plan.waiting == ["orders/orders_2026-01-03.csv: still changing (waiting 2 s for it to settle)"]
    assert plan.settles_in == pytest.approx(1.5)  # the sensor waits that long within its tick, then asks again
    # Once it has been still for the settle time, it is taken.
    later = plan_tick(datasets, tmp_path, plan.cursor, {}, now=time.time() + LATER)
    assert [run.files for run in later.runs] == [("orders/orders_2026-01-03.csv",)]
    assert later.settles_in == 0


def test_unknown_files_are_rejected_once_and_never_requested(datasets, tmp_path):
    land(tmp_path, "orders", "orders_2026-02-30.csv")
    land(tmp_path, "orders", "notes.txt")
    land(tmp_path, "tickets", "tickets_2026-01-01.csv")
    (tmp_path / "stray.csv").write_text("x")
    plan = tick(datasets, tmp_path)
    assert plan.runs == []
    assert len(plan.reports) == 4
    assert any("not a real date" in report for report in plan.reports)
    assert any("'tickets' is not a dataset" in report for report in plan.reports)
    assert any("landing root" in report for report in plan.reports)
    assert tick(datasets, tmp_path, cursor=plan.cursor).reports == []


def test_the_cursor_forgets_files_that_left_the_landing_zone(datasets, tmp_path):
    path = land(tmp_path, "orders", "orders_2026-01-01.csv")
    first = tick(datasets, tmp_path)
    path.unlink()  # ingested and archived
    second = tick(datasets, tmp_path, cursor=first.cursor, existing=["2026-01-01"])
    assert second.cursor.requested == {}
    # The same name landing again, even byte for byte, is a new delivery and is loaded again.
    land(tmp_path, "orders", "orders_2026-01-01.csv")
    [run] = tick(datasets, tmp_path, cursor=second.cursor, existing=["2026-01-01"]).runs
    assert run.partition_keys == ("2026-01-01",)


def test_reference_files_request_an_unpartitioned_run(datasets, tmp_path):
    land(tmp_path, "stores", "stores.csv")
    [run] = tick(datasets, tmp_path).runs
    assert (run.datasets, run.partition_keys) == (("stores",), ())


def test_a_day_out_of_the_dataset_bounds_is_rejected_and_never_a_partition(datasets, tmp_path):
    land(tmp_path, "orders", "orders_2031-01-02.csv")
    land(tmp_path, "orders", "orders_2025-12-31.csv")
    plan = tick(datasets, tmp_path)
    assert plan.runs == [] and plan.new_partitions == []
    reasons = {rejection.relative: rejection.reason for rejection in plan.rejections}
    assert reasons["orders/orders_2031-01-02.csv"].startswith("date 2031-01-02 is in the future: after today")
    assert reasons["orders/orders_2025-12-31.csv"] == "date 2025-12-31 is before orders's dates.earliest (2026-01-01)"
    assert {rejection.dataset for rejection in plan.rejections} == {"orders"}


def test_junk_partition_keys_are_removed_and_said(datasets, tmp_path):
    existing = ["2026-01-01", "../../x", "2026-01-02'", "2031-01-02", "2026-01-02"]
    plan = tick(datasets, tmp_path, existing=existing)
    assert plan.removed_partitions == ["../../x", "2026-01-02'", "2031-01-02"]
    assert plan.new_partitions == []
    assert plan.invalid_partitions[0] == "../../x: partition key '../../x' is not a day (YYYY-MM-DD)"
    assert "in the future" in plan.invalid_partitions[2]
    assert plan.partition_order == ["2026-01-01", "2026-01-02"]


def test_a_late_day_is_added_in_date_order(datasets, tmp_path):
    land(tmp_path, "orders", "orders_2026-01-02.csv")
    plan = tick(datasets, tmp_path, existing=["2026-01-01", "2026-01-03", "2026-01-04"])
    # Dagster keeps dynamic partitions in the order they were added: the days after it are re-added.
    assert plan.removed_partitions == ["2026-01-03", "2026-01-04"]
    assert plan.new_partitions == ["2026-01-02", "2026-01-03", "2026-01-04"]
    assert plan.partition_order == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
    [run] = plan.runs
    assert run.partition_keys == ("2026-01-02",)


# A failure long enough ago that any retry backoff has passed.
LONG_AGO_FAILURE = RunInfo(RunState.FAILURE, ended_at=0.0)


def requested_once(datasets, tmp_path):
    land(tmp_path, "orders", "orders_2026-01-01.csv")
    first = tick(datasets, tmp_path)
    [run] = first.runs
    return first, run


def test_a_file_whose_run_is_loading_waits_and_says_so(datasets, tmp_path):
    first, run = requested_once(datasets, tmp_path)
    plan = tick(datasets, tmp_path, first.cursor, ["2026-01-01"], states={run.run_key: RunInfo(RunState.IN_PROGRESS)})
    assert plan.runs == []
    assert plan.waiting == [f"orders/orders_2026-01-01.csv: loading in run {run.run_key}"]


def test_a_file_still_in_landing_after_its_run_failed_is_requested_again_then_rejected(datasets, tmp_path):
    plan, run = requested_once(datasets, tmp_path)
    keys = [run.run_key]
    for attempt in range(2, MAX_ATTEMPTS + 1):
        plan = tick(datasets, tmp_path, plan.cursor, ["2026-01-01"], states={keys[-1]: LONG_AGO_FAILURE})
        [again] = plan.runs
        assert again.attempt == attempt and again.run_key not in keys, "a new run key: Dagster never reuses one"
        assert "ended (failure) without loading it; requesting it again" in plan.retries[0]
        keys.append(again.run_key)
    plan = tick(datasets, tmp_path, plan.cursor, ["2026-01-01"], states={keys[-1]: LONG_AGO_FAILURE})
    assert plan.runs == []
    [rejection] = plan.rejections
    assert rejection.reason.startswith(f"not loaded after {MAX_ATTEMPTS} runs (the last, {keys[-1]}, ended failure)")


def test_a_file_whose_run_was_canceled_is_rejected(datasets, tmp_path):
    first, run = requested_once(datasets, tmp_path)
    plan = tick(datasets, tmp_path, first.cursor, ["2026-01-01"], states={run.run_key: RunInfo(RunState.CANCELED, 0.0)})
    assert plan.runs == []
    assert [rejection.reason for rejection in plan.rejections] == [f"its load run {run.run_key} was canceled"]


def test_a_requested_run_that_never_appears_is_requested_again_after_the_grace(datasets, tmp_path):
    first, _ = requested_once(datasets, tmp_path)
    soon = tick(datasets, tmp_path, first.cursor, ["2026-01-01"])
    assert soon.runs == [] and "has not started yet" in soon.waiting[0]
    later = tick(datasets, tmp_path, soon.cursor, ["2026-01-01"], now=time.time() + LAUNCH_GRACE_SECONDS + 1)
    [again] = later.runs
    assert again.attempt == 2


def test_a_retry_waits_longer_after_each_failed_run(datasets, tmp_path):
    first, run = requested_once(datasets, tmp_path)
    just_failed = RunInfo(RunState.FAILURE, ended_at=time.time())
    plan = tick(datasets, tmp_path, first.cursor, ["2026-01-01"], states={run.run_key: just_failed})
    assert plan.runs == []
    assert plan.waiting[0].endswith(f"ended (failure); trying again in {RETRY_BACKOFF_SECONDS:.0f} s")
    states = {run.run_key: just_failed}
    later = tick(
        datasets, tmp_path, plan.cursor, ["2026-01-01"], states=states, now=time.time() + RETRY_BACKOFF_SECONDS + 1
    )
    [again] = later.runs
    assert again.attempt == 2
    # The second failure buys a longer pause than the first.
    failed_again = {again.run_key: RunInfo(RunState.FAILURE, ended_at=time.time())}
    third = tick(datasets, tmp_path, later.cursor, ["2026-01-01"], states=failed_again)
    assert third.waiting[0].endswith(f"trying again in {2 * RETRY_BACKOFF_SECONDS:.0f} s")


def test_a_rejected_file_moved_back_into_landing_is_a_new_delivery(datasets, tmp_path):
    path = land(tmp_path, "orders", "orders_2026-01-01.csv")
    [first] = tick(datasets, tmp_path).runs
    aside = tmp_path.parent / f"{tmp_path.name}-rejected.csv"
    path.rename(aside)  # what the sensor does when it rejects the file
    gone = tick(datasets, tmp_path, Cursor(requested={}), ["2026-01-01"])
    time.sleep(0.01)
    aside.rename(path)  # `mv` back: same bytes, same modification time
    [again] = tick(datasets, tmp_path, gone.cursor, ["2026-01-01"]).runs
    assert again.run_key != first.run_key, "a run key Dagster already used would never launch"
