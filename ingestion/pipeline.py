"""Ingest landed files: read each, check its columns, cast, validate, and split the records.

The result says, for each file, which rows go to the raw table, which go to quarantine and why,
and how serious it is. It writes nothing: the caller commits both halves in one transaction, so
``rows loaded + rows quarantined == records read`` holds for every file, whatever went wrong.

Severity:
- ERROR: nothing of the file can be trusted (unreadable, a required column missing, no records,
  or more rejects than the dataset's ``reject_threshold``). No row is loaded; every record goes
  to quarantine with the file-level reason, and the partition keeps what it had.
- WARN: some records were rejected (below threshold) or the file has extra columns.
- OK: every record passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

import polars as pl

from config.datasets import DatasetConfig
from ingestion.casting import SchemaDrift, cast_to_model, compare_columns, model_dtypes
from ingestion.completeness import Declared, count_problem, declared
from ingestion.evolution import under_current_contract
from ingestion.landing import LandedFile
from ingestion.lineage import LOADED_AT, PARTITION_DATE, ROW_NUMBER, RUN_ID, SOURCE_FILE, TIMESTAMP
from ingestion.reading import RawTable, UnreadableFileError, read_tables
from ingestion.validation import build_schema, empty_failure_cases, validate_rows

QUARANTINE_COLUMNS = {
    PARTITION_DATE: pl.Date,
    SOURCE_FILE: pl.String,
    ROW_NUMBER: pl.Int64,
    "failed_columns": pl.List(pl.String),
    "failed_checks": pl.List(pl.String),
    "reason": pl.String,
    "raw_record": pl.String,
    LOADED_AT: TIMESTAMP,
    RUN_ID: pl.String,
}


class Severity(StrEnum):
    OK = "OK"
    WARN = "WARN"
    ERROR = "ERROR"


def worst_severity(severities: Iterable[Severity]) -> Severity:
    """The most serious of ``severities`` (OK for none); declaration order is the ranking."""
    ranking = list(Severity)
    return max(severities, key=ranking.index, default=Severity.OK)


@dataclass
class FileIngestion:
    """What happened to one file. ``loaded`` and ``quarantined`` partition the records read."""

    dataset: str
    landed: LandedFile
    source_file: str
    loaded_at: datetime
    run_id: str
    sha256: str
    size_bytes: int
    records_read: int
    records_failed: int  # records that failed a check or could not be read: what the threshold judges
    loaded: pl.DataFrame | None  # None: nothing may be loaded (ERROR), the partition keeps what it had
    quarantined: pl.DataFrame
    failure_cases: pl.DataFrame  # record, column, check, failure_case (for check metadata)
    drift: SchemaDrift
    severity: Severity
    problems: list[str] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return self.loaded.height if self.loaded is not None else 0


def _lineage(frame: pl.DataFrame, source_file: str, loaded_at: datetime, run_id: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(source_file).alias(SOURCE_FILE),
        pl.lit(loaded_at).cast(QUARANTINE_COLUMNS[LOADED_AT]).alias(LOADED_AT),
        pl.lit(run_id).alias(RUN_ID),
    )


def _partition_date(landed: LandedFile) -> date | None:
    return date.fromisoformat(landed.partition_key) if landed.partition_key else None


def _failure_reasons(failures: pl.DataFrame, *record: str) -> pl.DataFrame:
    """Per record (the ``record`` key columns): the columns and checks it failed, and why, in words."""
    return failures.group_by(*record).agg(
        failed_columns=pl.col("column").unique().sort(),
        failed_checks=pl.col("check").unique().sort(),
        reason=pl.concat_str(
            pl.col("column"),
            pl.lit(": "),
            pl.col("check"),
            pl.format(" (value {})", "failure_case").fill_null(""),
        )
        .unique()
        .sort()
        .str.join("; "),
    )


def _refused_records(raw: RawTable, reason: str, landed: LandedFile) -> pl.DataFrame:
    """Quarantine records of a refused file: every record as written, with the file's reason (and the
    records that could not even be parsed, with theirs)."""
    record = pl.struct(raw.columns).struct.json_encode() if raw.columns else pl.lit("{}")
    parsed = raw.rows.select(
        ROW_NUMBER,
        raw_record=record,
        failed_columns=pl.lit([], dtype=pl.List(pl.String)),
        failed_checks=pl.lit(["file_rejected"]),
        reason=pl.lit(f"file rejected: {reason}"),
    )
    structural = raw.rejected.select(
        ROW_NUMBER,
        raw_record=pl.struct(_line=pl.col("raw")).struct.json_encode(),
        failed_columns=pl.lit([], dtype=pl.List(pl.String)),
        failed_checks=pl.lit(["malformed_record"]),
        reason=pl.col("reason"),
    )
    rows = pl.concat([parsed, structural], how="diagonal_relaxed")
    return rows.with_columns(pl.lit(_partition_date(landed), dtype=pl.Date).alias(PARTITION_DATE))


@dataclass(frozen=True)
class Delivery:
    """A landed file to ingest, and the lineage name its rows will carry (its archive path)."""

    landed: LandedFile
    source_file: str


@dataclass
class _Prepared:
    """A file read, with all the model's columns: waiting for the batch cast and validation."""

    delivery: Delivery
    digest: str
    size: int
    raw: RawTable
    drift: SchemaDrift
    problems: list[str]


