"""Profiling a sample of a new source into a contract: what its config entry and Pandera model should say.

Every rule comes from the sample and carries its reason, in words, into the generated model
(contract/render.py), so a reviewer sees what each bound is based on:

- types: the narrowest that every non-null value parses as, the way ingestion casts (ingestion/casting.py);
- null markers: a candidate ("NA", "NULL", ...) is a marker when it is what stops a column from being
  numbers or dates; an empty cell always is;
- ranges, with a margin: a number never negative in the sample gets a floor of 0; otherwise the
  bounds are the sample's widened by twice its spread on each side (a month of hourly readings does not
  show the year's extremes); a column with one value gets no range;
- allowed values, for strings with few distinct values; a pattern for code-like strings (short,
  no spaces: a literal prefix and character classes with their lengths); else "never empty";
- primary-key candidates: the smallest combinations of non-null columns unique in the sample,
  preferring columns named as identifiers, then codes; never some of year/month/day without the
  others (unique in a month's sample only because it is one month);
- no range for an integer identifier (every value distinct): the next files bring new ones.

Polars and the project's own reader and caster (ingestion/reading.py, ingestion/casting.py), not
DuckDB's sniffer and SUMMARIZE, which fall short on a month of the real day files: sniff_csv reports
no null markers (with `NA` the delay columns come out VARCHAR and SUMMARIZE sees 0% null), the day
files disagree on types (precip is BIGINT on a dry day) so a glob of them fails, approx_unique is
an estimate (29 days for 31, 15 codes for 16) and null_percentage rounds one null in 27,004 rows
to 0.00. Exact counts and the types ingestion really casts to are what a contract needs. No Dagster.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import polars as pl

from ingestion.casting import parse_text
from ingestion.landing import ARCHIVE_SEPARATOR
from ingestion.reading import RawTable, UnreadableFileError, read_tables

NULL_CANDIDATES = ("NA", "N/A", "NULL", "null", "None", "NaN", "nan", "-")
ALWAYS_NULL = ""
# Strings with at most this many distinct values (and at least MIN_ROWS_FOR_VALUES rows of
# evidence) get allowed values; more, and a new value in a later file is too likely.
MAX_ALLOWED_VALUES = 20
MIN_ROWS_FOR_VALUES = 20
# A code-like string: short and without spaces (codes, identifiers, registrations).
MAX_CODE_LENGTH = 12
# Ranges are widened by this many times the sample's spread on each side.
MARGIN_SPREADS = 2
MAX_KEY_COLUMNS = 3
# A sample shows that a column can be missing, never that it cannot: a column outside the key is
# declared never null only when this many rows had it (a month of hourly readings at three sites, 2,226 rows,
# had no missing temperature; the rest of the year has one).
NON_NULL_EVIDENCE_ROWS = 5_000
# A small feed (a few rows a file, one a day) shows it by its days instead: a column every one of
# this many sampled days delivered is declared never null (two weeks of a one-row daily feed).
NON_NULL_EVIDENCE_DAYS = 14
SMALL_FEED_ROWS_PER_FILE = 10
BOOLEAN_WORDS = {"true", "false"}
DATE_IN_NAME = (
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
    (re.compile(r"\d{8}"), "%Y%m%d"),
)
INT32 = (-(2**31), 2**31 - 1)


class ProfileError(ValueError):
    """The sample cannot be profiled; the message says which file and why."""


@dataclass(frozen=True)
class Rule:
    """One check of a column, in Pandera's terms, with why the profile chose it."""

    check: str  # in_range | isin | str_matches | str_length
    value: object
    reason: str


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    dtype: pl.DataType
    nullable: bool
    rows: int
    nulls: int
    distinct: int
    rules: tuple[Rule, ...]
    low: object = None  # the smallest and largest value seen (numbers)
    high: object = None


