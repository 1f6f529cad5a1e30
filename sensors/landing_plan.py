"""What the landing sensor should do on a tick: pure, so every case is testable on a temp folder.

A file in the landing zone is always in one of three states, and the plan says which:

- **loading**: a run was requested for it (by size and modification and change time) and has not
  ended. A run that ended while the file is still here did not load it (a load leaves landing only
  after its commit): the file is requested again, up to ``MAX_ATTEMPTS`` requests with a growing
  pause, so a worker killed mid-load, or a run failed by run monitoring, is simply done again.
  (Dagster's run retries may re-execute each requested run once more on top of that.)
- **waiting**, with a reason: still being written, not settled yet, or its run not started yet.
- **rejected**: it cannot be loaded (a name no dataset uses, a date that does not exist or is out
  of the dataset's bounds, a run canceled, or ``MAX_ATTEMPTS`` failed runs). The sensor moves it to
  the rejected folder with a note of why and raises an alert (ingestion/rejection.py).

Landing contract: write under a hidden or temporary name (``.name``, ``*.tmp``, ``*.part``) and
rename when complete; a file is also only taken once it has not changed for ``settle_seconds``,
so a writer that does not rename is not read half-written either.

The days of the daily datasets are one set of dynamic partitions, kept in date order: Dagster lists
dynamic partitions (and forms ranges) in the order they were added, so a late day is added by
re-adding the days after it. Keys that are not days of any daily dataset (typed into the UI or
the API) are removed, and said.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

from config.datasets import DatasetConfig
from ingestion.days import day_problem, group_loads, partition_changes
from ingestion.landing import (
    IN_PROGRESS_SUFFIXES,
    LandedFile,
    UnmatchedFile,
    data_file_of,
    is_manifest,
    manifest_of,
    match_file,
)
from ingestion.trust import entry_problem, path_problem

# One second without a change: enough for a copy in progress to show (its mtime keeps moving),
# short enough that a file renamed into place is usually taken on the first tick that sees it.
DEFAULT_SETTLE_SECONDS = 1.0
# Runs a file may take before it is rejected: the first, and two more after a run that ended without
# loading it (a worker killed, a lock held past every retry). A bad file never needs them: its run
# archives it and quarantines its records, so it has left landing when the run ends.
MAX_ATTEMPTS = 3
# A requested run that does not exist after this long was never created (the daemon stopped
# between the tick and the launch): the file is requested again.
LAUNCH_GRACE_SECONDS = 300.0
# After a run ended without loading its files, the next attempt waits this long times the attempts
# so far: a transient cause (a reader holding the warehouse, a code server restarting) gets minutes
# to clear, not the seconds three immediate attempts would take.
RETRY_BACKOFF_SECONDS = 60.0


class RunState(StrEnum):
    """What the sensor needs to know of a requested run (from the instance, by its run key)."""

    IN_PROGRESS = "in progress"  # queued, starting, started, canceling, or failed with a retry coming
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELED = "canceled"


@dataclass(frozen=True)
class RunInfo:
    state: RunState
    ended_at: float | None = None  # epoch seconds, for a run that ended


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    # The inode's change time: a rename or move sets it, even when it keeps the modification time
    # (`mv`, `cp -p`). A rejected file moved back into landing is thus a new delivery, with a new
    # run key (Dagster never launches a run key twice), while a restart sees the same token.
    ctime_ns: int = 0

    @classmethod
    def of(cls, path: Path) -> FileState:
        return cls.of_status(path.lstat())  # the entry itself: a link is judged as a link, never followed

    @classmethod
    def of_status(cls, status: os.stat_result) -> FileState:
        return cls(status.st_size, status.st_mtime_ns, status.st_ctime_ns)

    def token(self) -> str:
        return f"{self.size}:{self.mtime_ns}:{self.ctime_ns}"


@dataclass(frozen=True)
class Request:
    """The run requested for a file: which version of it, under which run key, the how-many-th, when."""

    token: str
    run_key: str
    attempt: int
    at: float


@dataclass
class Cursor:
    requested: dict[str, Request] = field(default_factory=dict)  # landing-relative path -> its request
    reported: dict[str, str] = field(default_factory=dict)  # files rejected, by token: said (and alerted) once

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        data = json.loads(text)
        requested = {
            path: Request(**entry)
            for path, entry in data.get("requested", {}).items()
            if isinstance(entry, dict)  # a cursor from before requests were tracked: asked again
        }
        return cls(requested=requested, reported=dict(data.get("reported", {})))

    def serialize(self) -> str:
        requested = {path: asdict(request) for path, request in self.requested.items()}
        return json.dumps({"requested": requested, "reported": self.reported}, sort_keys=True)


@dataclass(frozen=True)
class PlannedRun:
    """One run: datasets loading the same contiguous range of days, or the reference files of a tick."""

    datasets: tuple[str, ...]
    partition_keys: tuple[str, ...]  # empty for reference data
    files: tuple[str, ...]
    run_key: str
    attempt: int = 1


@dataclass(frozen=True)
class Rejection:
    """A file to move out of landing into the rejected folder, and why."""

    path: Path
    relative: str  # landing-relative path: the rejected folder mirrors it
    dataset: str | None  # the dataset whose folder it landed in, if any
    reason: str


@dataclass
class TickPlan:
    runs: list[PlannedRun] = field(default_factory=list)
    new_partitions: list[str] = field(default_factory=list)  # days to add, in order
    removed_partitions: list[str] = field(default_factory=list)  # keys to delete first (junk, or re-added in order)
    invalid_partitions: list[str] = field(default_factory=list)  # junk keys among them, with the reason
    partition_order: list[str] = field(default_factory=list)  # every day, in order, once the changes apply
    rejections: list[Rejection] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # "<file>: <why>"
    settles_in: float = 0.0  # seconds until the last file still settling has been still long enough
    retries: list[str] = field(default_factory=list)  # files requested again, and why
    cursor: Cursor = field(default_factory=Cursor)

    @property
    def reports(self) -> list[str]:
        """One line per rejected file: '<file>: <reason>'."""
        return [f"{rejection.relative}: {rejection.reason}" for rejection in self.rejections]


@dataclass(frozen=True)
class _Pending:
    landed: LandedFile
    state: FileState
    attempt: int


def _relative(landing_root: Path, path: Path) -> str:
    return path.relative_to(landing_root).as_posix()


def _run_key(datasets: Sequence[str], keys: Sequence[str], tokens: Iterable[str], attempt: int) -> str:
    digest = hashlib.sha256("|".join(sorted(tokens)).encode()).hexdigest()[:16]
    span = f"{keys[0]}..{keys[-1]}" if keys else "reference"
    # The attempt is part of the key: Dagster never launches a run key twice.
    return f"{'+'.join(datasets)}:{span}:{digest}" + (f":attempt{attempt}" if attempt > 1 else "")


def _scan_unknown(landing_root: Path, datasets: Mapping[str, DatasetConfig]) -> list[UnmatchedFile]:
    """Entries that belong to no dataset: at the landing root, in a folder no dataset owns, or a
    dataset's folder that is not a folder of the landing zone (a link to one elsewhere)."""
    if not landing_root.is_dir():
        return []
    unknown = []
    for entry in sorted(landing_root.iterdir()):
        if _in_progress(entry):
            continue
        if entry.is_symlink():
            what = f"the landing folder of {entry.name}" if entry.name in datasets else "an entry at the landing root"
            unknown.append(UnmatchedFile(entry, f"{what} is {path_problem(entry)}"))
        elif entry.is_dir() and entry.name not in datasets:
            reason = f"folder {entry.name!r} is not a dataset in the config ({', '.join(datasets)})"
            unknown += [UnmatchedFile(path, reason) for path in _entries_below(entry)]
        elif not entry.is_dir():
            problem = path_problem(entry)
            where = f"put it in {landing_root}/<dataset>/"
            unknown.append(UnmatchedFile(entry, f"file at the landing root: {where}" if problem is None else problem))
    return unknown


