"""One load of a dataset's partitions, end to end: find the files, archive, ingest, commit, clean up.

The order is what makes a crash at any point harmless (the landing sensor re-requests a file that
is still in landing once its run has failed):

1. copy each landed file into the archive under its final name (rows will name that copy);
2. read, cast and validate (ingestion/pipeline.py), then commit raw rows, quarantine and the load
   log in one transaction (ingestion/storage.py);
3. remove the landed file, unless a new delivery replaced it meanwhile.

Killed after 1, the archived copy is reused by the next attempt; killed after 2, the next attempt
replaces the same partitions with the same rows and the load log keeps one row per delivery.
No Dagster here: the asset turns the outcome into events, and the CLI and tests call it directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from config.datasets import DatasetConfig
from ingestion.landing import (
    LandedFile,
    MissingFileError,
    archive_path,
    copy_to_archive,
    locate_partition_file,
    remove_from_landing,
)
from ingestion.pipeline import Delivery, FileIngestion, ingest_files
from ingestion.storage import commit_results, raw_table
from ingestion.volume import VolumePolicy, volume_report

Writer = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


@dataclass
class LoadOutcome:
    """What a load did: one result per file read, and the partitions it could not even start."""

    results: list[FileIngestion] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # no file for the partition (message names the path)
    invalid_keys: list[str] = field(default_factory=list)  # partition keys that are not a valid day
    volume: pl.DataFrame | None = None  # daily datasets: the loaded days' row counts against history


def load_partitions(
    dataset: DatasetConfig,
    partition_keys: Sequence[str | None],
    landing_root: Path,
    archive_root: Path,
    writer: Writer,
    run_id: str,
    today: date | None = None,
) -> LoadOutcome:
    """Load ``partition_keys`` of ``dataset`` (``[None]`` for reference data); never raises for bad data."""
    today = today or datetime.now(UTC).date()
    outcome = LoadOutcome()
    loaded_at = datetime.now(UTC)
    deliveries: list[Delivery] = []
    delivered: list[tuple[LandedFile, Path, tuple[int, int]]] = []  # landed file, archived copy, (size, mtime)
    for key in partition_keys:
        problem = dataset.partition_key_problem(key, today) if key is not None else None
        if problem:
            # Junk added by hand (UI or API) must not sink a backfill over every partition.
            outcome.invalid_keys.append(f"{dataset.name}: {problem}; skipped")
            continue
        try:
            landed = locate_partition_file(landing_root, archive_root, dataset, key)
        except MissingFileError as error:
            outcome.missing.append(str(error))
            continue
        stat = landed.path.stat()
        archived = copy_to_archive(landed, archive_path(archive_root, landed, loaded_at))
        # Rows are read from the archived copy: exactly the bytes their _source_file names.
        deliveries.append(
            Delivery(LandedFile(landed.dataset, archived, key), archived.relative_to(archive_root).as_posix())
        )
        if landed.path != archived:
            delivered.append((landed, archived, (stat.st_size, stat.st_mtime_ns)))
    outcome.results = ingest_files(dataset, deliveries, loaded_at, run_id)
    with writer() as connection:
        commit_results(connection, dataset, outcome.results)
        outcome.volume = _volume_report(connection, dataset, outcome.results)
    for landed, archived, as_archived in delivered:
        remove_from_landing(landed, archived, as_archived)
    return outcome


def _volume_report(
    connection: duckdb.DuckDBPyConnection, dataset: DatasetConfig, results: Sequence[FileIngestion]
) -> pl.DataFrame | None:
    """Row counts of the days just loaded against their history, or None for reference data."""
    loaded = [
        date.fromisoformat(r.landed.partition_key) for r in results if r.loaded is not None and r.landed.partition_key
    ]
    if dataset.kind != "daily" or not loaded:
        return None
    counts = connection.sql(
        f"SELECT _partition_date AS day, count(*) AS rows FROM {raw_table(dataset)} GROUP BY ALL"
    ).pl()
    return volume_report(counts, loaded, VolumePolicy(max_ratio=dataset.volume.max_ratio))