@dataclass(frozen=True)
class Profile:
    dataset: str
    samples: tuple[str, ...]  # the sample files' names
    kind: str  # daily | reference
    file_pattern: str
    date_format: str | None
    file_format: str  # csv | parquet
    null_values: tuple[str, ...]
    columns: tuple[ColumnProfile, ...]
    key_candidates: tuple[tuple[str, ...], ...]
    has_date_parts: bool = False  # year/month/day columns: each row can be checked against its file's day
    days: tuple[date, ...] = ()  # the sampled days (daily feeds)
    day_columns: tuple[str, ...] = ()  # date columns that hold their file's day in every sampled row

    @property
    def primary_key(self) -> tuple[str, ...]:
        if not self.key_candidates:
            raise ProfileError(
                f"{self.dataset}: no combination of up to {MAX_KEY_COLUMNS} non-null columns is unique in the "
                "sample; the dataset needs a primary key (add it to the config entry by hand)"
            )
        return self.key_candidates[0]

    def column(self, name: str) -> ColumnProfile:
        return next(column for column in self.columns if column.name == name)


def file_naming(names: Sequence[str]) -> tuple[str, str, str | None, tuple[date, ...]]:
    """(kind, file_pattern, date_format, days) from the sample files' names: named for a day, daily."""
    for regex, fmt in DATE_IN_NAME:
        found = [regex.search(name) for name in names]
        if all(found):
            patterns = {name[: m.start()] + "{date}" + name[m.end() :] for name, m in zip(names, found, strict=True)}
            if len(patterns) > 1:
                raise ProfileError(f"the sample files are named in more than one way: {sorted(patterns)}")
            try:
                days = tuple(sorted(date.fromisoformat(_iso(m.group(), fmt)) for m in found if m))
            except ValueError:
                continue
            return "daily", patterns.pop(), fmt, days
    if len(set(names)) > 1:
        raise ProfileError(f"several sample files but no day in their names: {sorted(set(names))}")
    return "reference", names[0], None, ()


def delivered_name(path: Path) -> str:
    """The name a file was delivered under: an archived or rejected copy's, without the stamp before it."""
    return path.name.rpartition(ARCHIVE_SEPARATOR)[2]


def _iso(text: str, fmt: str) -> str:
    return text if fmt == "%Y-%m-%d" else f"{text[:4]}-{text[4:6]}-{text[6:]}"


def read_sample(paths: Sequence[Path]) -> tuple[list[pl.DataFrame], str]:
    """The sample files' records as text columns (a frame per file), and their format."""
    formats = {"parquet" if path.suffix == ".parquet" else "csv" for path in paths}
    if len(formats) > 1:
        raise ProfileError(f"the sample mixes CSV and Parquet files: {[path.name for path in paths]}")
    file_format = formats.pop()
    # No null markers yet: which strings mean "missing" is one of the things profiled.
    tables = read_tables([(path.read_bytes(), path.name) for path in paths], file_format, ())
    frames = []
    for path, table in zip(paths, tables, strict=True):
        if isinstance(table, UnreadableFileError):
            raise ProfileError(str(table))
        if not table.rows.height:
            raise ProfileError(f"{path.name}: no records to profile")
        frames.append(_records(table))
    headers = {tuple(frame.columns) for frame in frames}
    if len(headers) > 1:
        raise ProfileError(f"the sample files have different columns: {sorted(headers)}")
    return frames, file_format


def _records(table: RawTable) -> pl.DataFrame:
    return table.rows.select(table.columns)


def null_markers(text: pl.DataFrame) -> tuple[str, ...]:
    """The candidates that stand in for missing values: those keeping a column from being numbers or dates."""
    found: set[str] = set()
    for name in text.columns:
        values = text.get_column(name).str.strip_chars()
        present = set(values.filter(values.is_in(list(NULL_CANDIDATES))).unique().to_list())
        rest = values.filter(~values.is_in([*NULL_CANDIDATES, ALWAYS_NULL]))
        if present and rest.len() and _typed(rest) != pl.String:
            found |= present
    return (*sorted(found), ALWAYS_NULL)


def _typed(values: pl.Series) -> pl.DataType:
    """The narrowest type every value parses as (values: non-null text)."""
    if values.len() and set(values.str.to_lowercase().unique().to_list()) <= BOOLEAN_WORDS:
        return pl.Boolean()
    frame = values.to_frame("v")
    for dtype in (pl.Int64(), pl.Float64(), pl.Datetime("us", "UTC"), pl.Date()):
        parsed = frame.select(parse_text(pl.col("v"), dtype)).to_series()
        if parsed.null_count() == 0:
            if dtype == pl.Int64() and parsed.len():
                low, high = parsed.min(), parsed.max()
                if INT32[0] <= low and high <= INT32[1]:  # type: ignore[operator]
                    return pl.Int32()
            return dtype
    return pl.String()


