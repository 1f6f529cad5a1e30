"""The landing zone and the archive: which file belongs to which dataset and partition.

Layout (both roots come from settings)::

    <landing>/<dataset>/<file>                     files waiting to be ingested
    <archive>/<dataset>/<partition>/<stamp>__<file> every file ingested (each partition's newest is
                                                    kept forever; older deliveries until the
                                                    lifecycle's retention, operations/lifecycle.py)

    <rejected>/<dataset>/<stamp>__<file>           files that cannot be loaded, each with a
    <rejected>/<dataset>/<stamp>__<file>.reason.txt  note of why (ingestion/rejection.py)

Landing is an inbox. A load copies the file into the archive first, under its final name, then
commits its rows (which name that archived copy), then removes it from landing: a crash at any
point leaves the file in landing and the load is simply done again, reusing the archived copy
(the newest of that name, with the same bytes). The archive is the replay
source: re-materialising a partition whose file already left the inbox reads the newest archived
delivery, so a re-run reproduces the same rows.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

from config.datasets import DatasetConfig

# Partition folder name in the archive for reference datasets, which are not partitioned.
REFERENCE_PARTITION = "reference"
# An archived file's name: the load time (UTC, sorts in load order), the separator, the original name.
ARCHIVE_STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
ARCHIVE_SEPARATOR = "__"
# Files being written under the landing contract carry one of these; they are never picked up.
IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")
COPY_CHUNK_BYTES = 1 << 20
# A delivery's sidecar manifest, for datasets whose completeness rule asks for one
# (ingestion/completeness.py): the file's name plus this.
MANIFEST_SUFFIX = ".manifest.json"


class MissingFileError(FileNotFoundError):
    """No landed or archived file exists for a requested partition."""


@dataclass(frozen=True)
class LandedFile:
    """A file matched to its dataset, with the partition its name names (None for reference data)."""

    dataset: str
    path: Path
    partition_key: str | None

    @property
    def partition_folder(self) -> str:
        return self.partition_key or REFERENCE_PARTITION

    @property
    def name(self) -> str:
        """The file's name as delivered (an archived copy's name without its stamp): what messages say."""
        archived = parse_archived_name(self.path.name)
        return archived[1] if archived else self.path.name


@dataclass(frozen=True)
class UnmatchedFile:
    """A file that cannot be ingested, and why (shown in the sensor log, never raised)."""

    path: Path
    reason: str


def manifest_of(path: Path) -> Path:
    """The sidecar manifest of a data file, landed or archived."""
    return path.with_name(path.name + MANIFEST_SUFFIX)


def is_manifest(path: Path) -> bool:
    return path.name.endswith(MANIFEST_SUFFIX)


def data_file_of(manifest: Path) -> Path:
    """The data file a sidecar manifest goes with (the inverse of ``manifest_of``)."""
    return manifest.with_name(manifest.name.removesuffix(MANIFEST_SUFFIX))


def write_atomically(target: Path, data: bytes) -> Path:
    """Deliver ``data`` as the landing contract asks: under a hidden temporary name in the same
    folder first, then renamed, so no reader ever sees half a file. Returns ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(target)
    return target


def dataset_landing_dir(landing_root: Path, dataset_name: str) -> Path:
    return landing_root / dataset_name


def match_file(dataset: DatasetConfig, path: Path, today: date | None = None) -> LandedFile | UnmatchedFile:
    """Map a file in ``dataset``'s landing folder to its partition, or say why it cannot be.

    With ``today``, a day outside the dataset's date bounds (config) cannot be a partition either.
    """
    name = path.name
    if name.startswith(".") or name.endswith(IN_PROGRESS_SUFFIXES):
        return UnmatchedFile(path, "still being written (hidden or temporary name); waiting for the rename")
    found = dataset.file_regex.match(name)
    if found is None:
        return UnmatchedFile(path, f"name does not match {dataset.name}'s file_pattern {dataset.file_pattern!r}")
    if dataset.kind == "reference":
        return LandedFile(dataset.name, path, None)
    try:
        day = dataset.parse_date(found["date"])
    except ValueError:
        return UnmatchedFile(
            path, f"date {found['date']!r} in the name is not a real date in format {dataset.date_format!r}"
        )
    if today is not None and (problem := dataset.date_problem(day, today)):
        return UnmatchedFile(path, problem)
    return LandedFile(dataset.name, path, day.isoformat())


def scan_landing(landing_root: Path, dataset: DatasetConfig) -> tuple[list[LandedFile], list[UnmatchedFile]]:
    """Every file in the dataset's landing folder, matched or with the reason it is not."""
    folder = dataset_landing_dir(landing_root, dataset.name)
    if not folder.is_dir():
        return [], []
    matched: list[LandedFile] = []
    unmatched: list[UnmatchedFile] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or (dataset.completeness.rule == "manifest" and is_manifest(path)):
            continue  # a manifest goes with its file (ingestion/completeness.py)
        result = match_file(dataset, path)
        (matched if isinstance(result, LandedFile) else unmatched).append(result)
    return matched, unmatched


def landed_days(landing_root: Path, archive_root: Path, dataset: DatasetConfig) -> list[str]:
    """Days of a daily dataset that have a file: waiting in landing, or already in the archive."""
    days = {landed.partition_key for landed in scan_landing(landing_root, dataset)[0] if landed.partition_key}
    archive = archive_root / dataset.name
    if archive.is_dir():
        days |= {folder.name for folder in archive.iterdir() if folder.is_dir() and folder.name != REFERENCE_PARTITION}
    return sorted(days)


