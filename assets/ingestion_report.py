"""What an ingestion run tells the UI and the run log: metadata, the validation check, log lines."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
import polars as pl

from assets.metadata import markdown_table, null_counts
from config.datasets import DatasetConfig
from ingestion.pipeline import FileIngestion, Severity, worst_severity
from ingestion.reading import ROW_NUMBER
from ingestion.volume import Rule, Status

VALIDATION_CHECK = "pandera_validation"
SCHEMA_DRIFT_CHECK = "schema_drift"
VOLUME_CHECK = "volume_anomaly"
SAMPLE_SIZE = 10
# A column is reported as retyped when most of a file's values no longer parse as its declared type.
RETYPED_SHARE = 0.5


def failure_summary(results: Sequence[FileIngestion]) -> pl.DataFrame:
    """Failed checks by column, with how many records and a few example values."""
    frames = [
        result.failure_cases.with_columns(file=pl.lit(result.landed.name))
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
            values=pl.col("failure_case").drop_nulls().unique().sort().head(3).str.join(", "),
            rows=pl.col(ROW_NUMBER).unique().sort().head(3).cast(pl.String).str.join(", "),
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


def _totals(results: Sequence[FileIngestion]) -> dict[str, int]:
    return {
        "records_read": sum(result.records_read for result in results),
        "records_failed": sum(result.records_failed for result in results),
        "rows_loaded": sum(result.rows_loaded for result in results),
        "rows_quarantined": sum(result.quarantined.height for result in results),
    }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def files_refused(results: Sequence[FileIngestion], missing: Sequence[str]) -> int:
    """Partitions that loaded nothing: refused files, and files that were not there at all."""
    return sum(result.severity is Severity.ERROR for result in results) + len(missing)


def validation_summary(
    dataset: DatasetConfig, results: Sequence[FileIngestion], missing: Sequence[str], worst: Severity
) -> str:
    """One sentence that says what the check's severity says, with the same numbers as its metadata."""
    totals = _totals(results)
    read, failed, quarantined = totals["records_read"], totals["records_failed"], totals["rows_quarantined"]
    files = f"{len(results) + len(missing)} file(s)"
    if worst is Severity.OK:
        return f"all {read} records of {files} passed {dataset.schema_ref}"
    counts = (
        f"{failed} of {read} records ({_share(failed, read):.1%}) failed {dataset.schema_ref}; "
        f"{totals['rows_loaded']} loaded, {quarantined} quarantined"
    )
    if worst is Severity.WARN:
        return f"{counts}, within the {dataset.reject_threshold:.1%} threshold"
    refused = f"{files_refused(results, missing)} of {files} refused or missing, nothing of them loaded"
    return f"{refused} ({counts})"


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
    # The first problem (a refused file, a missing one) says why, the summary how much: both, always.
    description = validation_summary(dataset, results, missing, worst)
    if problems:
        description = f"{problems[0]} | {description}"
    return dg.AssetCheckResult(
        check_name=VALIDATION_CHECK,
        passed=worst is Severity.OK,
        severity=dg.AssetCheckSeverity.ERROR if worst is Severity.ERROR else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "outcome": worst.value,
            "rows_checked": read,
            # reject_rate is what the threshold judges (records that failed a check); a refused file
            # also quarantines its valid records, so rows_quarantined can be higher than rows_rejected.
            "rows_rejected": totals["records_failed"],
            "reject_rate": round(_share(totals["records_failed"], read), 6),
            "rows_quarantined": totals["rows_quarantined"],
            "files_refused": files_refused(results, missing),
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
        f"{result.dataset} {result.landed.partition_key or '(reference)'} from {result.landed.name}: "
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


def retyped_columns(result: FileIngestion) -> dict[str, str]:
    """Columns of a file whose values mostly fail to parse as declared: the feed changed their type."""
    casts = result.failure_cases.filter(pl.col("check").str.starts_with("dtype("))
    counts = casts.group_by("column", "check").agg(records=pl.len(), example=pl.col("failure_case").first())
    return {
        row["column"]: f"{row['records']} of {result.records_read} values fail {row['check']}, e.g. {row['example']!r}"
        for row in counts.iter_rows(named=True)
        if result.records_read and row["records"] / result.records_read > RETYPED_SHARE
    }


def schema_drift_check(results: Sequence[FileIngestion]) -> dg.AssetCheckResult:
    """New, missing or retyped columns in the landed files (each file compared with the model)."""
    findings = []
    for result in results:
        name = result.landed.name
        findings += [f"{name}: new column {column!r} (not loaded)" for column in result.drift.extra]
        findings += [f"{name}: missing column {column!r}" for column in result.drift.missing]
        findings += [
            f"{name}: column {column!r} retyped: {detail}" for column, detail in retyped_columns(result).items()
        ]
    return dg.AssetCheckResult(
        check_name=SCHEMA_DRIFT_CHECK,
        passed=not findings,
        severity=dg.AssetCheckSeverity.WARN,
        description=findings[0] if findings else "every file has exactly the declared columns and types",
        metadata={
            "files_checked": len(results),
            "drift": dg.MetadataValue.md("\n".join(f"- {f}" for f in findings) or "_none_"),
        },
    )


def volume_check(report: pl.DataFrame) -> dg.AssetCheckResult:
    """Row counts of the loaded days against their history, naming the rule that judged each (ingestion/volume.py)."""
    anomalies = report.filter(pl.col("status") == Status.ANOMALY)
    lines = [
        f"{row['day']} ({row['day']:%A}): {row['rows']} rows, expected {row['lower']:.0f}-{row['upper']:.0f} "
        f"by the {row['rule']}"
        for row in anomalies.iter_rows(named=True)
    ]
    by_rule = {rule: report.filter((pl.col("rule") == rule) & (pl.col("status") == Status.OK)).height for rule in Rule}
    not_judged = report.filter(pl.col("status") == Status.NOT_JUDGED).height
    verdicts = [
        f"{by_rule[rule]} within the {rule}" for rule in (Rule.WEEKDAY_BAND, Rule.RECENT_RATIO) if by_rule[rule]
    ]
    if not_judged:
        verdicts.append(f"{not_judged} not judged (no earlier day in the last four weeks to compare with)")
    summary = f"{report.height} day(s): " + ", ".join(verdicts)
    return dg.AssetCheckResult(
        check_name=VOLUME_CHECK,
        passed=anomalies.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(lines[:3]) + (f" | {summary}" if verdicts else "") if lines else summary,
        metadata={
            "days_checked": report.height,
            "anomalies": anomalies.height,
            "judged_by_weekday_band": report.filter(pl.col("rule") == Rule.WEEKDAY_BAND).height,
            "judged_by_recent_ratio": report.filter(pl.col("rule") == Rule.RECENT_RATIO).height,
            "not_judged": not_judged,
            "report": markdown_table(report.with_columns(pl.col("expected", "lower", "upper").round(0)), max_rows=31),
        },
    )
