"""What an ingestion run tells the UI and the run log: metadata, the validation check, log lines."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
import polars as pl

from assets.metadata import markdown_table
from config.datasets import DatasetConfig
from config.names import (
    DRIFT_CHANGES,
    ROWS_LOADED,
    ROWS_QUARANTINED,
    ROWS_READ,
    SCHEMA_DRIFT_CHECK,
    VALIDATION_CHECK,
    VOLUME_CHECK,
)
from ingestion.casting import column_label
from ingestion.load import LISTED
from ingestion.pipeline import Severity, worst_severity
from ingestion.summary import SAMPLE_SIZE, FileReport, LoadSummary
from ingestion.volume import Rule, Status
from warehouse.layout import quarantine_table


def failure_summary(summary: LoadSummary) -> pl.DataFrame:
    """Failed checks by column, with how many records and a few example values."""
    return summary.failures()


def _listed(items: Sequence[str]) -> list[str]:
    if len(items) <= LISTED:
        return list(items)
    return [*items[: LISTED // 2], f"... {len(items) - LISTED} more ...", *items[-(LISTED // 2) :]]


def _bullets(items: Sequence[str]) -> dg.MarkdownMetadataValue:
    shown = items[:LISTED]
    more = [f"- ... and {len(items) - LISTED} more"] if len(items) > LISTED else []
    return dg.MetadataValue.md("\n".join([*(f"- {item}" for item in shown), *more]) or "_none_")


def _totals(counted: LoadSummary | FileReport) -> dict[str, int]:
    """The four counts of a whole load or of one file (both keep them under the same names)."""
    return {
        "records_read": counted.records_read,
        "records_failed": counted.records_failed,
        "rows_loaded": counted.rows_loaded,
        "rows_quarantined": counted.rows_quarantined,
    }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def files_refused(summary: LoadSummary, unread: Sequence[str]) -> int:
    """Partitions that loaded nothing: refused files, files that were not there, and entries not read."""
    return sum(report.severity is Severity.ERROR for report in summary.files) + len(unread)


def validation_summary(dataset: DatasetConfig, summary: LoadSummary, unread: Sequence[str], worst: Severity) -> str:
    """One sentence that says what the check's severity says, with the same numbers as its metadata."""
    totals = _totals(summary)
    read, failed, quarantined = totals["records_read"], totals["records_failed"], totals["rows_quarantined"]
    files = f"{len(summary.files) + len(unread)} file(s)"
    if worst is Severity.OK:
        return f"all {read} records of {files} passed {dataset.schema_ref}"
    counts = (
        f"{failed} of {read} records ({_share(failed, read):.1%}) failed {dataset.schema_ref}; "
        f"{totals['rows_loaded']} loaded, {quarantined} quarantined"
    )
    if worst is Severity.WARN:
        return f"{counts}, within the {dataset.reject_threshold:.1%} threshold"
    refused = f"{files_refused(summary, unread)} of {files} refused, missing or not read, nothing of them loaded"
    return f"{refused} ({counts})"


def materialization_metadata(summary: LoadSummary) -> dict[str, object]:
    """Metadata of a successful load: counts, files, nulls, a preview of what was loaded."""
    totals = _totals(summary)
    return {
        "dagster/row_count": totals["rows_loaded"],
        **totals,
        "partitions": len(summary.files),
        "files": _listed([report.source_file for report in summary.files]),
        "severity": summary.worst.value,
        "null_counts": summary.null_counts,
        "preview": markdown_table(summary.preview.drop("_loaded_at", "_run_id", strict=False), max_rows=5),
    }


def file_metadata(report: FileReport) -> dict[str, object]:
    """Metadata of one file's partition (a load that fails some partitions records the others one by one)."""
    return {
        "dagster/row_count": report.rows_loaded,
        **_totals(report),
        "files": [report.source_file],
        "severity": report.severity.value,
    }


