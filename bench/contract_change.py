"""Benchmark: from a contract change to the change published, as the history grows.

    python3 tasks.py run python bench/contract_change.py                # a year of history, file backend
    python3 tasks.py run python bench/contract_change.py --years 30

In a copy of the project (the repository is never touched) with ``--years`` of history loaded and
built (bench/history.py, `backfill`), the flights feed adds a column (`seats`) from its last week:
those days are delivered again in the new shape. Then, each step in a process of its own and timed
as a user runs it: `profile flights <the new files> --update --write` (the contract change), the SQL
edit that takes the column into stg_flights and fct_flights, and `backfill --dataset flights` (the
flights history reloaded under the new contract and the build that publishes it). The floor is one
DuckDB process reading the same flights files into one table.

Printed: each step's wall time and the peak memory of its process tree, its ratio to the floor,
and how many days each mart rebuilt.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.history import write_history  # noqa: E402
from bench.measure import run_measured  # noqa: E402

NEW_SHAPE_DAYS = 7


def child_backfill(only: list[str]) -> dict:
    import dagster as dg

    from cli.backfill import run_backfill
    from config.settings import get_settings
    from ingestion.changes import CHANGED_DAYS
    from resources.dbt import ensure_manifest
    from resources.warehouse import WarehouseResource

    ensure_manifest()
    settings = get_settings()
    report = run_backfill(settings, dg.DagsterInstance.ephemeral(), only=only)
    with WarehouseResource.for_settings(settings).read_only() as connection:
        rebuilt = dict(connection.execute(f"SELECT model, count(*) FROM {CHANGED_DAYS} GROUP BY ALL").fetchall())
        [(seats,)] = connection.execute("SELECT count(seats) FROM marts.fct_flights").fetchall() if only else [(0,)]
    return {"success": report.success, "days_rebuilt": rebuilt, "fct_flights_seats": seats}


def child_profile(files: list[str]) -> dict:
    from config.datasets import load_datasets
    from config.settings import DBT_PROJECT_DIR, get_settings
    from contract.profile import profile
    from contract.update import apply, propose

    settings = get_settings()
    paths = [Path(file) for file in files]
    flights = load_datasets(settings.datasets_path)["flights"]
    proposals = propose(flights, profile("flights", paths), paths)
    apply(flights, proposals, settings.datasets_path, DBT_PROJECT_DIR)
    return {"changes": [proposal.describe() for proposal in proposals]}


def child_floor(archive: str) -> dict:
    """Every flights delivery of the history (each day's newest) read into one table by DuckDB, with
    the contract's columns declared as the pipeline declares them (no sniffing per file)."""
    import duckdb

    from bench.full_year import declared_columns

    newest = [sorted(folder.iterdir())[-1] for folder in sorted(Path(archive, "flights").iterdir())]
    shapes: dict[bool, list[str]] = {True: [], False: []}
    for path in newest:
        shapes["seats" in path.open().readline()].append(str(path))

    def read(files: list[str], with_seats: bool) -> str:
        columns = declared_columns("flights", leave_out=() if with_seats else ("seats",))
        return f"SELECT * FROM read_csv({files}, header=true, auto_detect=false, nullstr='NA', columns={columns})"

    with duckdb.connect() as connection:
        connection.execute(
            f"CREATE TABLE flights AS {read(shapes[False], False)} UNION ALL BY NAME {read(shapes[True], True)}"
        )
        [(rows,)] = connection.execute("SELECT count(*) FROM flights").fetchall()
    return {"rows": rows, "files": len(newest)}


def deliver_new_shape(data_dir: Path) -> list[Path]:
    """The history's last days of flights delivered again, each with a `seats` column."""
    import polars as pl

    archive = data_dir / "archive" / "flights"
    landing = data_dir / "landing" / "flights"
    landing.mkdir(parents=True, exist_ok=True)
    delivered = []
    for day in sorted(folder.name for folder in archive.iterdir())[-NEW_SHAPE_DAYS:]:
        [archived, *_] = sorted((archive / day).iterdir(), reverse=True)
        frame = pl.read_csv(archived, infer_schema=False)
        frame = frame.with_columns(seats=(pl.col("flight").cast(pl.Int32) % 250 + 50).cast(pl.String))
        out = io.BytesIO()
        frame.write_csv(out)
        target = landing / f"flights_{day}.csv"
        target.write_bytes(out.getvalue())
        delivered.append(target)
    return delivered


def sql_edit(copy: Path) -> None:
    staging = copy / "dbt_project" / "models" / "staging" / "stg_flights.sql"
    staging.write_text(staging.read_text().replace("    tailnum,\n", "    tailnum,\n    seats,\n", 1))
    fact = copy / "dbt_project" / "models" / "marts" / "fct_flights.sql"
    fact.write_text(fact.read_text().replace("    f.tailnum,\n", "    f.tailnum,\n    f.seats,\n", 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--child", choices=["backfill", "reload", "profile", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("arguments", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--years", type=int, default=1, help="years of history, ending with 2013 (default 1)")
    args = parser.parse_args()
    if args.child:
        children = {
            "backfill": lambda: child_backfill([]),
            "reload": lambda: child_backfill(["flights"]),
            "profile": lambda: child_profile(args.arguments),
            "floor": lambda: child_floor(args.arguments[0]),
        }
        print(json.dumps(children[args.child]()))
        return 0

    from tests.support.new_dataset import copy_project

    with tempfile.TemporaryDirectory(prefix="bench-contract-") as scratch:
        workdir = Path(scratch)
        copy = copy_project(workdir / "project")
        started = time.perf_counter()
        history = write_history(workdir / "source", args.years)
        data_dir = workdir / "data"
        data_dir.mkdir()
        history.landing.rename(data_dir / "landing")
        (copy / "config" / "datasets.yaml").write_text(history.datasets_path.read_text())
        print(f"{args.years} year(s) of history written in {time.perf_counter() - started:.1f} s")
        env = {
            **os.environ,
            "PYTHONPATH": str(copy),
            "DATAOPS_ENV": "dev",
            "DATAOPS_DATA_DIR": str(data_dir),
            "DATAOPS_DATASETS_PATH": str(copy / "config" / "datasets.yaml"),
        }
        env.pop("DAGSTER_HOME", None)
        script = str(copy / "bench" / "contract_change.py")

        def step(name: str, *arguments: str) -> dict:
            os.chdir(copy)
            result = run_measured([sys.executable, script, "--child", name, *arguments], workdir / f"{name}.log", env)
            if result.get("success") is False:
                raise RuntimeError(f"{name} failed: {(workdir / f'{name}.log').read_text()[-3000:]}")
            return result

        history_built = step("backfill")
        new_files = deliver_new_shape(data_dir)
        changed = step("profile", *map(str, new_files))
        sql_edit(copy)
        published = step("reload")
        floor = step("floor", str(data_dir / "archive"))

    print(f"history built: {history_built['wall_seconds']} s, {history_built['peak_tree_mb']} MB")
    print(f"the change: {'; '.join(changed['changes'])}")
    print()
    print("| step | seconds | x floor | peak MB (tree) |")
    print("| --- | --- | --- | --- |")
    for name, result in (("profile --update --write", changed), ("backfill --dataset flights", published)):
        ratio = result["wall_seconds"] / floor["wall_seconds"]
        print(f"| {name} | {result['wall_seconds']} | {ratio:.2f} | {result['peak_tree_mb']} |")
    reads = f"floor: DuckDB reads the {floor['files']} flights files ({floor['rows']:,} rows)"
    print(f"| {reads} | {floor['wall_seconds']} | 1.00 | {floor['peak_tree_mb']} |")
    print()
    print(f"days rebuilt per mart: {json.dumps(published['days_rebuilt'], sort_keys=True)}")
    print(f"fct_flights rows with seats: {published['fct_flights_seats']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