def _entries_below(folder: Path) -> list[Path]:
    """Every entry under ``folder`` that is not a folder, without following links (they are entries)."""
    found = []
    for parent, folders, names in os.walk(folder):  # os.walk never descends into a linked folder
        found += [Path(parent, name) for name in names + [name for name in folders if Path(parent, name).is_symlink()]]
    return sorted(path for path in found if not _in_progress(path))


def _dataset_entries(folder: Path) -> list[Path]:
    """Everything in a dataset's landing folder but names still being written: files and whatever else."""
    return sorted(path for path in folder.iterdir() if not _in_progress(path))


def _in_progress(path: Path) -> bool:
    return path.name.startswith(".") or path.name.endswith(IN_PROGRESS_SUFFIXES)


def requested_run_keys(landing_root: Path, cursor: Cursor) -> list[str]:
    """The run keys whose state the next plan needs: those of requested files still in landing."""
    return sorted(
        {request.run_key for path, request in cursor.requested.items() if os.path.lexists(landing_root / path)}
    )


def plan_tick(
    datasets: Mapping[str, DatasetConfig],
    landing_root: Path,
    cursor: Cursor,
    existing_days: Sequence[str],
    now: float,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    run_states: Mapping[str, RunInfo] | None = None,
) -> TickPlan:
    """Decide the runs, partitions, rejections and waits for every file in the landing zone."""
    run_states = run_states or {}
    today = datetime.fromtimestamp(now, UTC).date()
    plan = TickPlan()
    present: set[str] = set()
    pending: dict[str, list[_Pending]] = {}

    def reject(path: Path, relative: str, dataset: str | None, reason: str, token: str) -> None:
        if cursor.reported.get(relative) != token:  # a file that could not be moved is said once
            plan.rejections.append(Rejection(path, relative, dataset, reason))
        plan.cursor.reported[relative] = token

    for dataset in datasets.values():
        folder = landing_root / dataset.name
        if folder.is_symlink() or not folder.is_dir():  # a linked folder is refused whole (_scan_unknown)
            continue
        for path in _dataset_entries(folder):
            relative = _relative(landing_root, path)
            try:
                status = path.lstat()  # one look at the entry: its version and whether it may be read
            except FileNotFoundError:  # left landing (loaded, rejected) between listing and stat
                continue
            state, problem = FileState.of_status(status), entry_problem(status)
            present.add(relative)
            if cursor.reported.get(relative) == state.token():  # rejected, but could not be moved: said once
                plan.cursor.reported[relative] = state.token()
                continue
            if problem is not None:  # a link, a FIFO, a folder...: never read (ingestion/trust.py)
                reject(path, relative, dataset.name, problem, state.token())
                continue
            if dataset.completeness.rule == "manifest" and is_manifest(path):
                # Read with its file (ingestion/load.py); alone, it waits for the file.
                if not os.path.lexists(data_file_of(path)):
                    plan.waiting.append(f"{relative}: a manifest, waiting for its file")
                continue
            matched = match_file(dataset, path, today)
            if isinstance(matched, UnmatchedFile):
                reject(path, relative, dataset.name, matched.reason, state.token())
                continue
            previous = cursor.requested.get(relative)
            if previous is not None and previous.token == state.token():
                attempt = _follow_up(plan, relative, previous, run_states.get(previous.run_key), now)
                if attempt is None:
                    plan.cursor.requested[relative] = previous
                elif attempt > MAX_ATTEMPTS:
                    reason = (
                        f"not loaded after {MAX_ATTEMPTS} runs (the last, {previous.run_key}, ended "
                        f"{_ended(run_states.get(previous.run_key))}): see those runs in the UI"
                    )
                    reject(path, relative, dataset.name, reason, state.token())
                elif attempt == 0:
                    reason = f"its load run {previous.run_key} was canceled"
                    reject(path, relative, dataset.name, reason, state.token())
                else:
                    pending.setdefault(dataset.name, []).append(_Pending(matched, state, attempt))
                continue
            if (still_for := now - state.mtime_ns / 1e9) < settle_seconds:
                plan.waiting.append(f"{relative}: still changing (waiting {settle_seconds:g} s for it to settle)")
                plan.settles_in = max(plan.settles_in, settle_seconds - max(still_for, 0.0))
                if previous is not None:
                    plan.cursor.requested[relative] = previous
                continue
            if dataset.completeness.rule == "manifest" and not os.path.lexists(manifest_of(path)):
                plan.waiting.append(f"{relative}: waiting for its manifest {manifest_of(path).name} (completeness)")
                continue
            pending.setdefault(dataset.name, []).append(_Pending(matched, state, 1))
    _plan_partitions(plan, datasets, existing_days, pending, today)
    _plan_runs(plan, datasets, landing_root, pending, now)

    for unmatched in _scan_unknown(landing_root, datasets):
        relative = _relative(landing_root, unmatched.path)
        try:
            token = FileState.of(unmatched.path).token()
        except FileNotFoundError:  # removed between listing and stat
            continue
        present.add(relative)
        reject(unmatched.path, relative, None, unmatched.reason, token)
    # Forget files that left the landing zone (ingested and archived, rejected, or removed).
    plan.cursor.reported = {path: token for path, token in plan.cursor.reported.items() if path in present}
    plan.cursor.requested = {path: request for path, request in plan.cursor.requested.items() if path in present}
    return plan


