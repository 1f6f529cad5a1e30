"""Benchmark: how long from a file landing to the marts having its day, under the real `dagster dev`.

    python3 tasks.py run python bench/latency.py [--days 3] [--burst 30]
    python3 tasks.py run python bench/latency.py --kept DIR [--days 5]   # on top of a kept history

Starts `dagster dev` on a free port with its own home and data folder, lets it load reference data
and two days (the cold start), then lands days one at a time and times each until the day is in
marts.fct_flights (p50 and max), then lands a burst of days at once and times the catch-up.
With ``--kept`` (a pipeline folder that `bench/full_year.py --keep` left, e.g. 1 or 30 years of
history) it starts `dagster dev` on that instance and warehouse instead, and re-delivers the newest
days one at a time, each corrected (its last flight dropped), timing each until the marts hold the
corrected day: what a day costs on top of that much history. Where
the time goes comes from the instance's own run records: sensor pick-up, queue and launch, the
load run, automation pick-up, and the dbt run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from config.names import LAND_AND_REFRESH_JOB, LOAD_JOBS  # noqa: E402
from config.settings import Settings  # noqa: E402
from demo import replay  # noqa: E402
from ingestion.landing import write_atomically  # noqa: E402
from instance.local import open_local_instance  # noqa: E402
from resources.warehouse import WarehouseResource  # noqa: E402
from tests.support import dev_server  # noqa: E402
from warehouse.ducklake import LakeConnectionError  # noqa: E402

POLL_SECONDS = 0.5


def marts_days(settings: Settings) -> set[str]:
    return set(dev_server.flights_per_day(settings))


def land_and_wait(settings: Settings, days: list[str], timeout: float) -> tuple[float, float]:
    """Land ``days`` (flights and weather) and wait until all are in the marts: (landed at, seconds)."""
    landed_at = time.time()
    replay.main(["--from", days[0], "--to", days[-1]], settings=settings)
    started = time.monotonic()
    dev_server.wait_for(
        f"{days[0]}..{days[-1]} in the marts", lambda: marts_days(settings) >= set(days), timeout, every=POLL_SECONDS
    )
    return landed_at, time.monotonic() - started


def redeliver_and_wait(settings: Settings, day: str, timeout: float) -> tuple[float, float]:
    """Deliver ``day``'s newest archived flights file again without its last line; wait until the
    marts hold exactly the day's raw rows from that delivery: (landed at, seconds)."""
    from config.datasets import load_datasets
    from ingestion.landing import dataset_landing_dir

    flights = load_datasets(settings.datasets_path)["flights"]
    archived = sorted((settings.archive / "flights" / day).iterdir())[-1]
    landing = dataset_landing_dir(settings.landing, "flights") / flights.file_name_for(date.fromisoformat(day))
    lines = archived.read_bytes().splitlines(keepends=True)
    landed_at = time.time()
    write_atomically(landing, b"".join(lines[:-1]))
    started = time.monotonic()

    def corrected_in_marts() -> bool:
        try:
            with WarehouseResource.for_settings(settings).read_only() as connection:
                [(loaded_after, raw, marts)] = connection.execute(
                    "SELECT (SELECT max(loaded_at) FROM meta.file_loads"
                    "        WHERE dataset = 'flights' AND partition_date = ?) > to_timestamp(?),"
                    " (SELECT count(*) FROM raw.flights WHERE _partition_date = ?),"
                    " (SELECT count(*) FROM marts.fct_flights WHERE flight_date = ?)",
                    [day, landed_at, day, day],
                ).fetchall()
        except (duckdb.Error, LakeConnectionError):  # the file locked by a writer, for a moment
            return False
        return bool(loaded_after) and raw == marts

    dev_server.wait_for(f"the corrected {day} in the marts", corrected_in_marts, timeout, every=POLL_SECONDS)
    return landed_at, time.monotonic() - started


