"""What a landed file really is, from its first bytes: before parsing, not after.

A gzip archive or a Parquet file delivered under a ``.csv`` name would otherwise be "read" as text:
reported as invalid UTF-8 with mojibake column names, its bytes split into hundreds of garbage
"records". Recognising the container by its magic bytes lets the error say what the file is
("orders_2026-02-11.csv is gzip-compressed; expected plain CSV") and keeps garbage out of
quarantine: such a file is refused whole and kept as delivered.
"""

from __future__ import annotations

import gzip
import zlib

from config.datasets import Compression

# How much of a file is looked at: every signature below sits in its first bytes; a NUL byte in the
# first few KiB is as good a sign of binary data as text formats allow.
SNIFF_BYTES = 8192

# (signature, what the file is): the first bytes of each container a feed is likely to send by mistake.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed"),
    (b"PK\x03\x04", "a zip archive (or an Excel/OpenDocument file)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"PAR1", "a Parquet file"),
    (b"BZh", "bzip2-compressed"),
    (b"\xfd7zXZ\x00", "xz-compressed"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Microsoft Office file (.xls)"),
    (b"Obj\x01", "an Avro file"),
    (b"SQLite format 3\x00", "a SQLite database"),
)
EXPECTED = {"csv": "plain CSV", "parquet": "Parquet"}


class WrongFormatError(ValueError):
    """The file's bytes are not the format its dataset declares; the message says what they are."""


# Text, but not UTF-8: said as such rather than as "binary" (UTF-16 is full of NUL bytes).
TEXT_ENCODINGS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe", "UTF-16 text (little-endian), not UTF-8"),
    (b"\xfe\xff", "UTF-16 text (big-endian), not UTF-8"),
)


def identify(head: bytes) -> str | None:
    """What ``head`` (a file's first bytes) says the file is, or None for text."""
    for signature, what in (*SIGNATURES, *TEXT_ENCODINGS):
        if head.startswith(signature):
            return what
    if b"\x00" in head[:SNIFF_BYTES]:
        return "binary data (it contains NUL bytes)"
    return None


def check_format(name: str, head: bytes, file_format: str, compression: Compression | None) -> None:
    """Raise WrongFormatError unless ``head`` is what the dataset declares (after any compression)."""
    what = identify(head)
    if compression == "gzip":
        if what != "gzip-compressed":
            raise WrongFormatError(
                f"{name} is {what or 'not compressed (plain text)'}; expected gzip-compressed {EXPECTED[file_format]} "
                "(the dataset declares compression: gzip)"
            )
        return
    if file_format == "parquet":
        if what != "a Parquet file":
            raise WrongFormatError(f"{name} is {what or 'text'}; expected Parquet")
        return
    if what is not None:
        hint = " (or declare compression: gzip for the dataset)" if what == "gzip-compressed" else ""
        raise WrongFormatError(f"{name} is {what}; expected {EXPECTED[file_format]}{hint}")


def open_delivery(data: bytes, file_format: str, compression: Compression | None, name: str) -> bytes:
    """``data``, a delivery's bytes as landed, checked to be the dataset's format and decompressed if declared."""
    check_format(name, data[:SNIFF_BYTES], file_format, compression)
    if compression == "gzip":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise WrongFormatError(f"{name}: damaged gzip data ({error})") from error
        check_format(name, data[:SNIFF_BYTES], file_format, None)
    return data