FILE_INDEX = "_file_index"  # which file of the batch a row came from (batch validation only)


def ingest_files(
    dataset: DatasetConfig, deliveries: Sequence[Delivery], loaded_at: datetime, run_id: str
) -> list[FileIngestion]:
    """Turn landed files into rows to load and rows to quarantine; never raises for bad data.

    Each file is read on its own (its faults are its own), then the records of all of them are
    cast, validated, split and given their lineage together, in one pass each: the cost of
    Pandera and Polars is mostly per call, so a batch of a year of daily files costs about what
    one day does. Results are split back per file, so the severity, the reject threshold and
    ``loaded + quarantined == read`` still hold file by file.
    """
    dtypes = model_dtypes(dataset.schema_class)
    finished: dict[int, FileIngestion] = {}
    prepared: dict[int, _Prepared] = {}
    contents = [delivery.landed.path.read_bytes() for delivery in deliveries]
    tables = _read_whole(dataset, deliveries, contents)
    for index, (delivery, data, table) in enumerate(zip(deliveries, contents, tables, strict=True)):
        outcome = _prepare(dataset, delivery, data, table, dtypes, loaded_at, run_id)
        if isinstance(outcome, FileIngestion):
            finished[index] = outcome
        else:
            prepared[index] = outcome
    if prepared:
        finished |= _ingest_batch(dataset, prepared, dtypes, loaded_at, run_id)
    return [finished[index] for index in range(len(deliveries))]


def _read_whole(
    dataset: DatasetConfig, deliveries: Sequence[Delivery], contents: Sequence[bytes]
) -> list[RawTable | UnreadableFileError]:
    """Read each file, refusing whole any that its completeness rule says is not (ingestion/completeness.py)."""
    rule = dataset.completeness
    said: list[Declared | UnreadableFileError] = []
    for delivery, data in zip(deliveries, contents, strict=True):
        try:
            said.append(declared(rule, data, delivery.landed.path, delivery.landed.name))
        except UnreadableFileError as incomplete:
            said.append(incomplete)
    named = [
        (item.data if isinstance(item, Declared) else b"", delivery.landed.name)
        for item, delivery in zip(said, deliveries, strict=True)
    ]
    tables = read_tables(named, dataset.format, dataset.null_values, dataset.compression, dataset.limits)
    for index, (item, table) in enumerate(zip(said, tables, strict=True)):
        if isinstance(item, UnreadableFileError):
            tables[index] = item
        elif item.records is not None and isinstance(table, RawTable):
            tables[index] = count_problem(table.records_read, item.records, rule, named[index][1]) or table
    return tables


