import os
import time

from sensors.landing_plan import Cursor, plan_tick

LATER = 10.0  # seconds after the files were written: they have settled


def land(landing, dataset, name, text="a,b\n1,2\n", age=60.0):
    path = landing / dataset / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def tick(datasets, landing, cursor=None, existing=None, settle=2.0):
    return plan_tick(datasets, landing, cursor or Cursor(), existing or [], now=time.time(), settle_seconds=settle)


def test_a_new_file_registers_its_day_and_requests_one_run(datasets, tmp_path):
    land(tmp_path, "flights", "flights_2013-01-01.csv")
    plan = tick(datasets, tmp_path)
    assert plan.new_partitions == ["2013-01-01"]
    [run] = plan.runs
    assert (run.datasets, run.partition_keys, run.files) == (
        ("flights",),
        ("2013-01-01",),
        ("flights/flights_2013-01-01.csv",),
    )


def test_new_days_of_one_dataset_form_one_ranged_run(datasets, tmp_path):
    for day in ("03", "01", "02"):
        land(tmp_path, "flights", f"flights_2013-01-{day}.csv")
    land(tmp_path, "weather", "weather_2013-01-01.csv")
    plan = tick(datasets, tmp_path, existing=["2012-12-31"])
    by_datasets = {run.datasets: run.partition_keys for run in plan.runs}
    assert by_datasets == {("flights",): ("2013-01-01", "2013-01-02", "2013-01-03"), ("weather",): ("2013-01-01",)}
    assert plan.new_partitions == ["2013-01-01", "2013-01-02", "2013-01-03"]  # one shared set of days


def test_datasets_delivering_the_same_days_load_in_one_run(datasets, tmp_path):
    for day in ("01", "02"):
        land(tmp_path, "flights", f"flights_2013-01-{day}.csv")
        land(tmp_path, "weather", f"weather_2013-01-{day}.csv")
    [run] = tick(datasets, tmp_path).runs
    assert (run.datasets, run.partition_keys) == (("flights", "weather"), ("2013-01-01", "2013-01-02"))
    assert sorted(run.files) == [
        "flights/flights_2013-01-01.csv", "flights/flights_2013-01-02.csv",
        "weather/weather_2013-01-01.csv", "weather/weather_2013-01-02.csv",
    ]  # fmt: skip


def test_the_reference_files_of_a_tick_load_in_one_run(datasets, tmp_path):
    for name in ("airlines", "airports", "planes"):
        land(tmp_path, name, f"{name}.csv")
    [run] = tick(datasets, tmp_path).runs
    assert (run.datasets, run.partition_keys) == (("airlines", "airports", "planes"), ())


def test_redelivered_old_days_that_are_not_adjacent_get_separate_runs(datasets, tmp_path):
    existing = ["2013-01-01", "2013-01-02", "2013-01-03"]
    land(tmp_path, "flights", "flights_2013-01-01.csv")
    land(tmp_path, "flights", "flights_2013-01-03.csv")
    plan = tick(datasets, tmp_path, existing=existing)
    assert plan.new_partitions == []
    assert sorted(run.partition_keys for run in plan.runs) == [("2013-01-01",), ("2013-01-03",)]


def test_the_same_file_is_not_requested_twice_even_after_a_restart(datasets, tmp_path):
    land(tmp_path, "flights", "flights_2013-01-01.csv")
    first = tick(datasets, tmp_path)
    # A restart only has the serialised cursor.
    restarted = Cursor.parse(first.cursor.serialize())
    second = tick(datasets, tmp_path, cursor=restarted, existing=["2013-01-01"])
    assert second.runs == []
    assert second.cursor.requested == first.cursor.requested


def test_a_changed_file_is_requested_again_with_a_new_run_key(datasets, tmp_path):
    path = land(tmp_path, "flights", "flights_2013-01-01.csv")
    first = tick(datasets, tmp_path)
    path.write_text("a,b\n1,2\n3,4\n")
    os.utime(path, (time.time() - 60, time.time() - 60))
    second = tick(datasets, tmp_path, cursor=first.cursor, existing=["2013-01-01"])
    [run] = second.runs
    assert run.partition_keys == ("2013-01-01",)
    assert run.run_key != first.runs[0].run_key


def test_half_written_files_are_not_picked_up(datasets, tmp_path):
    land(tmp_path, "flights", ".flights_2013-01-01.csv.tmp")
    land(tmp_path, "flights", "flights_2013-01-02.csv.part")
    land(tmp_path, "flights", "flights_2013-01-03.csv", age=0.1)  # still changing: not settled
    plan = tick(datasets, tmp_path)
    assert plan.runs == []
    assert plan.reports == []
    assert plan.waiting == ["flights/flights_2013-01-03.csv"]
    # Once it has been still for the settle time, it is taken.
    later = plan_tick(datasets, tmp_path, plan.cursor, {}, now=time.time() + LATER)
    assert [run.files for run in later.runs] == [("flights/flights_2013-01-03.csv",)]


def test_unknown_files_are_reported_once_and_never_requested(datasets, tmp_path):
    land(tmp_path, "flights", "flights_2013-02-30.csv")
    land(tmp_path, "flights", "notes.txt")
    land(tmp_path, "tickets", "tickets_2013-01-01.csv")
    (tmp_path / "stray.csv").write_text("x")
    plan = tick(datasets, tmp_path)
    assert plan.runs == []
    assert len(plan.reports) == 4
    assert any("not a real date" in report for report in plan.reports)
    assert any("'tickets' is not a dataset" in report for report in plan.reports)
    assert any("landing root" in report for report in plan.reports)
    assert tick(datasets, tmp_path, cursor=plan.cursor).reports == []


def test_the_cursor_forgets_files_that_left_the_landing_zone(datasets, tmp_path):
    path = land(tmp_path, "flights", "flights_2013-01-01.csv")
    first = tick(datasets, tmp_path)
    path.unlink()  # ingested and archived
    second = tick(datasets, tmp_path, cursor=first.cursor, existing=["2013-01-01"])
    assert second.cursor.requested == {}
    # The same name landing again, even byte for byte, is a new delivery and is loaded again.
    land(tmp_path, "flights", "flights_2013-01-01.csv")
    [run] = tick(datasets, tmp_path, cursor=second.cursor, existing=["2013-01-01"]).runs
    assert run.partition_keys == ("2013-01-01",)


def test_reference_files_request_an_unpartitioned_run(datasets, tmp_path):
    land(tmp_path, "planes", "planes.csv")
    [run] = tick(datasets, tmp_path).runs
    assert (run.datasets, run.partition_keys) == (("planes",), ())
