"""Benchmark: where a backfill's time goes, Dagster's bookkeeping against the pipeline's own work.

    python3 tasks.py run python bench/bookkeeping.py              # one year of history
    python3 tasks.py run python bench/bookkeeping.py --years 10
    python3 tasks.py run python bench/bookkeeping.py --storage postgres --event-batch 1000

Runs `backfill` (cli/backfill.py) over generated history (bench/history.py), recorded in a SQLite
instance on disk as `dagster dev` keeps it, or with ``--storage postgres`` in the production
instance config (deploy/dagster.prod.yaml) on a PostgreSQL server (DATAOPS_TEST_POSTGRES, or one
started from Debian's packages). ``--event-batch N`` sets DAGSTER_EVENT_BATCH_SIZE: Dagster then
writes the materialisations of a ranged run N at a time (PostgreSQL's event storage inserts a
batch in one statement; SQLite's stores them one by one regardless). It runs under py-spy,
which samples every thread's stack 100 times a second, idle or not. The shares are of the
backfill's main thread, which runs the steps (dbt runs in processes of its own, which py-spy
follows as subprocesses; their samples are not in the shares). Each sample of the main thread is
put in the first category that matches, looking from the innermost frame outwards:

- imports: Python importing modules
- event storage: Dagster writing or reading its event log and run storage (materialisations,
  check evaluations, step events: the per-partition bookkeeping)
- logging: Dagster's log handlers (the run log)
- partitions: Dagster resolving partition keys, ranges and subsets
- pipeline work: this project's code (ingestion, assets, resources) and the Polars, Pandera and
  DuckDB work it calls
- waiting for dbt: the step waiting for dbt's events while dbt builds
- other Dagster: planning and launching runs, building definitions, executing steps

Bookkeeping is event storage, logging, partitions and other Dagster: what the pipeline costs
beside its own work.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.history import history_in_data_folder  # noqa: E402
from bench.servers import Server  # noqa: E402
from instance.home import PROD_CONFIG, prepare_dagster_home  # noqa: E402
from tests.support import postgres  # noqa: E402
from tests.support.instance_db import pg_env  # noqa: E402

SAMPLE_RATE = 100
PROJECT_PACKAGES = ("assets", "cli", "config", "ingestion", "jobs", "resources", "schemas", "sensors")
# (category, frame test): the first match from the innermost frame outwards wins.
RULES: list[tuple[str, tuple[str, ...]]] = [
    ("imports", ("<frozen importlib._bootstrap", "importlib/__init__.py")),
    ("event storage", ("dagster/_core/storage/",)),
    ("logging", ("logging/__init__.py", "dagster/_core/log_manager.py", "dagster/_loggers")),
    ("partitions", ("dagster/_core/definitions/partitions/",)),
    (
        "waiting for dbt",
        (
            "dagster_dbt/core/dbt_cli_invocation.py",
            "dagster_dbt/core/dbt_event_iterator.py",
        ),
    ),
]
WORK_LIBRARIES = ("polars/", "pandera/", "duckdb/", "pyarrow/")
BOOKKEEPING = ("event storage", "logging", "partitions", "other Dagster")


def categorise(stack: list[str]) -> str:
    """``stack``: frames from the outermost to the innermost, as py-spy writes them."""
    for frame in reversed(stack):
        for category, needles in RULES:
            if any(needle in frame for needle in needles):
                return category
        if any(f"/{package}/" in frame or f"({package}/" in frame for package in PROJECT_PACKAGES):
            return "pipeline work"
        if any(library in frame for library in WORK_LIBRARIES):
            return "pipeline work"
    return "other Dagster"


def deployed_event_batch_size() -> str:
    """DAGSTER_EVENT_BATCH_SIZE as the production deploys set it."""
    env_file = ROOT / "deploy" / "systemd" / "dataops-template.env.example"
    lines = env_file.read_text().splitlines()
    [value] = [line.split("=", 1)[1] for line in lines if line.startswith("DAGSTER_EVENT_BATCH_SIZE=")]
    return value.strip()


def child(data_dir: Path, datasets_path: Path, home: Path) -> None:
    """The profiled process: a backfill of everything landed under ``data_dir``, recorded in the
    instance configured in ``home`` (the dev config, as `dagster dev` keeps it, if it has none)."""
    from cli.backfill import run_backfill
    from config.settings import Settings
    from definitions import build_definitions
    from instance.local import open_local_instance
    from resources.dbt import ensure_manifest

    ensure_manifest()
    settings = Settings(env="test", data_dir=data_dir, datasets_path=datasets_path)
    with open_local_instance(home) as instance:
        report = run_backfill(settings, instance, defs=build_definitions(settings))
        stats = {label: instance.get_run_stats(result.run_id) for label, result in report.results.items()}
    print(
        json.dumps(
            {
                "success": report.success,
                "materializations": sum(stat.materializations for stat in stats.values()),
                "runs": {label: round(stat.end_time - stat.start_time, 2) for label, stat in stats.items()},
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--child", nargs=3, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--years", type=int, default=1, help="years of history, ending with 2013 (default 1)")
    parser.add_argument("--storage", choices=["sqlite", "postgres"], default="sqlite", help="default: sqlite")
    parser.add_argument("--event-batch", type=int, help="DAGSTER_EVENT_BATCH_SIZE (default: as configured)")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and the raw samples")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    workdir = Path(tempfile.mkdtemp(prefix="bench-bookkeeping-"))
    server = None
    try:
        history, data_dir = history_in_data_folder(workdir, args.years)
        home = data_dir / "dagster_home"
        home.mkdir()
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        if args.event_batch is not None:
            env["DAGSTER_EVENT_BATCH_SIZE"] = str(args.event_batch)
        elif args.storage == "postgres":
            env["DAGSTER_EVENT_BATCH_SIZE"] = deployed_event_batch_size()
        if args.storage == "postgres":
            server = Server()
            database = postgres.create_database(server.dsn, prefix="bench_dagster")
            env |= pg_env(urlsplit(server.dsn)._replace(path=f"/{database}").geturl())
            prepare_dagster_home(home, [sys.executable], env, instance_config=PROD_CONFIG)
        samples = workdir / "samples.txt"
        py_spy = Path(sys.executable).with_name("py-spy")
        # --idle: a thread waiting (on SQLite's or PostgreSQL's disk writes, on dbt's output) is
        # sampled too, so the shares are of wall time, not only of time on the CPU.
        command = [
            str(py_spy),
            "record",
            "--format",
            "raw",
            "--rate",
            str(SAMPLE_RATE),
            "--subprocesses",
            "--idle",
            "--threads",
            "--output",
            str(samples),
            "--",
            sys.executable,
            __file__,
            "--child",
            str(data_dir),
            str(history.datasets_path),
            str(home),
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
        wall = time.perf_counter() - started
        # The child's last JSON line (dbt and Dagster write their logs to the same output).
        found = [line for line in done.stdout.splitlines() if line.startswith('{"success"')]
        if done.returncode != 0 or not found:
            print(done.stdout[-3000:], done.stderr[-3000:])
            return 1
        result = json.loads(found[-1])
        batch = env.get("DAGSTER_EVENT_BATCH_SIZE", "as configured")
        print(f"instance storage: {args.storage}; DAGSTER_EVENT_BATCH_SIZE={batch}")
        report(samples, wall, history.flights_files, result)
        return 0 if result["success"] else 1
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def report(samples: Path, wall: float, days: int, result: dict) -> None:
    steps: collections.Counter[str] = collections.Counter()
    for line in samples.read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack_text.split(";")
        # py-spy's raw format starts a stack with its processes ("process N:...", the backfill's
        # first), then its thread ("thread (id): name"); the steps run on the backfill's main thread.
        processes = [frame for frame in frames if frame.startswith("process ")]
        thread = frames[len(processes)] if len(frames) > len(processes) else ""
        if len(processes) == 1 and thread.endswith(": MainThread"):
            steps[categorise(frames[len(processes) + 1 :])] += int(count)
    total = sum(steps.values())
    print(f"backfill of {days:,} days: {wall:.1f} s wall, {result['materializations']} materialisation events")
    print(f"runs (s): {result['runs']}")
    print(f"\nwhere the backfill's main thread's time goes ({total} samples at {SAMPLE_RATE}/s):")
    for category, count in steps.most_common():
        print(f"  {category:20}{count / SAMPLE_RATE:8.1f} s {count / total:7.1%}")
    bookkeeping = sum(steps[category] for category in BOOKKEEPING)
    print(f"  {'bookkeeping':20}{bookkeeping / SAMPLE_RATE:8.1f} s {bookkeeping / total:7.1%}  (target: at most 20%)")


if __name__ == "__main__":
    sys.exit(main())