def _by_file(mapping: dict[int, object], dtype: pl.DataType) -> pl.Expr:
    """A column with each row's value of ``mapping`` by the file it came from."""
    return pl.col(FILE_INDEX).replace_strict(mapping, return_dtype=dtype)


def _ingest_batch(
    dataset: DatasetConfig,
    prepared: dict[int, _Prepared],
    dtypes: dict[str, pl.DataType],
    loaded_at: datetime,
    run_id: str,
) -> dict[int, FileIngestion]:
    """Cast, validate, judge and split the records of every prepared file at once."""
    ids = (FILE_INDEX, ROW_NUMBER)
    # A file with extra columns (drift) lines up by name; the selection drops them.
    text = _stacked({i: item.raw.rows for i, item in prepared.items()}).select(ROW_NUMBER, *dtypes, FILE_INDEX)
    cast = cast_to_model(text, dtypes, id_columns=ids)
    typed = cast.typed.join(cast.failures.select(ids).unique(), on=list(ids), how="anti")
    days = {i: _partition_date(item.delivery.landed) for i, item in prepared.items()}
    if dataset.kind == "daily":
        typed = typed.with_columns(_by_file(days, pl.Date).alias(PARTITION_DATE))
    checked = validate_rows(typed, build_schema(dataset.schema_class, dataset.primary_key), id_columns=ids)
    failures = pl.concat([cast.failures, checked.failure_cases])
    # A check that could not run proves nothing about any row: nothing of the batch loads.
    batch_error = f"validation could not run: {'; '.join(checked.frame_errors)}" if checked.frame_errors else None
    valid_counts: dict[int, int] = dict(checked.valid.group_by(FILE_INDEX).len().iter_rows())
    file_errors: dict[int, str] = {}
    rejected: dict[int, int] = {}
    for i, item in prepared.items():
        records = item.raw.records_read
        rejected[i] = records - valid_counts.get(i, 0)
        name = item.delivery.landed.name
        if batch_error:
            file_errors[i] = f"{name}: {batch_error}"
        elif records and rejected[i] / records > dataset.reject_threshold:
            file_errors[i] = (
                f"{name}: {rejected[i]} of {records} records ({rejected[i] / records:.1%}) failed validation, "
                f"over the {dataset.reject_threshold:.1%} threshold for {dataset.name}"
            )
    sources = {i: item.delivery.source_file for i, item in prepared.items()}
    lineage = (
        _by_file(sources, pl.String).alias(SOURCE_FILE),
        pl.lit(loaded_at).cast(QUARANTINE_COLUMNS[LOADED_AT]).alias(LOADED_AT),
        pl.lit(run_id).alias(RUN_ID),
    )
    loaded = checked.valid.filter(~pl.col(FILE_INDEX).is_in(list(file_errors))).with_columns(*lineage)
    quarantined = (
        _batch_quarantine(prepared, failures, file_errors)
        .with_columns(_by_file(days, pl.Date).alias(PARTITION_DATE), *lineage)
        .select(FILE_INDEX, *QUARANTINE_COLUMNS)
    )
    loaded_by_file, quarantined_by_file, failures_by_file = (
        _split(frame, prepared) for frame in (loaded, quarantined, failures)
    )
    results = {}
    for i, item in prepared.items():
        landed = item.delivery.landed
        problems = [*item.problems, *([file_errors[i]] if i in file_errors else [])]
        if i in file_errors:
            severity = Severity.ERROR
        elif quarantined_by_file[i].height or item.drift.extra or problems:
            severity = Severity.WARN
        else:
            severity = Severity.OK
        results[i] = FileIngestion(
            dataset=dataset.name,
            landed=landed,
            source_file=item.delivery.source_file,
            loaded_at=loaded_at,
            run_id=run_id,
            sha256=item.digest,
            size_bytes=item.size,
            records_read=item.raw.records_read,
            records_failed=rejected[i],
            loaded=None if i in file_errors else loaded_by_file[i],
            quarantined=quarantined_by_file[i],
            failure_cases=failures_by_file[i],
            drift=item.drift,
            severity=severity,
            problems=problems,
        )
    return results


