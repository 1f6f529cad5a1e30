"""Benchmark: a full backfill through the pipeline, beside pure DuckDB doing the same work.

    python3 tasks.py run python bench/full_year.py                      # the real 2013 year, file backend
    python3 tasks.py run python bench/full_year.py --years 30 --scale 1 --backend both
    python3 tasks.py run python bench/full_year.py --keep               # keep the data folder afterwards
    python3 tasks.py run python bench/full_year.py --days 1             # one day: the costs that are not the work

History: ``--years`` years ending with 2013, each the real 2013 files moved back in time, with
``--scale`` times the flights per day (bench/history.py). Both sides start from the same landing
zone. The pipeline loads it the way a backfill runs (one single-run load of every day, then one
dbt build and the analytics), with Pandera validation, quarantine, archiving and Dagster's
bookkeeping in a SQLite instance on disk (as `dagster dev` keeps it). The floor is one DuckDB
process reading the same CSV files and building the same marts in SQL.

Each side runs in a fresh child process; its memory is sampled over its whole process tree (dbt
included): the peak of the tree's total, and the peak of its largest process.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.history import History, write_history  # noqa: E402
from bench.measure import run_measured  # noqa: E402

# The floor reads the daily files with the types the Pandera models declare, as the pipeline does:
# DuckDB does not sniff each of thousands of files, a cost per file the pipeline does not pay.
BASELINE_SQL = """
CREATE SCHEMA raw; CREATE SCHEMA marts;
CREATE TABLE raw.flights AS SELECT * FROM read_csv('{landing}/flights/*.csv', nullstr='NA', header=true,
    auto_detect=false, columns={flights_columns});
CREATE TABLE raw.weather AS SELECT * FROM read_csv('{landing}/weather/*.csv', nullstr='NA', header=true,
    auto_detect=false, columns={weather_columns});
CREATE TABLE raw.airlines AS SELECT * FROM read_csv('{landing}/airlines/airlines.csv', nullstr='NA');
CREATE TABLE raw.airports AS SELECT * FROM read_csv('{landing}/airports/airports.csv', nullstr='NA');
CREATE TABLE raw.planes AS SELECT * FROM read_csv('{landing}/planes/planes.csv', nullstr='NA');
CREATE TABLE marts.fct_flights AS
SELECT f.*, make_date(f.year, f.month, f.day) AS flight_date, al.name AS carrier_name,
       o.name AS origin_name, d.name AS dest_name, p.model AS plane_model,
       w.precip AS dep_precip_in, w.visib AS dep_visibility_mi,
       f.dep_time IS NULL AS is_cancelled, coalesce(f.arr_delay < 15, false) AS is_on_time
