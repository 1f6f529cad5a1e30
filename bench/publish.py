"""Benchmark: what publishing an audited build costs as the history grows (write-audit-publish).

    python3 tasks.py run python bench/publish.py                        # 1 and 30 years, both backends
    python3 tasks.py run python bench/publish.py --years 1 10 30 --backend file

The real pipeline first loads and builds the first week of 2013 from the real files, so every
published mart has its real shape and contents. For each history length the per-day marts are
then grown to that many years by copying that week back in time, week after week (30 years:
10.3 million rows in fct_flights). One corrected day is staged in the audit schema, as a one-day
build writes it, and ``publishing.marts.publish`` runs on it: the real transaction that readers'
consistency rests on (it is idempotent, so it is repeated and the median kept).

Beside it, in the same run and on the same tables, the floor that grows with the history: each
mart published whole, as a write-audit-publish that swaps whole tables would (dbt's own table
materialisation rewrites them whole too). On the file backend the readers' copy that follows a
publish is timed as well: it copies the whole file, so it grows with the history.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPEATS = 5
WEEK = [date(2013, 1, day) for day in range(1, 8)]
NEWEST = WEEK[-1]


def build_first_week(settings) -> None:
    """The real pipeline over the real first week: loads, dbt build, publish."""
    from tests.demo.support.pipeline import Pipeline

    pipeline = Pipeline(settings)
    pipeline.land_real_days(WEEK)
    assert pipeline.run_build().success, "the first week did not build"


def grow(connection, models, years: int) -> int:
    """Copy the published week back in time until each per-day mart holds ``years`` years; fct_flights' rows."""
    weeks = years * 365 // 7
    for model in models:
        if model.day_column is None:
            continue
        # Week k is the real week moved k weeks back: the day column shifts, nothing else changes.
        connection.execute(
            f"INSERT INTO {model.published_table} SELECT week.* REPLACE"
            f" ({model.day_column} - (7 * k)::INTEGER AS {model.day_column})"
            f" FROM {model.published_table} AS week, range(1, {weeks}) AS t(k)"
        )
    [(rows,)] = connection.execute("SELECT count(*) FROM marts.fct_flights").fetchall()
    return int(rows)


def stage_corrected_day(connection, models) -> None:
    """What a one-day build writes: the newest day of each per-day mart, corrected, and the route profile."""
    from ingestion.changes import CHANGED_DAYS, CHANGES_DDL

    for ddl in CHANGES_DDL:
        connection.execute(ddl)
    connection.execute(f"DELETE FROM {CHANGED_DAYS}")
    connection.execute("CREATE SCHEMA IF NOT EXISTS audit")
    for model in models:
        if model.day_column is None:
            connection.execute(f"CREATE OR REPLACE TABLE {model.audit_table} AS SELECT * FROM {model.published_table}")
            continue
        connection.execute(
            f"CREATE OR REPLACE TABLE {model.audit_table} AS SELECT * FROM {model.published_table}"
            f" WHERE {model.day_column} = ?",
            [NEWEST],
        )
        connection.execute(f"INSERT INTO {CHANGED_DAYS} VALUES (?, ?)", [model.name, NEWEST])


def publish_whole(connection, models) -> None:
    """The floor that grows with history: every mart rewritten whole from its new version."""
    from ingestion.changes import CHANGED_DAYS
    from warehouse.transactions import transaction

    with transaction(connection):
        for model in models:
            if model.day_column is None:
                source = f"SELECT * FROM {model.audit_table}"
            else:
                source = (
                    f"SELECT * FROM {model.published_table} WHERE {model.day_column} NOT IN "
                    f"(SELECT day FROM {CHANGED_DAYS} WHERE model = '{model.name}')"
                    f" UNION ALL BY NAME SELECT * FROM {model.audit_table}"
                )
            connection.execute(f"CREATE OR REPLACE TABLE {model.published_table}__whole AS {source}")
            connection.execute(f"DROP TABLE {model.published_table}")
            connection.execute(f"ALTER TABLE {model.published_table}__whole RENAME TO {model.name}")


def median(action) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def measure(settings, years: int) -> dict:
    import json

    import polars as pl

    from ingestion.changes import CLAIM_SCHEMA, Claim
    from publishing.marts import audited_models, publish
    from resources.dbt import dbt_project
    from resources.warehouse import WarehouseResource

    models = list(audited_models(json.loads(dbt_project().manifest_path.read_text())).values())
    warehouse = WarehouseResource.for_settings(settings)
    nothing_claimed = Claim(pl.DataFrame(schema=CLAIM_SCHEMA), {})
    with warehouse.writer() as connection:
        rows = grow(connection, models, years)
        stage_corrected_day(connection, models)
        if warehouse.readers_need_a_copy:  # the copy is of the file: nothing left in its WAL
            connection.execute("CHECKPOINT")
        per_day = median(lambda: publish(connection, models, "bench", nothing_claimed))
        whole = median(lambda: publish_whole(connection, models))
    result = {"years": years, "rows": rows, "publish": per_day, "whole": whole}
    if warehouse.readers_need_a_copy:
        result["reader_copy"] = median(warehouse.publish_reader_copy)
        result["file_mb"] = Path(warehouse.path).stat().st_size / 1e6
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--years", type=int, nargs="+", default=[1, 30])
    parser.add_argument("--backend", choices=("file", "lake", "both"), default="both")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as they are measured, even when piped

    from bench.servers import Server
    from config.settings import Settings
    from resources.dbt import ensure_manifest

    ensure_manifest()
    workdir = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    backends = ("file", "lake") if args.backend == "both" else (args.backend,)
    server = Server() if "lake" in backends else None
    results = []
    try:
        for backend in backends:
            for years in args.years:
                data = workdir / f"{backend}-{years}"
                overrides = server.new_lake(data) if backend == "lake" and server else {}
                settings = Settings(env="test", data_dir=data, **overrides)
                build_first_week(settings)
                figures = measure(settings, years) | {"backend": backend}
                results.append(figures)
                print(f"{backend} {years} y: {figures}", flush=True)
                shutil.rmtree(data, ignore_errors=True)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\npublishing one corrected day of every mart, median of {REPEATS} (one run; compare within it)")
    header = ("backend", "history", "fct_flights rows", "publish", "whole tables", "ratio", "readers' copy")
    print(" | ".join(header))
    for r in results:
        copy = f"{r['reader_copy']:.2f} s ({r['file_mb']:,.0f} MB)" if "reader_copy" in r else "-"
        cells = (
            r["backend"],
            f"{r['years']} y",
            f"{r['rows']:,}",
            f"{r['publish']:.3f} s",
            f"{r['whole']:.2f} s",
            f"{r['whole'] / r['publish']:.1f}x",
            copy,
        )
        print(" | ".join(cells))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {own:.0f} MB (mostly DuckDB growing the history, not publishing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