def finished_runs(home: Path, landed_at: float, timeout: float = 180) -> tuple[list, list]:
    """The load runs and dbt runs started after ``landed_at``, once they have ended: a load run and
    a dbt run, or one land-and-refresh run (a single day: load and refresh in one run).

    The day shows in the marts before its dbt step has ended (the analytics run after the marts),
    so this waits for the run records to be complete rather than reading them at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        with open_local_instance(home) as instance:
            runs = [r for r in instance.get_run_records() if r.create_timestamp.timestamp() >= landed_at - 1]
        done = sorted((r for r in runs if r.start_time and r.end_time), key=lambda r: r.create_timestamp)
        loads = [r for r in done if r.dagster_run.job_name in LOAD_JOBS]
        builds = [r for r in done if r.dagster_run.job_name not in LOAD_JOBS]
        refreshed = bool(loads) and loads[-1].dagster_run.job_name == LAND_AND_REFRESH_JOB
        if (loads and (builds or refreshed)) or time.monotonic() > deadline:
            return loads, builds
        time.sleep(POLL_SECONDS)


def step_seconds(home: Path, run_id: str) -> dict[str, float]:
    """Seconds per step of a run, the loads summed: where a land-and-refresh run spends its time."""
    with open_local_instance(home) as instance:
        stats = instance.get_run_step_stats(run_id)
    steps: dict[str, float] = {}
    for step in stats:
        if step.start_time and step.end_time:
            name = "load steps" if step.step_key.startswith("raw__") else f"{step.step_key} step"
            steps[name] = steps.get(name, 0.0) + step.end_time - step.start_time
    return steps


def breakdown(home: Path, landed_at: float) -> dict[str, float]:
    """Seconds spent per phase after ``landed_at``, from the runs the instance recorded."""
    loads, builds = finished_runs(home, landed_at)
    if not loads:
        return {}
    first_load, last_load = loads[0], max(loads, key=lambda r: r.end_time)
    phases = {
        "sensor pick-up": first_load.create_timestamp.timestamp() - landed_at,
        "load queue+launch": first_load.start_time - first_load.create_timestamp.timestamp(),
    }
    if not builds:  # one land-and-refresh run
        return {
            **phases,
            "load-and-refresh run": last_load.end_time - first_load.start_time,
            **step_seconds(home, last_load.dagster_run.run_id),
        }
    build = builds[0]
    return {
        **phases,
        "load runs": last_load.end_time - first_load.start_time,
        "automation pick-up": build.create_timestamp.timestamp() - last_load.end_time,
        "dbt queue+launch": build.start_time - build.create_timestamp.timestamp(),
        "dbt + analytics run": build.end_time - build.start_time,
        "load runs (count)": len(loads),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--days", type=int, default=3, help="days landed one at a time")
    parser.add_argument("--burst", type=int, default=30, help="days landed at once")
    parser.add_argument("--kept", type=Path, help="a pipeline folder kept by bench/full_year.py --keep")
    args = parser.parse_args()
    if args.kept:
        return on_kept_history(args.kept, args.days)
    workdir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    settings = Settings(env="dev", data_dir=workdir / "data")
    with dev_server.dagster_dev(workdir, settings) as server:
        replay.main(["--reference"], settings=settings)
        _, cold = land_and_wait(settings, ["2013-01-01", "2013-01-02"], 900)
        print(f"cold start (reference + 2 days, first dbt build ever): {cold:.1f} s", flush=True)
        latencies, phases = [], []
        next_day = date(2013, 1, 3)
        for _ in range(args.days):
            day = next_day.isoformat()
            next_day += timedelta(days=1)
            time.sleep(15)  # let automation settle, so each day is measured on its own
            landed_at, seconds = land_and_wait(settings, [day], 600)
            latencies.append(seconds)
            phases.append(breakdown(server.home, landed_at))
            print(f"  {day}: {seconds:.1f} s", flush=True)
        first = 3 + args.days
        burst_days = [
            f"2013-{(1 + (first + n - 1) // 31):02d}-{((first + n - 1) % 31) + 1:02d}" for n in range(args.burst)
        ]
        time.sleep(15)
        landed_at, burst = land_and_wait(settings, burst_days, 1800)
        burst_phases = breakdown(server.home, landed_at)
    print(
        f"\nfile landed -> day in marts, {args.days} days one at a time: "
        f"p50 {statistics.median(latencies):.1f} s, max {max(latencies):.1f} s"
    )
    print(f"burst of {args.burst} days at once: caught up in {burst:.1f} s")
    print_phases("\nwhere the time goes (median over the single days, seconds):", phases)
    print(f"burst: {', '.join(f'{k} {v:.1f}' for k, v in burst_phases.items())}")
    return 0


def on_kept_history(data_dir: Path, days: int) -> int:
    """Corrected days re-delivered one at a time on top of the history in ``data_dir``."""
    settings = Settings(env="test", data_dir=data_dir, datasets_path=data_dir.parent / "source" / "datasets.yaml")
    newest = sorted((path.name for path in (settings.archive / "flights").iterdir()), reverse=True)[:days]
    with WarehouseResource.for_settings(settings).read_only() as connection:
        [(flights,)] = connection.execute("SELECT count(*) FROM marts.fct_flights").fetchall()
    print(f"history: {flights:,} flights in marts.fct_flights; re-delivering {', '.join(newest)}")
    latencies, phases = [], []
    with dev_server.dagster_dev(data_dir, settings, log_name="latency_dagster_dev.log") as server:
        for day in newest:
            time.sleep(15)  # let the sensors settle, so each day is measured on its own
            landed_at, seconds = redeliver_and_wait(settings, day, 600)
            latencies.append(seconds)
            phases.append(breakdown(server.home, landed_at))
            print(f"  {day}: {seconds:.1f} s", flush=True)
    print(
        f"\ncorrected day re-delivered -> in the marts, {days} days: "
        f"p50 {statistics.median(latencies):.1f} s, max {max(latencies):.1f} s"
    )
    print_phases("where the time goes (median, seconds):", phases)
    return 0


def print_phases(title: str, phases: list[dict[str, float]]) -> None:
    """The median of each phase over the days measured (a phase a day did not have counts 0)."""
    print(title)
    for phase in next((p for p in phases if p), {}):
        print(f"  {phase:24}{statistics.median(p.get(phase, 0.0) for p in phases if p):>8.1f}")


if __name__ == "__main__":
    sys.exit(main())