def validation_check(dataset: DatasetConfig, summary: LoadSummary, unread: Sequence[str]) -> dg.AssetCheckResult:
    """The Pandera validation outcome as an asset check: OK passes, WARN and ERROR fail at their severity."""
    totals = _totals(summary)
    worst = worst_severity([summary.worst, *([Severity.ERROR] if unread else [])])
    problems = [*summary.problems, *unread]
    read = totals["records_read"]
    # The first problem (a refused file, a missing or unread one) says why, the summary how much: both, always.
    description = validation_summary(dataset, summary, unread, worst)
    if problems:
        description = f"{problems[0]} | {description}"
    return dg.AssetCheckResult(
        check_name=VALIDATION_CHECK,
        passed=worst is Severity.OK,
        severity=dg.AssetCheckSeverity.ERROR if worst is Severity.ERROR else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "outcome": worst.value,
            ROWS_READ: read,
            ROWS_LOADED: totals["rows_loaded"],
            # reject_rate is what the threshold judges (records that failed a check); a refused file
            # also quarantines its valid records, so rows_quarantined can be higher than rows_rejected.
            "rows_rejected": totals["records_failed"],
            "reject_rate": round(_share(totals["records_failed"], read), 6),
            ROWS_QUARANTINED: totals["rows_quarantined"],
            "files_refused": files_refused(summary, unread),
            "reject_threshold": dataset.reject_threshold,
            "schema": dataset.schema_ref,
            "problems": _bullets(problems),
            "failures_by_check": markdown_table(failure_summary(summary), max_rows=20),
            # Where the first quarantined records are: their contents stay in the quarantine table.
            "quarantined_rows": markdown_table(summary.failure_samples, max_rows=SAMPLE_SIZE),
            "quarantine_table": quarantine_table(dataset.name),
        },
    )


def _file_line(report: FileReport) -> str:
    line = (
        f"{report.dataset} {report.partition_key or '(reference)'} from {report.name}: "
        f"{report.records_read} read, {report.rows_loaded} loaded, {report.rows_quarantined} quarantined "
        f"[{report.severity.value}]"
    )
    details = "".join(f"\n  - {problem}" for problem in report.problems)
    for row in report.failures.head(5).iter_rows(named=True):
        details += (
            f"\n  - {row['column']}: {row['check']} failed for {row['records']} record(s), e.g. {row['examples']}"
        )
    return line + details


def log_batch(log: dg.DagsterLogManager, reports: Sequence[FileReport]) -> None:
    """A line per file that had a problem, at its severity, naming the file and the problems; the
    clean files of the batch in one line (a backfill's thousands of clean days are not news)."""
    clean = [report for report in reports if report.severity is Severity.OK]
    for report in reports:
        if report.severity is Severity.ERROR:
            log.error(_file_line(report))
        elif report.severity is Severity.WARN:
            log.warning(_file_line(report))
    if len(clean) == 1:
        log.info(_file_line(clean[0]))
    elif clean:
        first, last = clean[0].partition_key, clean[-1].partition_key
        log.info(
            f"{clean[0].dataset} {first}..{last}: {len(clean)} files, every record valid: "
            f"{sum(report.records_read for report in clean)} read and loaded [OK]"
        )


def schema_drift_check(summary: LoadSummary) -> dg.AssetCheckResult:
    """New, missing or retyped columns in the landed files (each file compared with the model)."""
    findings = []
    changes: set[str] = set()  # each change once, whichever files show it: what a drift alert is about
    for report in summary.files:
        found = [f"new column {column_label(column)} (not loaded)" for column in report.drift.extra]
        found += [f"missing column {column!r}" for column in report.drift.missing]
        found += [f"column {column!r} retyped: {detail}" for column, detail in report.retyped.items()]
        findings += [f"{report.name}: {change}" for change in found]
        changes.update(found)
    return dg.AssetCheckResult(
        check_name=SCHEMA_DRIFT_CHECK,
        passed=not findings,
        severity=dg.AssetCheckSeverity.WARN,
        description=findings[0] if findings else "every file has exactly the declared columns and types",
        metadata={"files_checked": len(summary.files), "drift": _bullets(findings), DRIFT_CHANGES: sorted(changes)},
    )


def nothing_to_judge_check() -> dg.AssetCheckResult:
    """The volume check of a run that loaded no day (its files refused or missing: the validation
    check says why): there are no row counts to judge."""
    return dg.AssetCheckResult(
        check_name=VOLUME_CHECK,
        passed=True,
        description="no day was loaded by this run, so no row count to judge (pandera_validation says why)",
        metadata={"days_checked": 0, "anomalies": 0},
    )


def volume_unjudged_check(why: str) -> dg.AssetCheckResult:
    """The volume check of a load whose rows are committed but whose history could not be read
    afterwards (the catalog or the object store went away): a warning that says so, not a failed load."""
    return dg.AssetCheckResult(
        check_name=VOLUME_CHECK,
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"the loaded days are committed, but their row counts could not be compared with their "
        f"history: {why}. The next load of the dataset judges its own days; re-run this one to judge these.",
        metadata={"days_checked": 0, "anomalies": 0, "unread_because": why},
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
    # Too few rows is a delivery missing or cut short: an ERROR, which alerts. Too many is a WARN.
    short = not anomalies.filter(pl.col("rows") < pl.col("lower")).is_empty()
    return dg.AssetCheckResult(
        check_name=VOLUME_CHECK,
        passed=anomalies.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR if short else dg.AssetCheckSeverity.WARN,
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