def _numeric_rules(name: str, series: pl.Series, integer: bool, rows: int) -> tuple[Rule, ...]:
    low, high = series.min(), series.max()
    if low is None or low == high:
        return ()
    spread = high - low  # type: ignore[operator]
    seen = f"{_number(low)} to {_number(high)} in {rows:,} rows"
    if low >= 0:  # type: ignore[operator]
        minimum, floor = 0, "never negative in the sample, so 0 is the floor"
    else:
        minimum, floor = low - MARGIN_SPREADS * spread, f"the low end widened by {MARGIN_SPREADS}x the spread"
    maximum = high + MARGIN_SPREADS * spread
    if integer:
        minimum, maximum = int(minimum // 1), int(-(-maximum // 1))
    else:
        minimum, maximum = round(minimum, 6), round(maximum, 6)
    reason = f"{seen}; {floor}, the high end widened by {MARGIN_SPREADS}x the spread"
    return (Rule("in_range", {"min_value": minimum, "max_value": maximum}, reason),)


def _number(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.6g}"


def code_pattern(values: Sequence[str]) -> str | None:
    """A regex for code-like values (short, no spaces): a literal prefix all share, then the
    character classes seen after it, with the lengths seen; None if they are not code-like."""
    if not values or any(len(v) > MAX_CODE_LENGTH or not v.isascii() or not v.isalnum() for v in values):
        return None
    prefix = values[0]
    for value in values[1:]:
        while not value.startswith(prefix):
            prefix = prefix[:-1]
    # A prefix as long as a value leaves nothing to vary: keep the classes for the whole value.
    prefix = prefix if all(len(v) > len(prefix) for v in values) else ""
    rests = [v[len(prefix) :] for v in values]
    classes = ""
    if any(c.isupper() for rest in rests for c in rest):
        classes += "A-Z"
    if any(c.islower() for rest in rests for c in rest):
        classes += "a-z"
    if any(c.isdigit() for rest in rests for c in rest):
        classes += "0-9"
    shortest, longest = min(map(len, rests)), max(map(len, rests))
    lengths = f"{{{shortest}}}" if shortest == longest else f"{{{shortest},{longest}}}"
    return f"^{re.escape(prefix)}[{classes}]{lengths}$"


def _string_rules(series: pl.Series, rows: int) -> tuple[Rule, ...]:
    values = series.drop_nulls()
    distinct = sorted(values.unique().to_list())
    if len(distinct) <= MAX_ALLOWED_VALUES and rows >= MIN_ROWS_FOR_VALUES and len(distinct) < rows:
        reason = f"the {len(distinct)} values seen in {rows:,} rows"
        return (Rule("isin", distinct, reason),)
    pattern = code_pattern(distinct)
    if pattern is not None:
        lengths = sorted({len(value) for value in distinct})
        sizes = f"{lengths[0]}-{lengths[-1]}" if lengths[0] != lengths[-1] else f"{lengths[0]}"
        reason = f"code-like in all {rows:,} rows: {len(distinct):,} distinct values of {sizes} characters"
        return (Rule("str_matches", pattern, reason),)
    return (Rule("str_length", {"min_value": 1}, f"never empty in {rows:,} rows"),)


def profile_column(name: str, text: pl.Series) -> ColumnProfile:
    rows = text.len()
    nulls = text.null_count()
    present = text.drop_nulls()
    dtype = _typed(present) if present.len() else pl.String()
    typed = present.to_frame("v").select(parse_text(pl.col("v"), dtype)).to_series() if present.len() else present
    if dtype == pl.Int32() and typed.n_unique() == typed.len() > 1:
        rules = ()  # an identifier (every value distinct): the next files bring new ones, outside any range seen
    elif dtype in (pl.Int32(), pl.Float64()):
        rules = _numeric_rules(name, typed, dtype == pl.Int32(), rows)
    elif dtype == pl.String():
        rules = _string_rules(present, rows)
    else:
        rules = ()
    numeric = dtype in (pl.Int32(), pl.Float64()) and typed.len()
    low, high = (typed.min(), typed.max()) if numeric else (None, None)
    return ColumnProfile(name, dtype, nulls > 0, rows, nulls, present.n_unique(), rules, low, high)


DATE_PARTS = {"year", "month", "day"}
IDENTIFIER_NAME = re.compile(r"(^|_)(id|key|code|number)$")


def key_candidates(columns: Sequence[ColumnProfile], typed: pl.DataFrame) -> tuple[tuple[str, ...], ...]:
    """The smallest column combinations unique in the sample, best first: one with a timestamp, then
    fewer columns. A combination with some of year/month/day but not all is left out: unique in a
    month's sample only because the sample is one month."""
    usable = [
        column.name for column in columns if not column.nulls and column.distinct > 1 and column.dtype != pl.Float64()
    ]
    parts = DATE_PARTS & {column.name for column in columns}
    found: list[tuple[str, ...]] = []
    for size in range(1, MAX_KEY_COLUMNS + 1):
        for combination in itertools.combinations(usable, size):
            if any(set(smaller) <= set(combination) for smaller in found):
                continue  # not minimal
            if set(combination) & parts and not parts <= set(combination):
                continue
            if typed.select(combination).n_unique() == typed.height:
                found.append(combination)
    identifiers = {column.name for column in columns if IDENTIFIER_NAME.search(column.name)}
    codes = {column.name for column in columns if column.dtype == pl.String()}
    # Fewer columns first, then columns named as identifiers (event_id), then codes (a customer
    # identifies; a clock time measures).
    return tuple(sorted(found, key=lambda key: (len(key), -len(set(key) & identifiers), -len(set(key) & codes))))


def profile(dataset: str, paths: Sequence[Path]) -> Profile:
    """Profile sample files (CSV or Parquet; a day's files for a daily dataset) of a new dataset."""
    if not paths:
        raise ProfileError("no sample file given")
    kind, pattern, date_format, days = file_naming([delivered_name(path) for path in paths])
    frames, file_format = read_sample(paths)
    text = pl.concat(frames)
    markers = null_markers(text) if file_format == "csv" else ()
    if markers:
        text = text.with_columns(pl.col(text.columns).str.strip_chars().replace(list(markers), None))
    columns = tuple(profile_column(name, text.get_column(name)) for name in text.columns)
    typed = text.select(parse_text(pl.col(column.name), column.dtype).alias(column.name) for column in columns)
    keys = key_candidates(columns, typed)
    key = set(keys[0]) if keys else set()
    small_feed = text.height <= SMALL_FEED_ROWS_PER_FILE * len(frames)
    enough = text.height >= NON_NULL_EVIDENCE_ROWS or (small_feed and len(frames) >= NON_NULL_EVIDENCE_DAYS)
    columns = tuple(
        replace(column, nullable=True) if column.name not in key and not enough else column for column in columns
    )
    has_date_parts = kind == "daily" and set(text.columns) >= DATE_PARTS
    on_file_day = tuple(
        column.name
        for column in columns
        if kind == "daily" and column.dtype == pl.Date() and _holds_file_day(frames, paths, column.name, markers)
    )
    return Profile(
        dataset=dataset,
        samples=tuple(path.name for path in paths),
        kind=kind,
        file_pattern=pattern,
        date_format=date_format,
        file_format=file_format,
        null_values=markers,
        columns=columns,
        key_candidates=keys,
        has_date_parts=has_date_parts,
        days=days,
        day_columns=on_file_day,
    )


def _holds_file_day(frames: Sequence[pl.DataFrame], paths: Sequence[Path], name: str, markers: Sequence[str]) -> bool:
    """Whether every row of each file has its file's day (the day in its name) in column ``name``."""
    for frame, path in zip(frames, paths, strict=True):
        [day] = file_naming([delivered_name(path)])[3]
        values = frame.get_column(name).str.strip_chars().replace(list(markers), None)
        parsed = values.to_frame("v").select(parse_text(pl.col("v"), pl.Date())).to_series()
        if parsed.null_count() or (parsed != day).any():
            return False
    return True
