"""One load of a dataset's partitions, end to end: find the files, archive, ingest, commit, clean up.

The files are taken in batches of about ``batch_bytes`` (DATAOPS_LOAD_BATCH_MB, through the asset), and
each batch goes through the whole cycle, its commit overlapping the next batch's reading only, so a
load's memory follows the batch (two at most), never the range: thirty years of daily files cost
what one batch costs, thirty times over. Each batch:

1. copies each landed file into the archive under its final name (rows will name that copy);
2. reads, casts and validates (ingestion/pipeline.py), then commits raw rows, quarantine and the
   load log in one transaction (ingestion/storage.py);
3. removes the landed files, unless a new delivery replaced one meanwhile;
4. keeps only a summary of what it did (ingestion/summary.py) and drops its rows.

That order is what makes a crash at any point harmless (the landing sensor re-requests a file that
is still in landing once its run has failed): killed after 1, the archived copy is reused by the
next attempt; killed after 2, the next attempt replaces the same partitions with the same rows and
the load log keeps one row per delivery. A day is always all there or not at all; batches already
committed stay committed, and doing them again changes nothing.
No Dagster here: the asset turns the outcome into events, and the CLI and tests call it directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from config.datasets import DatasetConfig
from config.settings import DEFAULT_LOAD_BATCH_MB
from ingestion.completeness import MAX_MANIFEST_BYTES
from ingestion.landing import (
    LandedFile,
    MissingFileError,
    archive_path,
    archived_deliveries,
    copy_to_archive,
    locate_partition_file,
    manifest_of,
    remove_from_landing,
)
from ingestion.lineage import PARTITION_DATE
from ingestion.pipeline import Delivery, FileIngestion, Severity, ingest_files
from ingestion.storage import commit_results
from ingestion.summary import FileReport, LoadSummary
from ingestion.trust import UntrustedEntryError, open_landed
from ingestion.volume import VolumePolicy, volume_report
from warehouse.layout import raw_table

Writer = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
Progress = Callable[[Sequence[FileReport]], None]
DEFAULT_BATCH_BYTES = DEFAULT_LOAD_BATCH_MB * 1024 * 1024


# How many problems, files or partitions a load's message, metadata or log names; the rest are
# counted. A backfill over thirty years has ~11,000 files, and Dagster copies a ranged run's
# metadata into every partition's event.
LISTED = 20


@dataclass
class LoadOutcome:
    """What a load did: a summary of every file read, and the partitions it could not even start."""

    partitions: int = 0  # partition keys asked for ([None] for reference data counts one)
    summary: LoadSummary = field(default_factory=LoadSummary)
    missing: list[str] = field(default_factory=list)  # no file for the partition (message names the path)
    # Landed entries not read (a link, a FIFO, ...: ingestion/trust.py), each with why; the landing
    # sensor moves them to rejected/.
    untrusted: list[str] = field(default_factory=list)
    invalid_keys: list[str] = field(default_factory=list)  # partition keys that are not a valid day
    volume: pl.DataFrame | None = None  # daily datasets: the loaded days' row counts against history
    volume_unread: str | None = None  # why the history could not be read for that, after the commit

    @property
    def refused(self) -> list[FileReport]:
        """Files of which nothing was loaded (ERROR: unreadable, wrong columns, over the reject threshold)."""
        return [report for report in self.summary.files if report.severity is Severity.ERROR]

    @property
    def complete(self) -> bool:
        """Every partition asked for loaded (its rejected records, if any, in quarantine)."""
        return not self.refused and not self.missing and not self.untrusted and not self.invalid_keys

    @property
    def loaded(self) -> list[FileReport]:
        """The files whose partitions were loaded."""
        return [report for report in self.summary.files if report.severity is not Severity.ERROR]

    def problems(self) -> list[str]:
        """Why partitions were not loaded: each refused file's problems, and each missing file."""
        return [problem for report in self.refused for problem in report.problems] + self.missing + self.untrusted

    def failure(self, dataset: str) -> str | None:
        """The load's failure, in one message naming the files and why; None when no file was refused or
        missing (junk partition keys alone are skipped, not a failure)."""
        if not self.refused and not self.missing and not self.untrusted:
            return None
        reasons = self.problems()
        more = f" | ... and {len(reasons) - LISTED} more (the validation check lists them)"
        failed = len(self.refused) + len(self.missing) + len(self.untrusted)
        return (
            f"{dataset}: {failed} of {self.partitions} partition(s) not loaded: "
            + " | ".join(reasons[:LISTED])
            + (more if len(reasons) > LISTED else "")
        )


