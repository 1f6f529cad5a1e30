"""`replay`: deliver days of the real 2013 data into the landing zone, as a live feed would.

    replay --days 7                       the next 7 days not yet delivered (from 2013-01-01)
    replay --from 2013-03-01 --to 2013-03-31
    replay --reference                    (re)deliver airlines, airports and planes
    replay --seed                         reference data + the first days, only if nothing landed yet

Files follow the landing contract: written under a hidden temporary name, then renamed, so a
watcher never sees half a file. Days already delivered (in landing or archive) are skipped by
--days, so repeated calls continue the stream; --from/--to always redeliver.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from config.datasets import DatasetConfig, load_datasets
from config.settings import Settings, exits_on_settings_error, get_settings
from demo.nycflights import day_csv, demo_days, fed, source_bytes
from ingestion.landing import dataset_landing_dir, landed_days, manifest_of, write_atomically


def next_days(datasets: dict[str, DatasetConfig], already: set[date], count: int) -> list[date]:
    (day, last), days = demo_days(datasets), []
    while len(days) < count and day <= last:
        if day not in already:
            days.append(day)
        day += timedelta(days=1)
    return days


Delivery = tuple[Path, bytes]  # where a file lands, and its content


def as_fed(dataset: DatasetConfig, target: Path, data: bytes) -> list[Delivery]:
    """A file as its feed marks it whole (the dataset's completeness rule): with a trailer record,
    or after its sidecar manifest; by default as it is."""
    rule = dataset.completeness
    if rule.rule == "last_record":
        return [(target, data)]
    records = pl.read_csv(data, infer_schema=False).height
    if rule.rule == "trailer":
        return [(target, data + f"{rule.trailer_prefix},{records}\n".encode())]
    manifest = {"rows": records, "sha256": hashlib.sha256(data).hexdigest()}
    return [(manifest_of(target), json.dumps(manifest).encode()), (target, data)]


def day_deliveries(settings: Settings, datasets: dict[str, DatasetConfig], days: Iterable[date]) -> list[Delivery]:
    deliveries = []
    for day in days:
        for dataset in fed(datasets, "daily"):
            data = day_csv(dataset.name, day)
            # The real weather feed has no observations for 2013-12-31: a day with no rows is not
            # delivered at all, as a feed would not send an empty file.
            if data.count(b"\n") > 1:
                target = dataset_landing_dir(settings.landing, dataset.name) / dataset.file_name_for(day)
                deliveries += as_fed(dataset, target, data)
    return deliveries


def reference_deliveries(settings: Settings, datasets: dict[str, DatasetConfig]) -> list[Delivery]:
    deliveries = []
    for dataset in fed(datasets, "reference"):
        target = dataset_landing_dir(settings.landing, dataset.name) / dataset.file_name_for()
        deliveries += as_fed(dataset, target, source_bytes(dataset.name))
    return deliveries


def land(deliveries: Sequence[Delivery]) -> list[Path]:
    """Land files all made beforehand together, as a feed delivers a batch.

    Making a file reads the demo data (seconds on a busy machine). Landed one by one as they were
    made, the landing sensor could take a day's flights before its weather had come, or the
    reference files alone before the days.
    """
    for target, data in deliveries:
        write_atomically(target, data)
    return [target for target, _ in deliveries]


def anything_delivered(settings: Settings, datasets: dict[str, DatasetConfig]) -> bool:
    return any(
        any(folder.iterdir()) if folder.is_dir() else False
        for root in (settings.landing, settings.archive)
        for folder in (root / name for name in datasets)
    )


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="replay", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--days", type=int, help="deliver the next N days not yet delivered")
    parser.add_argument("--from", dest="start", type=date.fromisoformat, help="first day to deliver (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, help="last day to deliver (YYYY-MM-DD)")
    parser.add_argument("--reference", action="store_true", help="also deliver airlines, airports and planes")
    parser.add_argument("--seed", action="store_true", help="reference data + the first days, if nothing landed")
    args = parser.parse_args(argv)
    if args.days is not None and (args.start or args.end):
        parser.error("use either --days or --from/--to")
    if (args.start is None) != (args.end is None):
        parser.error("--from and --to go together")
    if args.start and args.start > args.end:
        parser.error("--from must not be after --to")
    if args.days is not None and args.days < 1:
        parser.error("--days must be at least 1")
    if not (args.days or args.start or args.reference or args.seed):
        parser.error("nothing to do: give --days, --from/--to, --reference or --seed")
    return args


@exits_on_settings_error
def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    args = _parse_args(argv)
    settings = settings or get_settings()
    datasets = load_datasets(settings.datasets_path)
    if args.start:  # the demo's bounds read its whole data: only where a range must be checked
        first, last = demo_days(datasets)
        if not (first <= args.start and args.end <= last):
            sys.exit(f"replay: --from/--to must be within {first} .. {last}, the days of the demo data")
    deliveries: list[Delivery] = []
    if args.seed:
        if anything_delivered(settings, datasets):
            print(f"replay --seed: data already delivered under {settings.data_dir}; nothing to do")
            return 0
        deliveries += reference_deliveries(settings, datasets)
        deliveries += day_deliveries(settings, datasets, next_days(datasets, set(), settings.seed_days))
    if args.reference:
        deliveries += reference_deliveries(settings, datasets)
    if args.days:
        # A day counts as delivered once the first daily dataset's file for it was.
        [first_daily, *_] = fed(datasets, "daily")
        already = {date.fromisoformat(day) for day in landed_days(settings.landing, settings.archive, first_daily)}
        deliveries += day_deliveries(settings, datasets, next_days(datasets, already, args.days))
    if args.start:
        span = (args.end - args.start).days + 1
        deliveries += day_deliveries(settings, datasets, (args.start + timedelta(days=n) for n in range(span)))
    written = land(deliveries)
    for path in written:
        print(f"landed {path.relative_to(settings.landing)}")
    print(f"replay: {len(written)} file(s) delivered to {settings.landing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