FROM raw.flights f
LEFT JOIN raw.airlines al USING (carrier)
LEFT JOIN raw.airports o ON f.origin = o.faa
LEFT JOIN raw.airports d ON f.dest = d.faa
LEFT JOIN raw.planes p USING (tailnum)
LEFT JOIN raw.weather w ON f.origin = w.origin AND f.time_hour = w.time_hour;
CREATE TABLE marts.mart_carrier_daily_performance AS
SELECT flight_date, carrier, count(*) AS flights, avg(is_on_time::int) AS on_time_rate, avg(arr_delay) AS delay
FROM marts.fct_flights GROUP BY ALL;
CREATE TABLE marts.mart_origin_daily_performance AS
SELECT flight_date, origin, count(*) AS flights, avg(is_on_time::int) AS on_time_rate, avg(arr_delay) AS delay
FROM marts.fct_flights GROUP BY ALL;
CREATE TABLE marts.mart_route_delays AS
SELECT origin, dest, count(*) AS flights, avg(arr_delay) AS delay, quantile_cont(arr_delay, 0.9) AS p90
FROM marts.fct_flights WHERE flight_date > (SELECT max(flight_date) FROM marts.fct_flights) - 365 GROUP BY ALL;
"""


def declared_columns(dataset: str, leave_out: tuple[str, ...] = ()) -> str:
    """A daily dataset's columns as read_csv's ``columns`` struct, typed as its Pandera model says
    (but those in ``leave_out``)."""
    import duckdb
    import polars as pl

    from config.datasets import load_datasets
    from config.settings import Settings
    from ingestion.casting import model_dtypes

    model = load_datasets(Settings().datasets_path)[dataset].schema_class
    empty = pl.DataFrame(schema=model_dtypes(model))  # noqa: F841  (read by DuckDB below, by name)
    described = duckdb.execute("DESCRIBE SELECT * FROM empty").fetchall()
    return "{" + ", ".join(f"'{name}': '{dtype}'" for name, dtype, *_ in described if name not in leave_out) + "}"


def child_baseline(data_dir: Path) -> dict:
    """Only DuckDB in this process: the SQL was written beside the data by ``write_baseline_sql``."""
    import duckdb

    started = time.perf_counter()
    with duckdb.connect(str(data_dir / "baseline.duckdb")) as connection:
        connection.execute((data_dir / "baseline.sql").read_text())
        [(rows,)] = connection.execute("SELECT count(*) FROM marts.fct_flights").fetchall()
    return {"seconds": round(time.perf_counter() - started, 2), "fct_flights_rows": rows}


def redeliver_last_day(settings, instance) -> dict:
    """The newest flights day delivered again, corrected, on top of the history, loaded and built like
    a backfill of that one day: what a changed day costs once the history is there (the incremental
    marts rebuild that day only; the reference files a backfill reloads are unchanged and rebuild
    nothing)."""
    from cli.backfill import run_backfill
    from config.datasets import load_datasets
    from ingestion.changes import CHANGED_DAYS
    from ingestion.landing import dataset_landing_dir
    from resources.warehouse import WarehouseResource

    flights = load_datasets(settings.datasets_path)["flights"]
    day = max(folder.name for folder in (settings.archive / "flights").iterdir())
    [archived, *_] = sorted((settings.archive / "flights" / day).iterdir(), reverse=True)
    landing = dataset_landing_dir(settings.landing, "flights") / flights.file_name_for(date.fromisoformat(day))
    # A correction: the same day without its last flight (the same bytes again would rebuild nothing).
    lines = archived.read_bytes().splitlines(keepends=True)
    landing.write_bytes(b"".join(lines[:-1]))
    started = time.perf_counter()
    report = run_backfill(settings, instance, start=date.fromisoformat(day), end=date.fromisoformat(day))
    seconds = round(time.perf_counter() - started, 2)
    stats = instance.get_run_stats(report.results["downstream"].run_id)
    with WarehouseResource.for_settings(settings).read_only() as connection:
        rebuilt = dict(connection.execute(f"SELECT model, count(*) FROM {CHANGED_DAYS} GROUP BY ALL").fetchall())
    return {
        "seconds": seconds,
        "downstream_seconds": round(stats.end_time - stats.start_time, 2),
        "days_rebuilt": rebuilt,
        "success": report.success,
    }


def write_baseline_sql(data_dir: Path) -> None:
    columns = {f"{name}_columns": declared_columns(name) for name in ("flights", "weather")}
    (data_dir / "baseline.sql").write_text(BASELINE_SQL.format(landing=data_dir / "landing", **columns))


def child_pipeline(data_dir: Path, datasets_path: Path | None, overrides: dict) -> dict:
    """The backfill on the settings' backend, recorded in a SQLite instance under ``data_dir``."""
    started = time.perf_counter()
    from cli.backfill import run_backfill
    from config.settings import Settings
    from definitions import build_definitions
    from instance.local import open_local_instance
    from resources.dbt import ensure_manifest
    from resources.warehouse import WarehouseResource

    ensure_manifest()
    chosen = {"datasets_path": datasets_path} if datasets_path else {}
    settings = Settings(env="test", data_dir=data_dir, **chosen, **overrides)
    imported = time.perf_counter()
    home = data_dir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    with open_local_instance(home) as instance:
        report = run_backfill(settings, instance, defs=build_definitions(settings))
        backfill_seconds = round(time.perf_counter() - started, 2)
        runs, materializations = {}, 0
        for label, result in report.results.items():
            stats = instance.get_run_stats(result.run_id)
            runs[label] = round(stats.end_time - stats.start_time, 2)
            materializations += stats.materializations
        one_day = redeliver_last_day(settings, instance)
    with WarehouseResource.for_settings(settings).read_only() as connection:
        # Records read by the delivery each day holds now (the last day was delivered twice, corrected).
        [(rows, flights_quarantined, weather_quarantined, read, loaded)] = connection.execute(
            "SELECT (SELECT count(*) FROM marts.fct_flights), (SELECT count(*) FROM quarantine.flights),"
            " (SELECT count(*) FROM quarantine.weather),"
            " (SELECT sum(records_read) FROM (SELECT records_read FROM meta.file_loads WHERE dataset = 'flights'"
            "  QUALIFY row_number() OVER (PARTITION BY partition_date ORDER BY loaded_at DESC) = 1)),"
            " (SELECT count(*) FROM raw.flights)"
        ).fetchall()
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "backfill_seconds": backfill_seconds,  # imports, manifest and the backfill, not the one day after
        "import_seconds": round(imported - started, 2),
        "runs": runs,
        "materializations": materializations,
        "success": report.success and one_day.pop("success"),
        "one_day": one_day,
        "fct_flights_rows": rows,
        "flights_read": read,
        "flights_loaded": loaded,
        "flights_quarantined": flights_quarantined,
        "weather_quarantined": weather_quarantined,
    }


def run_child(kind: str, data_dir: Path, datasets_path: Path | None = None, overrides: dict | None = None) -> dict:
    """A child process of this script: ``pipeline`` or ``baseline``, measured (bench/measure.py)."""
    command = [
        sys.executable,
        __file__,
        "--child",
        kind,
        str(data_dir),
        str(datasets_path or ""),
        json.dumps(overrides or {}),
    ]
    return run_measured(command, log=data_dir / f"{kind}.log")