def _ended(run: RunInfo | None) -> str:
    return run.state.value if run else "without starting"


def _follow_up(plan: TickPlan, relative: str, previous: Request, run: RunInfo | None, now: float) -> int | None:
    """For a file already requested and unchanged: None to keep waiting, else the next attempt (0: canceled)."""
    state = run.state if run else None
    if state is None:
        if now - previous.at < LAUNCH_GRACE_SECONDS:
            plan.waiting.append(f"{relative}: its run {previous.run_key} has not started yet")
            return None
        plan.retries.append(f"{relative}: run {previous.run_key} was never created; requesting it again")
        return previous.attempt + 1
    if state is RunState.IN_PROGRESS:
        plan.waiting.append(f"{relative}: loading in run {previous.run_key}")
        return None
    if state is RunState.CANCELED:
        return 0
    wait = RETRY_BACKOFF_SECONDS * previous.attempt - (now - (run.ended_at or 0) if run else 0)
    if wait > 0 and previous.attempt < MAX_ATTEMPTS:
        plan.waiting.append(f"{relative}: run {previous.run_key} ended ({state}); trying again in {wait:.0f} s")
        return None
    plan.retries.append(f"{relative}: run {previous.run_key} ended ({state}) without loading it; requesting it again")
    return previous.attempt + 1


