"""Read a landed file into a frame of text columns, keeping every record accountable.

Nothing is typed here: each value stays the exact text the file held, so a value that later fails
to cast is quarantined as written. Structural faults are per record, not per file: a ragged row or
undecodable bytes reject that record with a reason, and the rest of the file still loads.

Why not ``pl.read_csv`` alone: it pads a short row with nulls silently, and it stops at the first
long row or unbalanced quote. Files without quote characters (the common case) are split with
vectorised Polars string operations, where one record is one line; files with quotes go through
the standard ``csv`` module, which understands quoting but costs far more.

A load reads its files a batch at a time (``read_tables``): the unquoted files with the same header
are split in one pass of Polars expressions, whose cost is mostly per call, and then cut back into
one table per file. Each file's faults stay its own: its record numbers, rejects and warnings are
exactly what reading it alone gives.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from config.datasets import Limits
from ingestion.lineage import ROW_NUMBER
from ingestion.sniffing import Compression, WrongFormatError, open_delivery

_FILE = "_file"  # which file of a batch a line came from (reading only)
REPLACEMENT_CHAR = "\ufffd"


class UnreadableFileError(ValueError):
    """The file as a whole cannot be read as a table (empty, no header, not the declared format)."""


@dataclass
class RawTable:
    """Text columns as read, with the records that could not be read and why."""

    columns: list[str]
    rows: pl.DataFrame  # text columns + ROW_NUMBER
    rejected: pl.DataFrame = field(default_factory=lambda: empty_rejects())  # ROW_NUMBER, reason, raw
    warnings: list[str] = field(default_factory=list)

    @property
    def records_read(self) -> int:
        return self.rows.height + self.rejected.height


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema={ROW_NUMBER: pl.Int64, "reason": pl.String, "raw": pl.String})


DEFAULT_LIMITS = Limits()


def read_tables(
    deliveries: Sequence[tuple[bytes, str]],
    file_format: str,
    null_values: tuple[str, ...],
    compression: Compression | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[RawTable | UnreadableFileError]:
    """Each delivery's bytes as landed, and its name (messages name the file as delivered), read as
    text columns: a table per file, or why that file as a whole cannot be read."""
    opened: list[bytes | UnreadableFileError] = []
    for data, name in deliveries:
        try:
            opened.append(open_delivery(data, file_format, compression, name))
        except WrongFormatError as error:
            opened.append(UnreadableFileError(str(error)))
    readable = [(i, data) for i, data in enumerate(opened) if not isinstance(data, UnreadableFileError)]
    if file_format == "parquet":
        tables = {i: _parquet_or_error(data, deliveries[i][1]) for i, data in readable}
    else:
        texts = [(data, deliveries[i][1]) for i, data in readable]
        tables = dict(zip((i for i, _ in readable), read_csv_batch(texts, null_values, limits), strict=True))
    return [tables.get(i, item) for i, item in enumerate(opened)]  # type: ignore[misc]


def _parquet_or_error(data: bytes, source: str) -> RawTable | UnreadableFileError:
    try:
        return _read_parquet(data, source)
    except UnreadableFileError as error:
        return error


def _read_parquet(data: bytes, source: str) -> RawTable:
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as error:  # polars raises several error types for a corrupt file
        raise UnreadableFileError(f"{source}: not a readable Parquet file ({error})") from error
    text = frame.select(pl.all().cast(pl.String))
    return RawTable(list(frame.columns), text.with_row_index(ROW_NUMBER, offset=1).cast({ROW_NUMBER: pl.Int64}))


def _decode(data: bytes, source: str) -> tuple[str, list[str]]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as error:
        # Decode what we can; the records holding the bad bytes are rejected below, not the file.
        return data.decode("utf-8", errors="replace"), [
            f"{source}: not valid UTF-8 (first bad byte at offset {error.start}); "
            "records containing undecodable bytes are quarantined"
        ]


def read_csv_bytes(data: bytes, null_values: tuple[str, ...], source: str = "<bytes>") -> RawTable:
    """Parse CSV bytes (header on the first line, comma-separated) into a RawTable."""
    [table] = read_csv_batch([(data, source)], null_values)
    if isinstance(table, UnreadableFileError):
        raise table
    return table


def read_csv_batch(
    sources: Sequence[tuple[bytes, str]], null_values: tuple[str, ...], limits: Limits = DEFAULT_LIMITS
) -> list[RawTable | UnreadableFileError]:
    """Parse each file's CSV bytes (header on the first line, comma-separated): a RawTable per file,
    or why it cannot be read. Files without quotes that share a header are split together.

    Every step is linear in the file's size, and a file past ``limits`` is refused before parsing.
    """
    tables: dict[int, RawTable | UnreadableFileError] = {}
    warnings: dict[int, list[str]] = {}
    unquoted: dict[tuple[str, ...], list[tuple[int, list[str]]]] = {}  # header -> (file, body lines)
    for i, (data, source) in enumerate(sources):
        if not data.strip():
            tables[i] = UnreadableFileError(f"{source}: file is empty (0 bytes or only whitespace): no header, no rows")
            continue
        if problem := _over_limits(data, source, limits):
            tables[i] = UnreadableFileError(problem)
            continue
        text, warnings[i] = _decode(data, source)
        try:
            if '"' in text:
                table = _read_quoted(text, source)
                table.rows = _nullify(table.rows, table.columns, null_values)
                tables[i] = table
            else:
                lines = text.splitlines()
                header = _check_header(lines[0].split(","), source)
                unquoted.setdefault(tuple(header), []).append((i, lines[1:]))
        except UnreadableFileError as error:
            tables[i] = error
    names = [source for _, source in sources]
    for header, files in unquoted.items():
        tables |= _read_unquoted(list(header), files, null_values, names)
    for i, file_warnings in warnings.items():
        table = tables[i]
        if isinstance(table, RawTable) and file_warnings:
            table.warnings[:0] = file_warnings
            # Replacement characters come from decoding bad bytes: a file that decoded cleanly has none.
            tables[i] = _reject_undecodable(table)
    return [tables[i] for i in range(len(sources))]


def _over_limits(data: bytes, source: str, limits: Limits) -> str | None:
    """Why a file's lines are past ``limits``, or None. At most one pass over the bytes, and none for a
    file shorter than the line limit (no line of it can be longer)."""
    header = data.partition(b"\n")[0].partition(b"\r")[0]  # the first line, as splitlines would end it
    fields = header.count(b",") + 1
    if fields > limits.max_columns:
        return f"{source}: the header has {fields:,} fields, over the limit of {limits.max_columns:,} (max_columns)"
    if len(data) <= limits.max_line_bytes:
        return None
    for number, line in enumerate(data.splitlines(), start=1):
        if len(line) > limits.max_line_bytes:
            return (
                f"{source}: line {number:,} is {len(line):,} bytes, over the limit of {limits.max_line_bytes:,} "
                "(max_line_bytes)"
            )
    return None


def _check_header(header: list[str], source: str) -> list[str]:
    header = [name.strip() for name in header]
    if not any(header):
        raise UnreadableFileError(f"{source}: the first line is not a header row")
    duplicates = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicates or "" in header:
        raise UnreadableFileError(f"{source}: header has duplicate or empty column names {duplicates or ['']}")
    return header


def _read_unquoted(
    header: list[str], files: Sequence[tuple[int, list[str]]], null_values: tuple[str, ...], names: Sequence[str]
) -> dict[int, RawTable | UnreadableFileError]:
    """Files with this header and no quote characters, one record a line, split in one pass.

    A file whose last record lacks fields was cut short (an upload renamed too early): it is refused
    whole, never loaded in part (``names``: each file's name, by index, for that message).
    """
    body = (
        pl.DataFrame(
            {
                _FILE: list(itertools.chain.from_iterable(itertools.repeat(i, len(lines)) for i, lines in files)),
                "line": list(itertools.chain.from_iterable(lines for _, lines in files)),
            },
            schema={_FILE: pl.Int64, "line": pl.String},
        )
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(_FILE).alias(ROW_NUMBER))
        .filter(pl.col("line").str.strip_chars() != "")  # blank lines hold no record
        .with_columns(fields=pl.col("line").str.split(","))
    )
    width = pl.col("fields").list.len()
    rows = body.filter(width == len(header)).select(
        _FILE, ROW_NUMBER, *[pl.col("fields").list.get(i).alias(name) for i, name in enumerate(header)]
    )
    bad = body.filter(width != len(header)).select(
        _FILE,
        ROW_NUMBER,
        reason=pl.format("malformed row: {} fields, the header has {}", width, pl.lit(len(header))),
        raw=pl.col("line"),
    )
    last = body.group_by(_FILE).agg(pl.col(ROW_NUMBER).last(), width.last().alias("width"))
    cut = {i: (line, fields) for i, line, fields in last.filter(pl.col("width") < len(header)).iter_rows()}
    rows_by_file = _by_file(_nullify(rows, header, null_values))
    bad_by_file = _by_file(bad)
    empty_rows, empty_bad = rows.clear().drop(_FILE), empty_rejects()
    return {
        i: _cut_short(names[i], cut[i][0] + 1, cut[i][1], len(header))
        if i in cut
        else RawTable(list(header), rows_by_file.get(i, empty_rows), bad_by_file.get(i, empty_bad))
        for i, _ in files
    }


def _cut_short(source: str, line: int, fields: int, expected: int) -> UnreadableFileError:
    return UnreadableFileError(
        f"{source}: incomplete delivery: its last record (line {line:,}) has {fields} of {expected} fields, so the "
        "file was cut short; nothing of it is loaded. Deliver the whole file again"
    )


def _by_file(frame: pl.DataFrame) -> dict[int, pl.DataFrame]:
    return {key: part for (key,), part in frame.partition_by(_FILE, as_dict=True, include_key=False).items()}


def _read_quoted(text: str, source: str) -> RawTable:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = _check_header(next(reader), source)
    except (StopIteration, csv.Error) as error:
        raise UnreadableFileError(f"{source}: cannot read the header row ({error})") from error
    good: list[list[str]] = []
    numbers: list[int] = []
    bad: list[tuple[int, str, str]] = []
    number = 0
    consumed = reader.line_num  # physical lines read so far: where the next record starts
    last_short = (0, 0, 0)  # the latest record with the wrong number of fields: (record, line, fields)
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error:
            # A quote still open at the end of the file: the last record is cut inside a quoted field
            # (or an unbalanced quote swallowed the rest, which reads the same). Never loaded in part.
            raise UnreadableFileError(
                f"{source}: incomplete delivery: a quoted field opened on line {consumed + 1:,} is never closed, so "
                "the file's last record is cut; nothing of it is loaded. Deliver the whole file again"
            ) from None
        line = consumed = reader.line_num
        if not record:
            continue
        number += 1
        if len(record) == len(header):
            good.append(record)
            numbers.append(number)
        else:
            last_short = (number, line, len(record))
            bad.append((number, f"malformed row: {len(record)} fields, the header has {len(header)}", ",".join(record)))
    if last_short[0] == number and last_short[2] < len(header):
        raise _cut_short(source, last_short[1], last_short[2], len(header))
    columns = list(zip(*good, strict=True)) if good else [() for _ in header]
    rows = pl.DataFrame(
        {ROW_NUMBER: numbers, **{name: list(values) for name, values in zip(header, columns, strict=True)}},
        schema={ROW_NUMBER: pl.Int64, **dict.fromkeys(header, pl.String)},
    )
    rejected = pl.DataFrame(bad, schema=empty_rejects().schema, orient="row")
    return RawTable(header, rows, rejected)


def _nullify(rows: pl.DataFrame, columns: list[str], null_values: tuple[str, ...]) -> pl.DataFrame:
    """Turn the dataset's null markers (e.g. NA, empty) into real nulls; trim surrounding spaces."""
    if not columns:
        return rows
    # One expression over every column: built once per file, not once per column.
    return rows.with_columns(pl.col(columns).str.strip_chars().replace(list(null_values), None))


def _reject_undecodable(table: RawTable) -> RawTable:
    if not table.columns or table.rows.is_empty():
        return table
    has_bad_bytes = pl.any_horizontal(
        pl.col(name).str.contains(REPLACEMENT_CHAR, literal=True).fill_null(False) for name in table.columns
    )
    bad = table.rows.filter(has_bad_bytes)
    if bad.is_empty():
        return table
    rejected = bad.select(
        ROW_NUMBER,
        reason=pl.lit("undecodable bytes (file is not valid UTF-8)"),
        raw=pl.concat_str([pl.col(name).fill_null("") for name in table.columns], separator=","),
    )
    table.rows = table.rows.filter(~has_bad_bytes)
    table.rejected = pl.concat([table.rejected, rejected])
    return table