def land_full_year(data_dir: Path) -> float:
    """The real 2013 year delivered into ``data_dir``'s landing zone by `replay` (other benchmarks)."""
    from config.settings import Settings
    from demo import replay

    started = time.perf_counter()
    replay.main(["--reference", "--from", "2013-01-01", "--to", "2013-12-31"], settings=Settings(data_dir=data_dir))
    return round(time.perf_counter() - started, 2)


def land(root: Path, years: int, scale: int, days: int | None) -> tuple[History, float]:
    started = time.perf_counter()
    history = write_history(root, years, scale, days)
    return history, round(time.perf_counter() - started, 2)


def print_table(results: dict[str, dict]) -> None:
    names = list(results)
    rows = (
        ("wall time (s)", "wall_seconds"),
        ("peak memory, process tree (MB)", "peak_tree_mb"),
        ("peak memory, one process (MB)", "peak_process_mb"),
        ("fct_flights rows", "fct_flights_rows"),
    )
    print(f"{'':34}" + "".join(f"{name:>14}" for name in names))
    for label, key in rows:
        print(f"{label:34}" + "".join(f"{results[name].get(key, '-')!s:>14}" for name in names))


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be 1 or more")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--child", choices=["pipeline", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("data_dir", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "datasets_path", nargs="?", type=lambda text: Path(text) if text else None, help=argparse.SUPPRESS
    )
    parser.add_argument("overrides", nargs="?", type=json.loads, default={}, help=argparse.SUPPRESS)
    parser.add_argument("--years", type=int, default=1, help="years of history, ending with 2013 (default 1)")
    parser.add_argument("--scale", type=int, default=1, help="flights per day, times the real ones (default 1)")
    parser.add_argument("--backend", choices=["file", "lake", "both"], default="file", help="default: file")
    parser.add_argument(
        "--days",
        type=positive_int,
        help="only the history's first DAYS days: what the pipeline costs beside its work (e.g. 1)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data folders")
    args = parser.parse_args()
    if args.child:
        if args.child == "pipeline":
            result = child_pipeline(args.data_dir, args.datasets_path, args.overrides)
        else:
            result = child_baseline(args.data_dir)
        print(json.dumps(result))
        return 0

    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # figures as they come, even piped
    workdir = Path(tempfile.mkdtemp(prefix="bench-full-year-"))
    backends = ["file", "lake"] if args.backend == "both" else [args.backend]
    server = None
    try:
        history, landing_seconds = land(workdir / "source", args.years, args.scale, args.days)
        print(
            f"generated {args.years} year(s) x{args.scale}"
            f"{f', first {args.days} day(s) only' if args.days is not None else ''}: "
            f"{history.flights_files} flights files "
            f"({history.flights_rows} flights), {history.weather_files} weather files, in {landing_seconds} s "
            "(not counted below)\n"
        )
        results: dict[str, dict] = {}
        for name in ["pure DuckDB", *backends]:
            folder = workdir / name.replace(" ", "-")
            shutil.copytree(history.landing, folder / "landing")
            if name == "pure DuckDB":
                write_baseline_sql(folder)
                results[name] = run_child("baseline", folder)
                continue
            overrides: dict = {}
            if name == "lake":
                from bench.servers import Server

                server = server or Server()
                overrides = server.new_lake(folder)
            results[name] = run_child("pipeline", folder, history.datasets_path, overrides)
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"data kept in {workdir}")

    print_table(results)
    floor = results["pure DuckDB"]
    ok = True
    for name in backends:
        found = results[name]
        # The child's wall time less the one-day phase after the backfill: process start to backfill end.
        backfill_wall = found["wall_seconds"] - (found["seconds"] - found["backfill_seconds"])
        per_day = backfill_wall / max(history.flights_files, 1) * 1000
        print(
            f"\n{name}: backfill {backfill_wall:.1f} s, {backfill_wall / floor['wall_seconds']:.1f}x the pure-DuckDB "
            "wall time; "
            f"{found['peak_tree_mb'] / floor['peak_tree_mb']:.1f}x its peak memory; {per_day:.1f} ms per day"
        )
        print(f"  imports and manifest {found['import_seconds']} s; runs (s): {found['runs']}")
        print(f"  materialisation events: {found['materializations']}; largest process: {found['peak_process']}")
        day = found["one_day"]
        print(
            f"  then the last day re-delivered: {day['seconds']} s (downstream run {day['downstream_seconds']} s), "
            f"days rebuilt per incremental model: {day['days_rebuilt']}"
        )
        # Nothing lost: every flight read is loaded or quarantined, and every loaded one is in the fact table.
        accounted = found["flights_loaded"] + found["flights_quarantined"] == found["flights_read"]
        in_marts = found["fct_flights_rows"] == found["flights_loaded"]
        print(
            f"  flights read {found['flights_read']} = loaded {found['flights_loaded']} + quarantined "
            f"{found['flights_quarantined']}: {accounted}; all loaded in fct_flights: {in_marts}; "
            f"all runs ok: {found['success']}"
        )
        ok = ok and accounted and in_marts and found["success"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
