"""The landing zone is a trust boundary: only regular files inside it are read, through one descriptor.

Whoever can write the landing zone can put there a symbolic link (to ``/etc/passwd``, or to a day
file outside the zone), a hard link to a file kept elsewhere, a FIFO that blocks its reader
forever, a device, or a folder named like a file. None of them is read:

- the landing sensor refuses them by what ``lstat`` says, and moves them to ``rejected/`` (a rename
  of the entry itself, never a read);
- a load opens each landed file relative to the landing root, folder by folder, never following a
  link (``O_NOFOLLOW``) and without blocking (``O_NONBLOCK``), checks what it opened (``fstat``: a
  regular file with one name, the entry it looked at), and reads only through that descriptor. So
  an entry swapped after the sensor looked is refused too, and nothing swapped in after the check
  is read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

DELIVER_A_FILE = "deliver the file itself into the landing zone"


class UntrustedEntryError(Exception):
    """An entry of the landing zone that is not read, and why (the message is the reason)."""


def entry_problem(status: os.stat_result) -> str | None:
    """Why an entry with this ``lstat`` is not read; None for a regular file with a single name."""
    mode = status.st_mode
    if stat.S_ISLNK(mode):
        return f"a symbolic link: links are never followed out of the landing zone; {DELIVER_A_FILE}"
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    if status.st_nlink != 1:
        return f"a hard link (the file has {status.st_nlink} names): {DELIVER_A_FILE}, not a link to one kept elsewhere"
    return None


def path_problem(path: Path) -> str | None:
    """Why the entry at ``path`` is not read (by ``lstat``: nothing is opened); None if it may be."""
    return entry_problem(path.lstat())


@contextmanager
def open_landed(path: Path, landing_root: Path) -> Iterator[BinaryIO]:
    """Open ``path``, a file inside ``landing_root``, for reading; raise UntrustedEntryError if it may not be.

    Each folder between the root and the file is opened without following links, and the file
    relative to its folder's descriptor: a folder replaced by a link meanwhile is refused, not
    followed. The file is looked at before it is opened (a device or FIFO is never opened) and
    again through the open descriptor, which must be the same regular file.
    """
    try:
        relative = path.relative_to(landing_root)
    except ValueError:
        raise UntrustedEntryError(f"outside the landing zone {landing_root}") from None
    if not relative.parts or ".." in relative.parts:
        raise UntrustedEntryError(f"not a file inside the landing zone {landing_root}")
    folder = os.open(landing_root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in relative.parts[:-1]:
            try:
                inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UntrustedEntryError(f"its folder {part!r} is not a folder of the landing zone") from None
                raise
            os.close(folder)
            folder = inner
        name = relative.parts[-1]
        looked = os.stat(name, dir_fd=folder, follow_symlinks=False)
        if problem := entry_problem(looked):
            raise UntrustedEntryError(problem)
        try:
            descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise UntrustedEntryError(entry_problem(os.lstat(path)) or "a symbolic link") from None
            raise
    finally:
        os.close(folder)
    opened = os.fstat(descriptor)
    problem = entry_problem(opened)
    if problem is None and (opened.st_dev, opened.st_ino) != (looked.st_dev, looked.st_ino):
        problem = "replaced while it was being opened"
    if problem:
        os.close(descriptor)
        raise UntrustedEntryError(problem)
    os.set_blocking(descriptor, True)
    with os.fdopen(descriptor, "rb") as handle:
        yield handle
