"""What the landing sensor should do on a tick: pure, so every case is testable on a temp folder.

The cursor remembers each file in the landing zone that a run was requested for, by size and
modification time. A file is requested again only if it changes (re-delivered with new content).
Ingestion moves a loaded file to the archive, so the cursor forgets it once it has left landing;
the same name landing again later is a new delivery.

Landing contract: write under a hidden or temporary name (``.name``, ``*.tmp``, ``*.part``) and
rename when complete; a file is also only taken once it has not changed for ``settle_seconds``,
so a writer that does not rename is not read half-written either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assets.partitions import days_to_add, group_loads
from config.datasets import DatasetConfig
from ingestion.landing import LandedFile, UnmatchedFile, match_file

# One second without a change: enough for a copy in progress to show (its mtime keeps moving),
# short enough that a file renamed into place is usually taken on the first tick that sees it.
DEFAULT_SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileState:
        stat = path.stat()
        return cls(stat.st_size, stat.st_mtime_ns)

    def token(self) -> str:
        return f"{self.size}:{self.mtime_ns}"


@dataclass
class Cursor:
    requested: dict[str, str] = field(default_factory=dict)  # landing-relative path -> state token
    reported: dict[str, str] = field(default_factory=dict)  # unusable files already reported once

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(requested=dict(data.get("requested", {})), reported=dict(data.get("reported", {})))

    def serialize(self) -> str:
        return json.dumps({"requested": self.requested, "reported": self.reported}, sort_keys=True)


@dataclass(frozen=True)
class PlannedRun:
    """One run: datasets loading the same contiguous range of days, or the reference files of a tick."""

    datasets: tuple[str, ...]
    partition_keys: tuple[str, ...]  # empty for reference data
    files: tuple[str, ...]
    run_key: str


@dataclass
class TickPlan:
    runs: list[PlannedRun] = field(default_factory=list)
    new_partitions: list[str] = field(default_factory=list)  # days to add to the shared partitions
    reports: list[str] = field(default_factory=list)  # unusable files, said once each
    waiting: list[str] = field(default_factory=list)  # files not settled yet
    cursor: Cursor = field(default_factory=Cursor)


def _relative(landing_root: Path, path: Path) -> str:
    return path.relative_to(landing_root).as_posix()


def _run_key(datasets: Sequence[str], keys: Sequence[str], tokens: Iterable[str]) -> str:
    digest = hashlib.sha256("|".join(sorted(tokens)).encode()).hexdigest()[:16]
    span = f"{keys[0]}..{keys[-1]}" if keys else "reference"
    return f"{'+'.join(datasets)}:{span}:{digest}"


def _scan_unknown(landing_root: Path, datasets: Mapping[str, DatasetConfig]) -> list[UnmatchedFile]:
    """Files that belong to no dataset: at the landing root, or in a folder no dataset owns."""
    if not landing_root.is_dir():
        return []
    unknown = []
    for entry in sorted(landing_root.iterdir()):
        if entry.is_file():
            unknown.append(UnmatchedFile(entry, f"file at the landing root: put it in {landing_root}/<dataset>/"))
        elif entry.is_dir() and entry.name not in datasets:
            unknown += [
                UnmatchedFile(path, f"folder {entry.name!r} is not a dataset in the config ({', '.join(datasets)})")
                for path in sorted(entry.rglob("*"))
                if path.is_file()
            ]
    return unknown


def plan_tick(
    datasets: Mapping[str, DatasetConfig],
    landing_root: Path,
    cursor: Cursor,
    existing_days: Sequence[str],
    now: float,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
) -> TickPlan:
    """Decide the runs and partitions for every new or changed file in the landing zone."""
    plan = TickPlan(cursor=Cursor(reported=dict(cursor.reported)))
    present: set[str] = set()
    fresh: dict[str, list[tuple[LandedFile, FileState]]] = {}
    for dataset in datasets.values():
        folder = landing_root / dataset.name
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            relative = _relative(landing_root, path)
            present.add(relative)
            try:
                state = FileState.of(path)
            except FileNotFoundError:  # moved to the archive between listing and stat
                continue
            matched = match_file(dataset, path)
            if isinstance(matched, UnmatchedFile):
                if matched.reason.startswith("still being written"):
                    continue
                if cursor.reported.get(relative) != state.token():
                    plan.reports.append(f"{relative}: {matched.reason}")
                plan.cursor.reported[relative] = state.token()
                continue
            if cursor.requested.get(relative) == state.token():
                plan.cursor.requested[relative] = state.token()  # already requested, unchanged
                continue
            if now - state.mtime_ns / 1e9 < settle_seconds:
                plan.waiting.append(relative)  # may still be growing: look again next tick
                if relative in cursor.requested:
                    plan.cursor.requested[relative] = cursor.requested[relative]
                continue
            fresh.setdefault(dataset.name, []).append((matched, state))
    _plan_runs(plan, datasets, landing_root, fresh, existing_days)

    for unmatched in _scan_unknown(landing_root, datasets):
        relative = _relative(landing_root, unmatched.path)
        present.add(relative)
        token = FileState.of(unmatched.path).token()
        if cursor.reported.get(relative) != token:
            plan.reports.append(f"{relative}: {unmatched.reason}")
        plan.cursor.reported[relative] = token
    # Forget files that left the landing zone (ingested and archived, or removed).
    plan.cursor.reported = {path: token for path, token in plan.cursor.reported.items() if path in present}
    return plan


def _plan_runs(
    plan: TickPlan,
    datasets: Mapping[str, DatasetConfig],
    landing_root: Path,
    fresh: Mapping[str, list[tuple[LandedFile, FileState]]],
    existing: Sequence[str],
) -> None:
    """Reference files of the tick load in one run; daily files in one run per shared day range."""

    def token(landed: LandedFile, state: FileState) -> tuple[str, str]:
        file = _relative(landing_root, landed.path)
        plan.cursor.requested[file] = state.token()
        return file, f"{file}@{state.token()}"

    reference = [(name, token(*item)) for name, items in fresh.items() for item in items
                 if datasets[name].kind == "reference"]  # fmt: skip
    if reference:
        names = tuple(sorted({name for name, _ in reference}))
        files = tuple(file for _, (file, _) in reference)
        plan.runs.append(PlannedRun(names, (), files, _run_key(names, (), [t for _, (_, t) in reference])))

    by_day: dict[str, dict[str, tuple[str, str]]] = {}  # dataset -> day -> (file, token)
    for name, items in fresh.items():
        if datasets[name].kind == "daily":
            by_day[name] = {
                landed.partition_key: token(landed, state) for landed, state in items if landed.partition_key
            }
    plan.new_partitions = days_to_add(existing, (day for days in by_day.values() for day in days))
    for names, segment in group_loads([*existing, *plan.new_partitions], by_day):
        picked = [by_day[name][day] for name in names for day in segment]
        files = tuple(file for file, _ in picked)
        plan.runs.append(PlannedRun(names, tuple(segment), files, _run_key(names, segment, [t for _, t in picked])))
