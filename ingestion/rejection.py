"""Files the pipeline cannot load leave the landing zone for the rejected folder, with a note of why.

A file whose name no dataset uses, whose date does not exist or is out of its dataset's bounds, or
whose load runs kept failing would otherwise sit in landing forever, said once in a sensor log.
Here it is moved, never deleted, next to a ``.reason.txt`` note: what it is, why it was refused,
and how to try again (move it back into landing, fixed or renamed). Layout::

    <rejected>/<landing-relative path with the stamp>          the file, as delivered
    <rejected>/<...>.reason.txt                                 the note
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ingestion.landing import ARCHIVE_SEPARATOR, stamp

NOTE_SUFFIX = ".reason.txt"


@dataclass(frozen=True)
class RejectedFile:
    path: Path  # where the file now is
    note: Path  # the note beside it


class Refused(Protocol):
    """A file to reject: where it is, its landing-relative path, and why."""

    @property
    def path(self) -> Path: ...
    @property
    def relative(self) -> str: ...
    @property
    def reason(self) -> str: ...


def reject_file(refused: Refused, rejected_root: Path, landing_root: Path, now: datetime) -> RejectedFile:
    """Move the file into ``rejected_root`` (mirroring its landing path) and write its note beside it."""
    path, relative, reason = refused.path, refused.relative, refused.reason
    relative_path = Path(relative)
    target = rejected_root / relative_path.parent / f"{stamp(now)}{ARCHIVE_SEPARATOR}{relative_path.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, target)  # first: a failed move leaves no note behind
    note = target.with_name(target.name + NOTE_SUFFIX)
    note.write_text(
        f"file:     {relative_path.name}\n"
        f"landed:   {landing_root / relative}\n"
        f"rejected: {now.isoformat()}\n"
        f"reason:   {reason}\n"
        f"to retry: fix or rename it, then move it back to {landing_root / relative_path.parent}/\n",
        encoding="utf-8",
    )
    return RejectedFile(target, note)
