"""Benchmark: the two warehouse backends on the same files, in one run.

    python3 tasks.py run python bench/lake.py            # the year, writers and readers
    python3 tasks.py run python bench/lake.py --days 60  # a shorter history (a quick look)

Prints, from the same landed files:
1. the backfill on the file backend, on the lake (catalog in PostgreSQL, files in a folder) and in
   pure DuckDB, the floor: wall time, peak memory, and the ratios to the floor;
2. the throughput of 1, 2 and 4 load runs writing the lake at once (days loaded per second);
3. how long a reader's query waits while a load and build run, on each backend.

PostgreSQL: the server in DATAOPS_TEST_POSTGRES, or one started from Debian's packages
(tests/support/postgres.py). Memory: sampled over each child's whole process tree
(bench/measure.py). The machine may be busy: compare within one run, repeat.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.full_year import land_full_year, run_child, write_baseline_sql  # noqa: E402
from bench.servers import Server  # noqa: E402
from config.settings import Settings  # noqa: E402
from tests.support import lake_worker  # noqa: E402

WRITERS = (1, 2, 4)
MOST_DAYS_PER_WRITER = 16  # fewer when the history is shorter: the writers never share a day
READER_LOAD_DAYS = 30  # the load (and build) a reader queries through
# A notebook's pace: one query a second. Faster, a reader of the file backend starves the pipeline's
# writer, whose lock attempts keep meeting the reader's.
READER_INTERVAL_SECONDS = 1.0
READER_LOAD_CEILING_SECONDS = 900
WRITER_CEILING_SECONDS = 900
# The reader queries for this long at most, then lets the load finish: on the file backend its
# lock attempts alone hold the writer back, which the load's duration then shows.
READER_PHASE_SECONDS = 60


def largest_child_peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def days_of(first: date, count: int) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range(count)]


def env_for(settings: Settings, home: Path) -> dict[str, str]:
    return {**os.environ, **settings.environment(), "DAGSTER_HOME": str(home)}


def writers_throughput(server: Server, landed: Path, workdir: Path, writers: int, per_writer: int) -> dict:
    """``writers`` load runs at once into a new lake, each loading ``per_writer`` days."""
    import dagster as dg

    from cli.backfill import register_days
    from config.datasets import load_datasets

    data_dir, home = workdir / f"writers-{writers}", workdir / f"writers-{writers}-home"
    shutil.copytree(landed, data_dir / "landing")
    home.mkdir()
    lake = server.new_lake(data_dir)
    settings = Settings(env="test", data_dir=data_dir, **lake)
    days = days_of(date(2013, 1, 1), writers * per_writer)
    instance = dg.DagsterInstance.local_temp(str(home))
    register_days(instance, load_datasets(settings.datasets_path), days, date.today())
    env = env_for(settings, home)
    barrier = workdir / f"barrier-{writers}"
    logs = [workdir / f"writers-{writers}-{n}.log" for n in range(writers)]
    processes = [
        lake_worker.start(barrier, writers, ["load", days[n * per_writer], days[(n + 1) * per_writer - 1]], env, log)
        for n, log in enumerate(logs)
    ]
    results = [
        lake_worker.outcome(process, log, WRITER_CEILING_SECONDS) for process, log in zip(processes, logs, strict=True)
    ]
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    return {
        "writers": writers,
        "days": len(days),
        "seconds": round(wall, 2),
        "days_per_second": round(len(days) / wall, 2),
        "all_ok": all(r["success"] and not r["trouble"] for r in results),
        "trouble": [line[:300] for r in results for line in r["trouble"]][:3],
        "largest_process_peak_mb": largest_child_peak_mb(),
    }


def reader_waits(settings_overrides: dict, data_dir: Path, workdir: Path, label: str) -> dict:
    """Query the marts again and again while a load and build of READER_LOAD_DAYS days run."""
    from demo import replay

    settings = Settings(env="test", data_dir=data_dir, **settings_overrides)
    # Redeliver days the warehouse already holds: the load replaces them (the same work as new days).
    last = (date(2013, 1, 1) + timedelta(days=READER_LOAD_DAYS - 1)).isoformat()
    replay.main(["--from", "2013-01-01", "--to", last], settings=settings)
    home = workdir / f"reader-{label}-home"
    home.mkdir()
    script = (
        "import dagster as dg, datetime as d; from cli.backfill import run_backfill; "
        "from config.settings import get_settings; "
        "r = run_backfill(get_settings(), dg.DagsterInstance.ephemeral(), start=d.date(2013, 1, 1)); "
        "raise SystemExit(0 if r.success else 1)"
    )
    # Its log goes to a file: an unread pipe fills up and stalls the run (Dagster logs a lot).
    log = workdir / f"reader-{label}-load.log"
    with log.open("w") as output:
        environment = env_for(settings, home)
        load = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=environment, stdout=output, stderr=output)
    open_and_query = _reader(settings)
    waits: list[float] = []
    load_started = time.monotonic()
    while load.poll() is None and time.monotonic() - load_started < READER_PHASE_SECONDS:
        started = time.perf_counter()
        open_and_query()
        waits.append(time.perf_counter() - started)
        time.sleep(READER_INTERVAL_SECONDS)
    try:
        load.wait(timeout=READER_LOAD_CEILING_SECONDS)
    except subprocess.TimeoutExpired:
        load.kill()
        raise RuntimeError(f"the load under the reader did not finish in {READER_LOAD_CEILING_SECONDS} s") from None
    load_seconds = time.monotonic() - load_started
    if load.returncode != 0:
        raise RuntimeError(f"the load under the reader failed: {log.read_text()[-2000:]}")
    return {
        "queries": len(waits),
        "median_wait_s": round(statistics.median(waits), 3),
        "max_wait_s": round(max(waits), 2),
        "load_seconds": round(load_seconds, 1),
    }


def _reader(settings) -> Callable[[], None]:
    """A reader as a notebook is: open the warehouse, count, close; waiting for the file's lock if need be."""
    import duckdb

    from resources.warehouse import WarehouseResource

    warehouse = WarehouseResource.for_settings(settings)
    sql = "SELECT count(*) FROM marts.fct_flights"
    if not warehouse.readers_need_a_copy:  # readers read the warehouse itself

        def lake() -> None:
            with warehouse.read_only() as connection:
                connection.execute(sql).fetchall()

        return lake

    def file() -> None:
        while True:
            try:
                with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
                    connection.execute(sql).fetchall()
                return
            except duckdb.IOException:  # the pipeline holds the file: a reader can only wait
                time.sleep(0.05)

    return file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--days", type=int, default=365, help="days of history in the backfill (default: the year)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as they are measured, even when piped
    per_writer = min(MOST_DAYS_PER_WRITER, args.days // max(WRITERS))
    workdir = Path(tempfile.mkdtemp(prefix="bench-lake-"))
    server = Server()
    try:
        source = workdir / "source"
        if args.days >= 365:
            landing_seconds = land_full_year(source)
        else:
            from demo import replay

            started = time.perf_counter()
            replay.main(["--reference", "--days", str(args.days)], settings=Settings(data_dir=source))
            landing_seconds = round(time.perf_counter() - started, 2)
        print(f"landed {args.days} days with replay in {landing_seconds} s (not counted below)\n", flush=True)
        dirs = {name: workdir / name for name in ("baseline", "file", "lake")}
        for folder in dirs.values():
            shutil.copytree(source / "landing", folder / "landing")
        lake = server.new_lake(dirs["lake"])
        write_baseline_sql(dirs["baseline"])
        results = {
            "baseline": run_child("baseline", dirs["baseline"]),
            "file": run_child("pipeline", dirs["file"]),
            "lake": run_child("pipeline", dirs["lake"], overrides=lake),
        }
        floor = results["baseline"]["wall_seconds"]
        print(f"1. backfill of {args.days} days")
        print(f"{'':30}{'file':>10}{'lake':>10}{'pure DuckDB':>13}")
        measures = (
            ("wall time (s)", "wall_seconds"),
            ("peak memory, process tree (MB)", "peak_tree_mb"),
            ("peak memory, one process (MB)", "peak_process_mb"),
            ("fct_flights rows", "fct_flights_rows"),
        )
        for label, key in measures:
            row = [results[name].get(key, "-") for name in ("file", "lake", "baseline")]
            print(f"{label:30}{row[0]:>10}{row[1]:>10}{row[2]:>13}")
        for name in ("file", "lake"):
            print(
                f"ratio {name} / pure DuckDB (wall time): {results[name]['wall_seconds'] / floor:.1f}x; "
                f"runs (s): {results[name]['runs']}; ok: {results[name]['success']}"
            )
        print(
            f"ratio lake / file (wall time): {results['lake']['wall_seconds'] / results['file']['wall_seconds']:.2f}x\n"
        )

        print(f"2. load runs writing the lake at once ({per_writer} days each)")
        print(f"{'writers':>8}{'days':>6}{'seconds':>9}{'days/s':>8}{'all ok':>8}")
        single = None
        for writers in WRITERS:
            found = writers_throughput(server, source / "landing", workdir, writers, per_writer)
            single = single or found["days_per_second"]
            speedup = found["days_per_second"] / single
            print(
                f"{found['writers']:>8}{found['days']:>6}{found['seconds']:>9}{found['days_per_second']:>8}"
                f"{found['all_ok']!s:>8}   ({speedup:.2f}x one writer)",
                flush=True,
            )
            for line in found["trouble"]:
                print(f"         trouble: {line}")

        print(
            f"\n3. a reader opening the warehouse and counting fct_flights, through a {READER_LOAD_DAYS}-day "
            "load and build"
        )
        print(f"{'backend':>8}{'queries':>9}{'median wait (s)':>17}{'max wait (s)':>14}{'load+build (s)':>16}")
        for name, overrides in (("file", {}), ("lake", lake)):
            found = reader_waits(overrides, dirs[name], workdir, name)
            print(
                f"{name:>8}{found['queries']:>9}{found['median_wait_s']:>17}{found['max_wait_s']:>14}"
                f"{found['load_seconds']:>16}"
            )
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