def expected_landing_path(landing_root: Path, dataset: DatasetConfig, partition_key: str | None) -> Path:
    day = datetime.strptime(partition_key, "%Y-%m-%d").date() if partition_key else None
    return dataset_landing_dir(landing_root, dataset.name) / dataset.file_name_for(day)


def locate_partition_file(
    landing_root: Path, archive_root: Path, dataset: DatasetConfig, partition_key: str | None
) -> LandedFile:
    """The file to ingest for a partition: a new delivery in landing, else the newest archived one."""
    landed = expected_landing_path(landing_root, dataset, partition_key)
    if os.path.lexists(landed):  # whatever it is: the load judges it (ingestion/trust.py), never skips it
        return LandedFile(dataset.name, landed, partition_key)
    archived = archived_deliveries(archive_root, dataset, partition_key)
    if archived:
        return LandedFile(dataset.name, archived[0], partition_key)
    raise MissingFileError(
        f"no file for {dataset.name} partition {partition_key or '(reference)'}: expected {landed} "
        f"(or an archived copy under {archive_root / dataset.name}). Land the file there (under a "
        "temporary name, then renamed), then materialise again."
    )


def archived_deliveries(archive_root: Path, dataset: DatasetConfig, partition_key: str | None) -> list[Path]:
    """Every archived delivery of a partition, the newest first."""
    name = expected_landing_path(Path(), dataset, partition_key).name
    folder = archive_root / dataset.name / (partition_key or REFERENCE_PARTITION)
    return sorted(folder.glob(f"*{ARCHIVE_SEPARATOR}{name}"), reverse=True)


def archive_path(archive_root: Path, landed: LandedFile, loaded_at: datetime) -> Path:
    """Where ``landed`` is kept once ingested; a file replayed from the archive stays where it is.

    The name carries the load time, so every delivery of the same day is kept side by side and the
    newest sorts last (a delivery's own modification time can lie: copies that preserve it).
    """
    if landed.path.is_relative_to(archive_root):
        return landed.path
    name = f"{stamp(loaded_at)}{ARCHIVE_SEPARATOR}{landed.path.name}"
    return archive_root / landed.dataset / landed.partition_folder / name


def stamp(moment: datetime) -> str:
    """A moment as the sortable prefix of archived and rejected file names."""
    return moment.astimezone(UTC).strftime(ARCHIVE_STAMP_FORMAT)


def sha256_of(handle: BinaryIO) -> str:
    """The SHA-256 of an open file's bytes, from its start; leaves it at its start."""
    digest = hashlib.sha256()
    handle.seek(0)
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def copy_to_archive(landed: LandedFile, source: BinaryIO, target: Path) -> Path:
    """Copy a landed file, open as ``source`` (ingestion/trust.py), into the archive atomically,
    before its rows are committed; return the copy.

    A load done again after a crash finds its copy as the newest archived delivery of that name,
    with the same modification time (the copy keeps it) and bytes, and reuses it: one archived
    file per delivery, whatever the attempts. A re-delivery, even of the same bytes, is a new file.
    """
    status = os.fstat(source.fileno())
    folder, suffix = target.parent, f"{ARCHIVE_SEPARATOR}{landed.path.name}"
    # One listing of the day's folder (not two globs, paid for every file of a backfill): the name's
    # earlier deliveries, and the copies a killed attempt left half-written.
    names = _listing(folder)
    earlier = sorted(name for name in names if name.endswith(suffix) and not name.startswith("."))
    if earlier and _same_delivery(folder / earlier[-1], source, status):
        return folder / earlier[-1]
    folder.mkdir(parents=True, exist_ok=True)
    for stale in (name for name in names if name.startswith(".") and name.endswith(f"{suffix}.partial")):
        (folder / stale).unlink(missing_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    source.seek(0)
    try:
        with partial.open("wb") as copy:
            shutil.copyfileobj(source, copy, COPY_CHUNK_BYTES)
        os.utime(partial, ns=(status.st_atime_ns, status.st_mtime_ns))
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)  # a full disk leaves no half copy behind
        raise
    source.seek(0)
    return target


def _listing(folder: Path) -> list[str]:
    """The names in ``folder``; none if it does not exist yet."""
    try:
        return [path.name for path in folder.iterdir()]
    except FileNotFoundError:
        return []


def _same_delivery(archived: Path, source: BinaryIO, status: os.stat_result) -> bool:
    kept = archived.stat()
    if (kept.st_size, kept.st_mtime_ns) != (status.st_size, status.st_mtime_ns):
        return False
    with archived.open("rb") as handle:
        return sha256_of(handle) == sha256_of(source)


def remove_from_landing(landed: LandedFile, target: Path, delivered: tuple[int, int]) -> bool:
    """Remove an ingested file from landing, unless it was replaced meanwhile (a new delivery stays).

    ``delivered`` is the file's (size, modification time) when it was archived.
    """
    if landed.path == target:
        return False
    try:
        stat = landed.path.lstat()  # the entry itself: whatever replaced it is not followed
        if (stat.st_size, stat.st_mtime_ns) != delivered:
            return False
        landed.path.unlink()
    except FileNotFoundError:
        return False
    return True


def parse_archived_name(name: str) -> tuple[datetime, str] | None:
    """(load time, original file name) of an archived file's name; None for a name the archive never gives."""
    stamp, separator, original = name.partition(ARCHIVE_SEPARATOR)
    if not separator:
        return None
    try:
        return datetime.strptime(stamp, ARCHIVE_STAMP_FORMAT).replace(tzinfo=UTC), original
    except ValueError:
        return None
