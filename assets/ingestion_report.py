"""What an ingestion run tells the UI and the run log: metadata, the validation check, log lines."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
import polars as pl

from assets.metadata import markdown_table, null_counts
from config.datasets import DatasetConfig
from ingestion.pipeline import FileIngestion, Severity, worst_severity
from ingestion.reading import ROW_NUMBER

VALIDATION_CHECK = "pandera_validation"
SAMPLE_SIZE = 10


def failure_summary(results: Sequence[FileIngestion]) -> pl.DataFrame:
    """Failed checks by column, with how many records and a few example values."""
    frames = [
        result.failure_cases.with_columns(file=pl.lit(result.landed.path.name))
        for result in results
        if not result.failure_cases.is_empty()
    ]
    if not frames:
        return pl.DataFrame(
            schema={"column": pl.String, "check": pl.String, "records": pl.UInt32, "examples": pl.String}
        )
    return (
        pl.concat(frames)
        .group_by("column", "check")
        .agg(
            records=pl.col(ROW_NUMBER).len(),
            examples=pl.col("failure_case").drop_nulls().unique().sort().head(3).str.join(", "),
        )
        .sort("records", descending=True)
    )


def _totals(results: Sequence[FileIngestion]) -> dict[str, int]:
    return {
        "records_read": sum(result.records_read for result in results),
        "rows_loaded": sum(result.rows_loaded for result in results),
        "rows_quarantined": sum(result.quarantined.height for result in results),
    }


def materialization_metadata(results: Sequence[FileIngestion]) -> dict[str, object]:
    """Metadata of a successful load: counts, files, nulls, a preview of what was loaded."""
    totals = _totals(results)
    loaded = [result.loaded for result in results if result.loaded is not None and not result.loaded.is_empty()]
    frame = pl.concat(loaded, how="diagonal_relaxed") if loaded else pl.DataFrame()
    return {
        "dagster/row_count": totals["rows_loaded"],
        **totals,
        "partitions": len(results),
        "files": [result.source_file for result in results],
        "severity": worst_severity(result.severity for result in results).value,
        "null_counts": null_counts(frame.drop("_source_file", "_loaded_at", "_run_id", strict=False)),
        "preview": markdown_table(frame.drop("_loaded_at", "_run_id", strict=False), max_rows=5),
    }


def validation_check(
    dataset: DatasetConfig, results: Sequence[FileIngestion], missing: Sequence[str]
) -> dg.AssetCheckResult:
    """The Pandera validation outcome as an asset check: OK passes, WARN and ERROR fail at their severity."""
    totals = _totals(results)
    worst = worst_severity([*(result.severity for result in results), *([Severity.ERROR] if missing else [])])
    summary = failure_summary(results)
    samples = pl.concat([result.quarantined for result in results]) if results else pl.DataFrame()
    problems = [problem for result in results for problem in result.problems] + list(missing)
    read = totals["records_read"]
    return dg.AssetCheckResult(
        check_name=VALIDATION_CHECK,
        passed=worst is Severity.OK,
        severity=dg.AssetCheckSeverity.ERROR if worst is Severity.ERROR else dg.AssetCheckSeverity.WARN,
        description=problems[0] if problems else f"{read} records passed {dataset.schema_ref}",
        metadata={
            "rows_checked": read,
            "rows_rejected": totals["rows_quarantined"],
            "reject_rate": round(totals["rows_quarantined"] / read, 6) if read else 0.0,
            "reject_threshold": dataset.reject_threshold,
            "schema": dataset.schema_ref,
            "problems": dg.MetadataValue.md("\n".join(f"- {problem}" for problem in problems) or "_none_"),
            "failures_by_check": markdown_table(summary, max_rows=20),
            "failure_samples": markdown_table(
                samples.select("_source_file", ROW_NUMBER, "reason", "raw_record")
                if not samples.is_empty()
                else samples,
                max_rows=SAMPLE_SIZE,
            ),
        },
    )


def log_result(log: dg.DagsterLogManager, result: FileIngestion) -> None:
    """One line per file, at the level its severity deserves, naming the file and the problems."""
    line = (
        f"{result.dataset} {result.landed.partition_key or '(reference)'} from {result.landed.path.name}: "
        f"{result.records_read} read, {result.rows_loaded} loaded, {result.quarantined.height} quarantined "
        f"[{result.severity.value}]"
    )
    details = "".join(f"\n  - {problem}" for problem in result.problems)
    for row in failure_summary([result]).head(5).iter_rows(named=True):
        details += (
            f"\n  - {row['column']}: {row['check']} failed for {row['records']} record(s), e.g. {row['examples']}"
        )
    if result.severity is Severity.ERROR:
        log.error(line + details)
    elif result.severity is Severity.WARN:
        log.warning(line + details)
    else:
        log.info(line)