def _batch_quarantine(
    prepared: dict[int, _Prepared], failures: pl.DataFrame, file_errors: dict[int, str]
) -> pl.DataFrame:
    """Quarantine records of a batch: rows with failed checks, every record of a refused file,
    and the records that could not even be parsed, each with the reason (FILE_INDEX kept)."""
    reasons = _failure_reasons(failures, FILE_INDEX, ROW_NUMBER)
    # The record as written, with the file's own columns (extra ones too), for the records that go
    # to quarantine only: those with a failed check, and every record of a refused file. Files with
    # the same columns are encoded together.
    quarantining = set(reasons.get_column(FILE_INDEX).unique().to_list()) | set(file_errors)
    by_columns: dict[tuple[str, ...], list[int]] = {}
    for i, item in prepared.items():
        if i in quarantining:
            by_columns.setdefault(tuple(item.raw.columns), []).append(i)
    failed_keys = reasons.select(FILE_INDEX, ROW_NUMBER)
    refused_file = pl.col(FILE_INDEX).is_in(list(file_errors))
    parts = []
    for columns, files in by_columns.items():
        rows = _stacked({i: prepared[i].raw.rows for i in files}).select(ROW_NUMBER, *columns, FILE_INDEX)
        kept = pl.concat(
            [
                rows.filter(refused_file),
                rows.filter(~refused_file).join(failed_keys, on=[FILE_INDEX, ROW_NUMBER], how="semi"),
            ]
        )
        parts.append(
            kept.select(
                FILE_INDEX, ROW_NUMBER, raw_record=pl.struct(columns).struct.json_encode() if columns else pl.lit("{}")
            )
        )
    records = (
        pl.concat(parts)
        if parts
        else pl.DataFrame(schema={FILE_INDEX: pl.Int64, ROW_NUMBER: pl.Int64, "raw_record": pl.String})
    )
    refused = pl.DataFrame(
        {FILE_INDEX: list(file_errors), "file_error": list(file_errors.values())},
        schema={FILE_INDEX: pl.Int64, "file_error": pl.String},
    )
    failed = records.join(reasons, on=[FILE_INDEX, ROW_NUMBER], how="inner").filter(
        ~pl.col(FILE_INDEX).is_in(list(file_errors))
    )
    whole = (
        records.join(refused, on=FILE_INDEX, how="inner")
        .join(reasons, on=[FILE_INDEX, ROW_NUMBER], how="left")
        .with_columns(
            failed_columns=pl.col("failed_columns").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            failed_checks=pl.concat_list(
                pl.lit(["file_rejected"]), pl.col("failed_checks").fill_null(pl.lit([], pl.List(pl.String)))
            ),
            reason=pl.concat_str(
                [pl.lit("file rejected: ") + pl.col("file_error"), pl.col("reason")], separator="; ", ignore_nulls=True
            ),
        )
        .drop("file_error")
    )
    structural = _stacked({i: item.raw.rejected for i, item in prepared.items()}).select(
        FILE_INDEX,
        ROW_NUMBER,
        raw_record=pl.struct(_line=pl.col("raw")).struct.json_encode(),
        failed_columns=pl.lit([], dtype=pl.List(pl.String)),
        failed_checks=pl.lit(["malformed_record"]),
        reason=pl.col("reason"),
    )
    return pl.concat([failed, whole, structural], how="diagonal_relaxed").sort(FILE_INDEX, maintain_order=True)


