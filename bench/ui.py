"""Benchmark: the Dagster UI over years of day partitions, timed in a real browser.

    python3 tasks.py run python bench/ui.py --years 30          # backfills 30 years first (a long run)
    python3 tasks.py run python bench/ui.py --kept DIR          # a folder `bench/full_year.py --keep` left

Starts the real `dagster dev` on the instance that recorded the backfill (every day a partition
of `raw/flights`, each with its materialisation), then opens in Chromium the pages a user opens
first: the asset graph, `raw/flights`' partitions and its overview, and `marts/fct_flights`. Each
is timed from navigation until its content shows and the network has been idle for 0.5 s (the
UI's first queries answered). Every page is opened ``--repeat`` times: the first is cold.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.history import history_in_data_folder  # noqa: E402
from config.settings import Settings  # noqa: E402
from tests.support import dev_server  # noqa: E402
from tests.support.browser import browser_page, dismiss_welcome  # noqa: E402

# What each page shows once its data is there (the text is the UI's own).
PAGES: dict[str, tuple[str, Callable[[int], str]]] = {
    "asset graph": ("/asset-groups", lambda days: "fct_flights"),
    "raw/flights partitions": ("/assets/raw/flights?view=partitions", lambda days: f"{days:,}"),
    "raw/flights overview": ("/assets/raw/flights", lambda days: "Latest materialization"),
    "marts/fct_flights overview": ("/assets/marts/fct_flights", lambda days: "Latest materialization"),
}
PAGE_TIMEOUT_MS = 300_000  # generous: a busy 2-core machine; a page slower than this is a finding


def backfill_history(workdir: Path, years: int) -> tuple[Path, Path]:
    """Generate ``years`` of history and backfill it in this process into workdir's instance."""
    from cli.backfill import run_backfill
    from instance.local import open_local_instance
    from resources.dbt import ensure_manifest

    history, data_dir = history_in_data_folder(workdir, years)
    ensure_manifest()
    settings = Settings(env="test", data_dir=data_dir, datasets_path=history.datasets_path)
    started = time.perf_counter()
    with open_local_instance(data_dir / "dagster_home") as instance:
        report = run_backfill(settings, instance)
    print(f"backfilled {years} year(s) in {time.perf_counter() - started:.0f} s: success {report.success}")
    return data_dir, history.datasets_path


def partition_count(home: Path) -> int:
    from instance.local import open_local_instance

    with open_local_instance(home) as instance:
        return len(instance.get_dynamic_partitions("days"))


def time_pages(url: str, days: int, repeat: int, shots: Path) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in PAGES}
    with browser_page() as page:
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        page.goto(f"{url}/asset-groups", wait_until="networkidle")
        dismiss_welcome(page)
        for attempt in range(repeat):
            for name, (path, shows) in PAGES.items():
                started = time.perf_counter()
                page.goto(f"{url}{path}", wait_until="networkidle")
                page.get_by_text(shows(days)).first.wait_for()
                timings[name].append(time.perf_counter() - started)
                if attempt == 0:
                    page.screenshot(path=shots / f"{name.replace('/', '_').replace(' ', '_')}.png")
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--years", type=int, default=30, help="years of history to backfill first (default 30)")
    parser.add_argument("--kept", type=Path, help="a pipeline folder kept by bench/full_year.py --keep (its file/)")
    parser.add_argument("--repeat", type=int, default=3, help="times each page is opened (default 3)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    workdir = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    if args.kept:
        data_dir, datasets_path = args.kept, args.kept.parent / "source" / "datasets.yaml"
    else:
        data_dir, datasets_path = backfill_history(workdir, args.years)
    days = partition_count(data_dir / "dagster_home")
    settings = Settings(env="test", data_dir=data_dir, datasets_path=datasets_path)
    print(f"{days:,} day partitions; starting dagster dev")
    with dev_server.dagster_dev(data_dir, settings, log_name="ui_bench_dagster_dev.log") as server:
        timings = time_pages(server.url, days, args.repeat, workdir)
    print(f"\nseconds until each page has its content ({days:,} partitions; first open, then median of the rest):")
    for name, seconds in timings.items():
        rest = statistics.median(seconds[1:]) if len(seconds) > 1 else float("nan")
        print(f"  {name:30}{seconds[0]:8.1f}{rest:8.1f}")
    print(f"screenshots in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
