"""Whether a delivery is whole, by the rule its dataset declares (``completeness`` in config/datasets/).

A file renamed into landing too early, or cut by a failed upload, must be refused whole, never
loaded in part. Every rule includes the default one, checked as the file is read
(ingestion/reading.py): its last record has every field and no open quote. A feed can say more:

- ``manifest``: a sidecar ``<file>.manifest.json`` lands with the file, ``{"rows": N, "sha256": "..."}``.
  The landing sensor takes the file only once its manifest is there; the file must have exactly
  those bytes and N records. Both are archived side by side.
- ``trailer``: the file's last line is ``<prefix>,<N>``, after the N records it ends. It is not a
  record: it is taken off before the file is read.

A delivery that breaks its rule is an ``UnreadableFileError``: refused whole, with the reason,
kept in the archive. Messages carry counts and names, never a line's contents.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from config.datasets import Completeness
from ingestion.landing import manifest_of
from ingestion.reading import UnreadableFileError

MAX_MANIFEST_BYTES = 64 << 10  # a count and a digest: anything larger is not a manifest
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REDELIVER = "nothing of it is loaded. Deliver the whole file again"


@dataclass(frozen=True)
class Declared:
    """What a delivery says of itself under its rule: the bytes to read, and the records it holds
    (None: the rule declares no count)."""

    data: bytes
    records: int | None


def declared(rule: Completeness, data: bytes, path: Path, source: str) -> Declared:
    """Check what can be checked before reading; ``path``: the file (its manifest is beside it)."""
    if rule.rule == "manifest":
        rows, digest = read_manifest(manifest_of(path), source)
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise UnreadableFileError(
                f"{source}: incomplete delivery: its SHA-256 is {actual}, its manifest says {digest} (completeness: "
                f"manifest), so the file is not the one the feed sent; {_REDELIVER}"
            )
        return Declared(data, rows)
    if rule.rule == "trailer":
        return take_trailer(data, rule.trailer_prefix, source)
    return Declared(data, None)


def read_manifest(path: Path, source: str) -> tuple[int, str]:
    """(rows, sha256) from a sidecar manifest; an error that names what is wrong with it."""
    where = f"{source}: incomplete delivery: its manifest {manifest_of(Path(source)).name}"
    try:
        with path.open("rb") as handle:
            text = handle.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        raise UnreadableFileError(
            f"{where} is missing (completeness: manifest); {_REDELIVER}, with its manifest"
        ) from None
    if len(text) > MAX_MANIFEST_BYTES:
        raise UnreadableFileError(f"{where} is over {MAX_MANIFEST_BYTES:,} bytes, not a manifest; {_REDELIVER}")
    try:
        manifest = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnreadableFileError(f"{where} is not JSON ({error.__class__.__name__}); {_REDELIVER}") from None
    rows = manifest.get("rows") if isinstance(manifest, dict) else None
    digest = manifest.get("sha256") if isinstance(manifest, dict) else None
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise UnreadableFileError(f'{where} has no "rows" count (a whole number); {_REDELIVER}')
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower()):
        raise UnreadableFileError(f'{where} has no "sha256" (64 hexadecimal digits); {_REDELIVER}')
    return rows, digest.lower()


def take_trailer(data: bytes, prefix: str, source: str) -> Declared:
    """The file without its trailer line, and the count the trailer declares."""
    body = data.rstrip(b"\r\n")
    start = body.rfind(b"\n") + 1
    fields = body[start:].rstrip(b"\r").split(b",")
    if len(fields) != 2 or fields[0].strip() != prefix.encode() or not fields[1].strip().isdigit():
        raise UnreadableFileError(
            f"{source}: incomplete delivery: its last line is not the trailer record '{prefix},<records>' the "
            f"dataset declares (completeness: trailer), so the file was cut short; {_REDELIVER}"
        )
    return Declared(body[:start], int(fields[1]))


def count_problem(records_read: int, expected: int, rule: Completeness, source: str) -> UnreadableFileError | None:
    """The file's records against the count its manifest or trailer declares."""
    if records_read == expected:
        return None
    return UnreadableFileError(
        f"{source}: incomplete delivery: it has {records_read:,} records, its {rule.rule} declares {expected:,} "
        f"(completeness: {rule.rule}); {_REDELIVER}"
    )