def _stacked(frames: Mapping[int, pl.DataFrame]) -> pl.DataFrame:
    """The files' ``frames`` one under the other (columns lined up by name), each row with its
    file's index in FILE_INDEX. One Polars call for the batch: a call per file would cost a backfill
    of thousands of small daily files more than their rows do."""
    files = pl.Series(FILE_INDEX, list(frames), dtype=pl.Int64)
    heights = pl.Series([frame.height for frame in frames.values()], dtype=pl.Int64)
    return pl.concat(list(frames.values()), how="diagonal").with_columns(
        files.repeat_by(heights).explode(empty_as_null=False)
    )


def _split(frame: pl.DataFrame, prepared: dict[int, _Prepared]) -> dict[int, pl.DataFrame]:
    """One frame per file of the batch (empty where a file has no rows in ``frame``)."""
    parts = {key[0]: part for key, part in frame.partition_by(FILE_INDEX, as_dict=True, include_key=False).items()}
    empty = frame.clear().drop(FILE_INDEX)
    return {i: parts.get(i, empty) for i in prepared}


def _prepare(
    dataset: DatasetConfig,
    delivery: Delivery,
    data: bytes,
    raw: RawTable | UnreadableFileError,
    dtypes: dict[str, pl.DataType],
    loaded_at: datetime,
    run_id: str,
) -> FileIngestion | _Prepared:
    """Check one file's columns (``data``: its bytes, ``raw``: as read); a file-level fault finishes it here."""
    landed = delivery.landed
    digest = hashlib.sha256(data).hexdigest()
    problems: list[str] = []
    if isinstance(raw, UnreadableFileError):
        no_records = RawTable(columns=[], rows=pl.DataFrame(schema={ROW_NUMBER: pl.Int64}))
        fault = FileFault(delivery, digest, len(data), no_records, SchemaDrift((), ()), [], str(raw))
        return _refused(dataset, fault, loaded_at, run_id)
    problems.extend(raw.warnings)
    raw = under_current_contract(raw, dataset.changes, _partition_date(landed))
    drift = compare_columns(raw.columns, dtypes)
    file_error: str | None = None
    if drift.missing:
        file_error = f"{landed.name}: {drift.describe()} (expected {list(dtypes)})"
    elif raw.records_read == 0:
        file_error = f"{landed.name}: header only, no records"
    if drift.extra:
        problems.append(f"{landed.name}: schema drift, {drift.describe()}; they are not loaded")
    if file_error:
        return _refused(
            dataset, FileFault(delivery, digest, len(data), raw, drift, problems, file_error), loaded_at, run_id
        )
    return _Prepared(delivery, digest, len(data), raw, drift, problems)


@dataclass(frozen=True)
class FileFault:
    """A file that cannot be taken as a whole (unreadable, a required column missing, no records)."""

    delivery: Delivery
    digest: str
    size: int
    raw: RawTable  # what could be read of it (every record goes to quarantine)
    drift: SchemaDrift
    problems: list[str]  # found before the fault (warnings, extra columns)
    reason: str


def _refused(dataset: DatasetConfig, fault: FileFault, loaded_at: datetime, run_id: str) -> FileIngestion:
    """A faulty file's outcome: nothing loads, every record goes to quarantine with the reason."""
    landed, source_file, raw = fault.delivery.landed, fault.delivery.source_file, fault.raw
    quarantined = _refused_records(raw, fault.reason, landed)
    return FileIngestion(
        dataset=dataset.name,
        landed=landed,
        source_file=source_file,
        loaded_at=loaded_at,
        run_id=run_id,
        sha256=fault.digest,
        size_bytes=fault.size,
        records_read=raw.records_read,
        # No validation pass ran, so no record was shown to be valid.
        records_failed=raw.records_read,
        loaded=None,
        quarantined=_lineage(quarantined, source_file, loaded_at, run_id).select(list(QUARANTINE_COLUMNS)),
        failure_cases=empty_failure_cases(),
        drift=fault.drift,
        severity=Severity.ERROR,
        problems=[*fault.problems, fault.reason],
    )
