"""What a load keeps of its files once their rows are committed: counts and a bounded digest.

A load streams its files in batches (ingestion/load.py) and drops each batch's frames once they
are committed. The run's checks, metadata and log are built from this summary, whose size follows
the number of files (a few numbers each) and never the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import polars as pl

from ingestion.casting import SchemaDrift
from ingestion.lineage import CONSTANT_PER_LOAD, ROW_NUMBER, SOURCE_FILE
from ingestion.pipeline import FileIngestion, Severity, worst_severity

SAMPLE_SIZE = 10  # quarantined records pointed at as examples
PREVIEW_ROWS = 5  # loaded rows shown as a preview
EXAMPLES = 3  # failing values (or record numbers) named per check
# A column is reported as retyped when most of a file's values no longer parse as its declared type.
RETYPED_SHARE = 0.5
FAILURES_SCHEMA = {"column": pl.String, "check": pl.String, "records": pl.UInt32, "examples": pl.String}
# Where a quarantined record is, never what it holds: its contents and the values that failed stay
# in the quarantine table, out of the metadata, alerts and lineage that more people see.
SAMPLE_COLUMNS = (SOURCE_FILE, ROW_NUMBER)


NO_FAILURES = pl.DataFrame(schema=FAILURES_SCHEMA)


def summarize_failures(failure_cases: pl.DataFrame) -> pl.DataFrame:
    """Failed checks by column, with how many records and a few example values (FAILURES_SCHEMA)."""
    if failure_cases.is_empty():  # most files: no Polars call at all (a load has thousands of them)
        return NO_FAILURES
    return (
        failure_cases.group_by("column", "check")
        .agg(
            records=pl.col(ROW_NUMBER).len(),
            values=pl.col("failure_case").drop_nulls().unique().sort().head(EXAMPLES).str.join(", "),
            rows=pl.col(ROW_NUMBER).unique().sort().head(EXAMPLES).cast(pl.String).str.join(", "),
        )
        # A row-level rule (several columns) has no single failing value: name the records instead.
        .select(
            "column",
            "check",
            "records",
            examples=pl.when((pl.col("values") != "").fill_null(False))
            .then(pl.col("values"))
            .otherwise(pl.concat_str(pl.lit("records "), pl.col("rows"))),
        )
        .sort("records", descending=True)
    )


def combine_failures(summaries: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """Per-file failure summaries added up: records summed, the first file's examples kept."""
    frames = [frame for frame in summaries if not frame.is_empty()]
    if not frames:
        return NO_FAILURES
    return (
        pl.concat(frames)
        .group_by("column", "check", maintain_order=True)
        .agg(records=pl.col("records").sum(), examples=pl.col("examples").first())
        .sort("records", descending=True, maintain_order=True)
    )


def retyped_columns(failure_cases: pl.DataFrame, records_read: int) -> dict[str, str]:
    """Columns of a file whose values mostly fail to parse as declared: the feed changed their type."""
    if failure_cases.is_empty():
        return {}
    casts = failure_cases.filter(pl.col("check").str.starts_with("dtype("))
    counts = casts.group_by("column", "check").agg(records=pl.len(), example=pl.col("failure_case").first())
    return {
        row["column"]: f"{row['records']} of {records_read} values fail {row['check']}, e.g. {row['example']!r}"
        for row in counts.iter_rows(named=True)
        if records_read and row["records"] / records_read > RETYPED_SHARE
    }


@dataclass(frozen=True)
class FileReport:
    """One file's outcome without its rows: what the log, the checks and the metadata say about it."""

    dataset: str
    partition_key: str | None
    name: str  # the landed file's name
    source_file: str  # its archived copy, as its rows name it
    records_read: int
    records_failed: int
    rows_loaded: int
    rows_quarantined: int
    severity: Severity
    problems: tuple[str, ...]
    drift: SchemaDrift
    retyped: dict[str, str]
    failures: pl.DataFrame  # summarize_failures of the file's failure cases

    @classmethod
    def of(cls, result: FileIngestion) -> FileReport:
        return cls(
            dataset=result.dataset,
            partition_key=result.landed.partition_key,
            name=result.landed.name,
            source_file=result.source_file,
            records_read=result.records_read,
            records_failed=result.records_failed,
            rows_loaded=result.rows_loaded,
            rows_quarantined=result.quarantined.height,
            severity=result.severity,
            problems=tuple(result.problems),
            drift=result.drift,
            retyped=retyped_columns(result.failure_cases, result.records_read),
            failures=summarize_failures(result.failure_cases),
        )


@dataclass
class LoadSummary:
    """Every file of a load as a FileReport, plus the few rows the UI shows as examples."""

    files: list[FileReport] = field(default_factory=list)
    failure_samples: pl.DataFrame = field(default_factory=pl.DataFrame)  # where the first quarantined records are
    preview: pl.DataFrame = field(default_factory=pl.DataFrame)  # the first loaded rows
    null_counts: dict[str, int] = field(default_factory=dict)  # per loaded column, over every loaded row

    def add(self, results: Sequence[FileIngestion]) -> list[FileReport]:
        """Take in a committed batch; returns its files' reports. The batch's frames can then go."""
        reports = [FileReport.of(result) for result in results]
        self.files.extend(reports)
        for result in results:
            self._sample(result)
        # Null counts over the batch's loaded rows at once, not file by file.
        loaded = [result.loaded for result in results if result.loaded is not None and not result.loaded.is_empty()]
        if loaded:
            batch = pl.concat(loaded, how="diagonal_relaxed").drop(CONSTANT_PER_LOAD, strict=False)
            for column, nulls in batch.null_count().row(0, named=True).items():
                self.null_counts[column] = self.null_counts.get(column, 0) + int(nulls)
        return reports

    def _sample(self, result: FileIngestion) -> None:
        if self.failure_samples.height < SAMPLE_SIZE and not result.quarantined.is_empty():
            rows = result.quarantined.select(SAMPLE_COLUMNS).head(SAMPLE_SIZE - self.failure_samples.height)
            self.failure_samples = pl.concat([self.failure_samples, rows]) if self.failure_samples.width else rows
        if result.loaded is not None and not result.loaded.is_empty() and self.preview.height < PREVIEW_ROWS:
            rows = result.loaded.head(PREVIEW_ROWS - self.preview.height)
            self.preview = pl.concat([self.preview, rows], how="diagonal_relaxed") if self.preview.width else rows

    @property
    def records_read(self) -> int:
        return sum(report.records_read for report in self.files)

    @property
    def records_failed(self) -> int:
        return sum(report.records_failed for report in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(report.rows_loaded for report in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(report.rows_quarantined for report in self.files)

    @property
    def worst(self) -> Severity:
        return worst_severity(report.severity for report in self.files)

    @property
    def problems(self) -> list[str]:
        return [problem for report in self.files for problem in report.problems]

    def failures(self) -> pl.DataFrame:
        return combine_failures(report.failures for report in self.files)