def _plan_partitions(
    plan: TickPlan,
    datasets: Mapping[str, DatasetConfig],
    existing: Sequence[str],
    pending: Mapping[str, list[_Pending]],
    today: date,
) -> None:
    if not any(dataset.kind == "daily" for dataset in datasets.values()):
        return
    days = (item.landed.partition_key for items in pending.values() for item in items if item.landed.partition_key)
    changes = partition_changes(existing, days, day_problem(datasets, today))
    plan.new_partitions, plan.removed_partitions = changes.add, changes.remove
    plan.invalid_partitions, plan.partition_order = changes.invalid, changes.order


def _plan_runs(
    plan: TickPlan,
    datasets: Mapping[str, DatasetConfig],
    landing_root: Path,
    pending: Mapping[str, list[_Pending]],
    now: float,
) -> None:
    """One run per shared range of days, the tick's reference files joining the first of them.

    Every run worker costs seconds of start-up, and every load that ends triggers a dbt build: a
    cold start (reference data and the first days landing together) is one load run, so one build.
    """

    def request(items: Sequence[tuple[str, _Pending]], keys: Sequence[str]) -> None:
        names = tuple(sorted({name for name, _ in items}))
        files = tuple(_relative(landing_root, item.landed.path) for _, item in items)
        attempt = max(item.attempt for _, item in items)
        tokens = [f"{file}@{item.state.token()}" for file, (_, item) in zip(files, items, strict=True)]
        run_key = _run_key(names, keys, tokens, attempt)
        for file, (_, item) in zip(files, items, strict=True):
            plan.cursor.requested[file] = Request(item.state.token(), run_key, item.attempt, now)
        plan.runs.append(PlannedRun(names, tuple(keys), files, run_key, attempt))

    reference = [
        (name, item) for name, items in pending.items() for item in items if datasets[name].kind == "reference"
    ]
    by_day: dict[str, dict[str, _Pending]] = {
        name: {item.landed.partition_key: item for item in items if item.landed.partition_key}
        for name, items in pending.items()
        if datasets[name].kind == "daily"
    }
    groups = [
        ([(name, by_day[name][day]) for name in names for day in segment], segment)
        for names, segment in group_loads(plan.partition_order, by_day)
    ]
    if reference and groups:
        groups[0] = ([*reference, *groups[0][0]], groups[0][1])
    elif reference:
        groups = [(reference, [])]
    for items, keys in groups:
        request(items, keys)