def load_partitions(
    dataset: DatasetConfig,
    partition_keys: Sequence[str | None],
    landing_root: Path,
    archive_root: Path,
    writer: Writer,
    run_id: str,
    today: date | None = None,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    progress: Progress | None = None,
) -> LoadOutcome:
    """Load ``partition_keys`` of ``dataset`` (``[None]`` for reference data); never raises for bad data.

    ``progress`` hears each batch's file reports once the batch is committed (the run log's lines).
    """
    today = today or datetime.now(UTC).date()
    outcome = LoadOutcome(partitions=len(partition_keys))
    loaded_at = datetime.now(UTC)
    located: list[LandedFile] = []
    for key in partition_keys:
        problem = dataset.partition_key_problem(key, today) if key is not None else None
        if problem:
            # Junk added by hand (UI or API) must not sink a backfill over every partition.
            outcome.invalid_keys.append(f"{dataset.name}: {problem}; skipped")
            continue
        try:
            located.append(locate_partition_file(landing_root, archive_root, dataset, key))
        except MissingFileError as error:
            outcome.missing.append(str(error))
    # Batch n+1 is archived and ingested while batch n commits (DuckDB works outside the GIL), so
    # reading and committing overlap. One commit at a time, in batch order, so at most two batches
    # are in memory and a crash leaves what the order says.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"commit-{dataset.name}") as committer:
        committing: Future[list[FileIngestion]] | None = None
        for batch in batches(located, batch_bytes):
            ingested = _archive_and_ingest(dataset, batch, landing_root, archive_root, loaded_at, run_id)
            outcome.untrusted += ingested.untrusted
            if committing is not None:
                _committed(committing.result(), outcome.summary, progress)
            committing = committer.submit(_commit_batch, dataset, ingested, writer)
        if committing is not None:
            _committed(committing.result(), outcome.summary, progress)
    try:
        outcome.volume = _volume_report(writer, dataset, outcome.summary.files)
    except Exception as error:  # the rows are committed: a report must not fail the load that committed them
        outcome.volume_unread = f"{type(error).__name__}: {error}"
    return outcome


def batches(files: Sequence[LandedFile], batch_bytes: int) -> Iterator[list[LandedFile]]:
    """``files`` in order, in batches of about ``batch_bytes`` (a larger file is a batch of its own)."""
    batch: list[LandedFile] = []
    size = 0
    for landed in files:
        file_size = landed.path.lstat().st_size  # the entry itself: a link is refused, not measured
        if batch and size + file_size > batch_bytes:
            yield batch
            batch, size = [], 0
        batch.append(landed)
        size += file_size
    if batch:
        yield batch


@dataclass
class IngestedBatch:
    """A batch read and judged, waiting for its commit: its results, and the landed files to remove
    once committed, each with its archived copy and (size, modification time) when archived."""

    results: list[FileIngestion]
    delivered: list[tuple[LandedFile, Path, tuple[int, int]]]
    untrusted: list[str]


def _archive_and_ingest(
    dataset: DatasetConfig,
    batch: Sequence[LandedFile],
    landing_root: Path,
    archive_root: Path,
    loaded_at: datetime,
    run_id: str,
) -> IngestedBatch:
    """Archive and ingest one batch (steps 1-2 above, before the commit).

    A landed file is read only through ``open_landed`` (ingestion/trust.py); an entry it refuses is
    not read at all, and is reported instead.
    """
    deliveries: list[Delivery] = []
    delivered: list[tuple[LandedFile, Path, tuple[int, int]]] = []
    untrusted: list[str] = []
    replays: set[int] = set()  # indexes of deliveries reloaded from the archive, not newly landed
    for landed in batch:
        target = archive_path(archive_root, landed, loaded_at)
        if landed.path == target:  # a replay of an archived delivery, the project's own copy
            replays.add(len(deliveries))
            archived = target
        else:
            try:
                with open_landed(landed.path, landing_root) as source:
                    status = os.fstat(source.fileno())
                    archived = copy_to_archive(landed, source, target)
                manifest = (
                    _archive_manifest(landed, archived, landing_root) if dataset.completeness.rule == "manifest" else []
                )
            except UntrustedEntryError as refused:
                untrusted.append(
                    f"{landed.path.relative_to(landing_root)}: not read, {refused}; the landing sensor moves it to "
                    "rejected/"
                )
                continue
            # The file leaves landing before its manifest: a manifest alone is ignored, a file
            # alone would wait for its manifest.
            delivered += [(landed, archived, (status.st_size, status.st_mtime_ns)), *manifest]
        # Rows are read from the archived copy: exactly the bytes their _source_file names.
        copy = LandedFile(landed.dataset, archived, landed.partition_key)
        deliveries.append(Delivery(copy, archived.relative_to(archive_root).as_posix()))
    results = ingest_files(dataset, deliveries, loaded_at, run_id) if deliveries else []
    for index, result in enumerate(results):
        if result.severity is Severity.ERROR and index in replays:
            results[index] = _newest_that_passes(dataset, result, archive_root, loaded_at, run_id)
    return IngestedBatch(results, delivered, untrusted)


