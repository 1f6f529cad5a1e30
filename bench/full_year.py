"""Benchmark: the full 2013 year through the pipeline, beside pure DuckDB doing the same work.

    python3 tasks.py run python bench/full_year.py            # both, printed side by side
    python3 tasks.py run python bench/full_year.py --keep     # keep the data folder for a look afterwards

Both start from the same clean landing zone: 365 daily flights files, 364 weather files and the
three reference files, delivered by `replay`. The pipeline loads them the way a backfill runs
(one single-run load of every day, then one dbt build and the analytics), with Pandera validation,
quarantine, archiving and Dagster's bookkeeping. The baseline is one DuckDB process reading the
same CSV files and building the same marts in SQL: the floor the pipeline's overhead is set
against. Each side runs in a fresh child process, so peak memory is its own (dbt's included).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASELINE_SQL = """
CREATE SCHEMA raw; CREATE SCHEMA marts;
CREATE TABLE raw.flights AS SELECT * FROM read_csv('{landing}/flights/*.csv', nullstr='NA', header=true);
CREATE TABLE raw.weather AS SELECT * FROM read_csv('{landing}/weather/*.csv', nullstr='NA', header=true,
    types={{'temp': 'DOUBLE', 'dewp': 'DOUBLE', 'humid': 'DOUBLE', 'wind_speed': 'DOUBLE', 'wind_gust': 'DOUBLE',
            'precip': 'DOUBLE', 'pressure': 'DOUBLE', 'visib': 'DOUBLE'}});
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
FROM marts.fct_flights GROUP BY ALL;
"""


def peak_memory_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its largest child (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_mb": round(own, 1), "peak_child_mb": round(children, 1)}


def child_baseline(data_dir: Path) -> dict:
    import duckdb

    started = time.perf_counter()
    with duckdb.connect(str(data_dir / "baseline.duckdb")) as connection:
        connection.execute(BASELINE_SQL.format(landing=data_dir / "landing"))
        [(rows,)] = connection.execute("SELECT count(*) FROM marts.fct_flights").fetchall()
    return {"seconds": round(time.perf_counter() - started, 2), "fct_flights_rows": rows, **peak_memory_mb()}


def child_pipeline(data_dir: Path, overrides: dict | None = None) -> dict:
    """The backfill on the settings' backend (``overrides``: e.g. a lake's settings)."""
    started = time.perf_counter()
    import dagster as dg

    from cli.backfill import run_backfill
    from resources.dbt import ensure_manifest
    from resources.settings import Settings

    ensure_manifest()
    settings = Settings(env="test", data_dir=data_dir, **(overrides or {}))
    imported = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        report = run_backfill(settings, instance)
        phases = {}
        for label, result in report.results.items():
            stats = instance.get_run_stats(result.run_id)
            phases[label] = round(stats.end_time - stats.start_time, 2)
    from resources.warehouse import WarehouseResource

    with WarehouseResource.for_settings(settings).read_only() as connection:
        [(rows,)] = connection.execute("SELECT count(*) FROM marts.fct_flights").fetchall()
        [(flights_quarantined, weather_quarantined)] = connection.execute(
            "SELECT (SELECT count(*) FROM quarantine.flights), (SELECT count(*) FROM quarantine.weather)"
        ).fetchall()
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "import_seconds": round(imported - started, 2),
        "runs": phases,
        "success": report.success,
        "fct_flights_rows": rows,
        "flights_quarantined": flights_quarantined,
        "weather_quarantined": weather_quarantined,
        **peak_memory_mb(),
    }


def run_child(kind: str, data_dir: Path, overrides: dict | None = None) -> dict:
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(data_dir), json.dumps(overrides or {})],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    return result


def land_full_year(data_dir: Path) -> float:
    from cli import replay
    from resources.settings import Settings

    started = time.perf_counter()
    replay.main(["--reference", "--from", "2013-01-01", "--to", "2013-12-31"], settings=Settings(data_dir=data_dir))
    return round(time.perf_counter() - started, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--child", choices=["pipeline", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("data_dir", nargs="?", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("overrides", nargs="?", type=json.loads, default={}, help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the data folders")
    args = parser.parse_args()
    if args.child:
        if args.child == "pipeline":
            result = child_pipeline(args.data_dir, args.overrides)
        else:
            result = child_baseline(args.data_dir)
        print(json.dumps(result))
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="bench-full-year-"))
    try:
        pipeline_dir, baseline_dir = workdir / "pipeline", workdir / "baseline"
        landing_seconds = land_full_year(pipeline_dir)
        shutil.copytree(pipeline_dir / "landing", baseline_dir / "landing")
        print(f"landed the full year with replay in {landing_seconds} s (not counted below)\n", flush=True)
        baseline = run_child("baseline", baseline_dir)
        pipeline = run_child("pipeline", pipeline_dir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"data kept in {workdir}")

    print(f"{'':28}{'pipeline':>12}{'pure DuckDB':>14}")
    print(f"{'wall time (s)':28}{pipeline['wall_seconds']:>12}{baseline['wall_seconds']:>14}")
    print(f"{'peak memory, main (MB)':28}{pipeline['peak_mb']:>12}{baseline['peak_mb']:>14}")
    print(f"{'peak memory, child (MB)':28}{pipeline['peak_child_mb']:>12}{'-':>14}")
    print(f"{'fct_flights rows':28}{pipeline['fct_flights_rows']:>12}{baseline['fct_flights_rows']:>14}")
    print(f"\nratio pipeline / pure DuckDB (wall time): {pipeline['wall_seconds'] / baseline['wall_seconds']:.1f}x")
    print(f"pipeline: {pipeline['import_seconds']} s imports and manifest; runs (s): {pipeline['runs']}")
    print(
        f"pipeline: quarantined by Pandera: {pipeline['flights_quarantined']} flights, "
        f"{pipeline['weather_quarantined']} weather rows; all runs ok: {pipeline['success']}"
    )
    # Nothing lost: every flight the baseline has is either in the pipeline's fact table or quarantined.
    accounted = pipeline["fct_flights_rows"] + pipeline["flights_quarantined"] == baseline["fct_flights_rows"]
    print(f"every baseline flight is in fct_flights or quarantine: {accounted}")
    return 0 if pipeline["success"] and accounted else 1


if __name__ == "__main__":
    sys.exit(main())
