"""`backfill`: load landed days and rebuild everything downstream, in this process, now.

    backfill                          every day that has landed (landing zone or archive)
    backfill --from 2013-01-01 --to 2013-03-31
    backfill --dataset orders         only these datasets' files (after a change of their contract)

No daemon needed: reference data is loaded in one run, the daily datasets in one single-run range
per run of days they share (as the landing sensor would start them), then dbt and the analytics in
one run. Runs are recorded in the Dagster instance of DAGSTER_HOME (an ephemeral one if unset).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg

from assets.partitions import DAYS
from cli.instance import instance_or_none
from config.datasets import DatasetConfig, load_datasets
from config.settings import Settings, exits_on_settings_error, get_settings
from ingestion.days import day_problem, group_loads, partition_changes
from ingestion.landing import landed_days
from jobs.landing import RANGE_END_TAG, RANGE_START_TAG, ingest_job_for, refresh_targets
from resources.dbt import ensure_manifest


@dataclass
class BackfillReport:
    results: dict[str, dg.ExecuteInProcessResult] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return all(result.success for result in self.results.values())


def register_days(
    instance: dg.DagsterInstance, datasets: Mapping[str, DatasetConfig], days: Iterable[str], today: date
) -> list[str]:
    """Add the days that are not partitions yet, keeping the date order (as the landing sensor does)."""
    changes = partition_changes(instance.get_dynamic_partitions(DAYS.name), days, day_problem(datasets, today))
    for key in changes.remove:
        instance.delete_dynamic_partition(DAYS.name, key)
    if changes.add:
        instance.add_dynamic_partitions(DAYS.name, changes.add)
    return changes.order


def run_backfill(
    settings: Settings,
    instance: dg.DagsterInstance,
    start: date | None = None,
    end: date | None = None,
    defs: dg.Definitions | None = None,
    only: Sequence[str] = (),
) -> BackfillReport:
    """Load the landed days (of the datasets in ``only``, else of all), then build downstream."""
    from definitions import build_definitions  # the code location; imported when used, not at start-up

    defs = defs or build_definitions(settings)
    datasets: Mapping[str, DatasetConfig] = load_datasets(settings.datasets_path)
    loaded = {name: dataset for name, dataset in datasets.items() if not only or name in only}
    report = BackfillReport()

    def load(names: Sequence[str], label: str, tags: Mapping[str, str] | None = None) -> None:
        # Through the ingest job, narrowed as the landing sensor's run of these datasets is.
        job = ingest_job_for(defs, [datasets[name] for name in names])
        tags = {**(tags or {}), "datasets": ",".join(names)}
        report.results[label] = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)

    reference = [name for name, dataset in loaded.items() if dataset.kind == "reference"]
    if reference:
        load(reference, "reference")
    days = {
        name: [
            day
            for day in landed_days(settings.landing, settings.archive, dataset)
            if (start is None or day >= start.isoformat()) and (end is None or day <= end.isoformat())
        ]
        for name, dataset in loaded.items()
        if dataset.kind == "daily"
    }
    landed = (day for dataset_days in days.values() for day in dataset_days)
    order = register_days(instance, datasets, landed, datetime.now(UTC).date())
    # A day outside the datasets' bounds is no partition: the landing sensor rejects its file.
    days = {name: [day for day in dataset_days if day in order] for name, dataset_days in days.items()}
    for names, segment in group_loads(order, days):
        load(
            names,
            f"{'+'.join(names)} {segment[0]}..{segment[-1]}",
            {RANGE_START_TAG: segment[0], RANGE_END_TAG: segment[-1]},
        )
    report.results["downstream"] = dg.materialize(
        list(defs.assets or []),
        selection=refresh_targets(defs.assets or [], datasets).selection,
        instance=instance,
        resources=defs.resources,
        raise_on_error=False,
    )
    return report


@exits_on_settings_error
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="backfill", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--from", dest="start", type=date.fromisoformat, help="first day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, help="last day (YYYY-MM-DD)")
    parser.add_argument(
        "--dataset", dest="datasets", action="append", default=[], help="load only this dataset (repeatable)"
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    known = load_datasets(settings.datasets_path, check_schemas=False)  # the names only: the run checks the rest
    unknown = sorted(set(args.datasets) - set(known))
    if unknown:
        parser.error(f"no dataset {', '.join(unknown)} in {settings.datasets_path} (it has {', '.join(known)})")
    instance = instance_or_none(settings)
    if instance is None:
        print("backfill: DAGSTER_HOME is not set; runs are not kept after this command")
        instance = dg.DagsterInstance.ephemeral()
    # The dbt assets are built from the manifest: on a fresh clone nothing has parsed the project yet.
    ensure_manifest()
    with instance:
        report = run_backfill(settings, instance, args.start, args.end, only=args.datasets)
    for label, result in report.results.items():
        print(f"{'ok    ' if result.success else 'FAILED'} {label} (run {result.run_id})")
    return 0 if report.success else 1


if __name__ == "__main__":
    sys.exit(main())