def _archive_manifest(
    landed: LandedFile, archived: Path, landing_root: Path
) -> list[tuple[LandedFile, Path, tuple[int, int]]]:
    """Keep a delivery's sidecar manifest beside its archived copy (read through the trust boundary,
    like the file); what to remove from landing once committed. None landed: the read refuses it."""
    sidecar = manifest_of(landed.path)
    target = manifest_of(archived)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open_landed(sidecar, landing_root) as source:
            status = os.fstat(source.fileno())
            try:
                partial.write_bytes(source.read(MAX_MANIFEST_BYTES + 1))
                partial.replace(target)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
    except FileNotFoundError:
        target.unlink(missing_ok=True)  # not an older delivery's manifest: this one has none
        return []
    except UntrustedEntryError as refused:
        raise UntrustedEntryError(f"its manifest {sidecar.name} may not be read: {refused}") from None
    return [(LandedFile(landed.dataset, sidecar, landed.partition_key), target, (status.st_size, status.st_mtime_ns))]


def _newest_that_passes(
    dataset: DatasetConfig, refused: FileIngestion, archive_root: Path, loaded_at: datetime, run_id: str
) -> FileIngestion:
    """A reload whose newest archived delivery is refused (cut short, unreadable, or no longer passing
    the contract) loads the newest earlier delivery that passes, checked again now: a refused
    delivery never replaces one that loaded. With none, the refusal stands."""
    for older in archived_deliveries(archive_root, dataset, refused.landed.partition_key)[1:]:
        copy = LandedFile(dataset.name, older, refused.landed.partition_key)
        [result] = ingest_files(
            dataset, [Delivery(copy, older.relative_to(archive_root).as_posix())], loaded_at, run_id
        )
        if result.severity is not Severity.ERROR:
            result.problems.insert(
                0,
                f"{refused.source_file} is refused ({'; '.join(refused.problems[:1])}): loaded the newest earlier "
                f"delivery that passes, {result.source_file}",
            )
            return result
    return refused


def _commit_batch(dataset: DatasetConfig, batch: IngestedBatch, writer: Writer) -> list[FileIngestion]:
    """Commit one ingested batch and clean up its landed files (steps 2-3 above); returns its results."""
    with writer() as connection:
        commit_results(connection, dataset, batch.results)
    for landed, archived, as_archived in batch.delivered:
        remove_from_landing(landed, archived, as_archived)
    return batch.results


def _committed(results: list[FileIngestion], summary: LoadSummary, progress: Progress | None) -> None:
    """Keep a committed batch's summary (step 4 above) and report its files."""
    reports = summary.add(results)
    if progress is not None:
        progress(reports)


def _volume_report(writer: Writer, dataset: DatasetConfig, files: Sequence[FileReport]) -> pl.DataFrame | None:
    """Row counts of the days just loaded against their history, or None for reference data.

    Only the history the rules look at is read (VolumePolicy.lookback_days before the first day),
    and only when there is something to compare: opening a lake session is not free.
    """
    loaded = sorted({date.fromisoformat(f.partition_key) for f in files if f.rows_loaded and f.partition_key})
    if dataset.kind != "daily" or not loaded:
        return None
    policy = VolumePolicy(min_share=dataset.volume.min_share, max_ratio=dataset.volume.max_ratio)
    with writer() as connection:
        counts = connection.execute(
            f"SELECT {PARTITION_DATE} AS day, count(*) AS rows FROM {raw_table(dataset.name)}"
            f" WHERE {PARTITION_DATE} BETWEEN ? AND ? GROUP BY ALL",
            [loaded[0] - timedelta(days=policy.lookback_days), loaded[-1]],
        ).pl()
    return volume_report(counts, loaded, policy)
