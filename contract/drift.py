"""`profile --compare`: how a dataset's landed days drift from its contract, in a table to act on.

For the days asked (all of a reference dataset), each column of the contract (the Pandera model) is
set against what landed, comparing the first half of the days with the second, so a trend shows:

- ranges: the observed extremes against the bounds, and the share of the range left: watch when the
  second half is within 10% of a bound and closer than the first (at a bound in both halves is a
  limit of the data, such as 100% humidity);
- allowed values and patterns: the values refused for not being in the contract (new values: act),
  read from quarantine;
- missing values: the null rate of each half (watch when it rises by a percentage point or more),
  and rows refused for a missing value where the contract says never;
- everything quarantined in the period, per column and check.

Reads the warehouse read-only (either backend); writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from config.datasets import DatasetConfig, load_datasets
from config.settings import Settings
from ingestion.lineage import PARTITION_DATE
from warehouse.backend import Warehouse
from warehouse.catalog import table_exists
from warehouse.layout import quarantine_table, raw_table

HEADROOM_WATCH = 0.10  # of a range's span
NULL_RATE_RISE = 0.01  # one percentage point
EXAMPLES = 3


@dataclass(frozen=True)
class Finding:
    column: str
    contract: str
    observed: str
    verdict: str  # ok | watch | act, with why


def _halves(days: list[date]) -> tuple[list[date], list[date]]:
    middle = len(days) // 2
    return days[:middle], days[middle:]


def _where(dataset: DatasetConfig, days: list[date]) -> str:
    if dataset.kind != "daily":
        return "true"
    if not days:
        return "false"
    listed = ", ".join(f"DATE '{day}'" for day in days)
    return f"{PARTITION_DATE} in ({listed})"


def _quarantined(connection: duckdb.DuckDBPyConnection, dataset: DatasetConfig, days: list[date]) -> pl.DataFrame:
    """Rows refused in the period: one row per refused record and column it failed, with the value."""
    table = quarantine_table(dataset.name)
    if not table_exists(connection, table):
        return pl.DataFrame(schema={"column": pl.String, "check": pl.String, "value": pl.String})
    # A record's reason is "column: check (value v)" for each failure, joined by "; ".
    pairs = connection.execute(
        f"""
        SELECT regexp_extract(pair, '^([^:]+): ', 1) AS failed_column,
            regexp_extract(pair, '^[^:]+: (.*?)( [(]value .*[)])?$', 1) AS failed_check,
            nullif(regexp_extract(pair, ' [(]value (.*)[)]$', 1), '') AS failed_value
        FROM (SELECT unnest(string_split(reason, '; ')) AS pair FROM {table} WHERE {_where(dataset, days)})
        """
    ).pl()
    return pairs.rename({"failed_column": "column", "failed_check": "check", "failed_value": "value"})


def _rules(model: object) -> dict[str, dict[str, object]]:
    return {
        name: {check.name: check.statistics for check in column.checks} | {"nullable": column.nullable}
        for name, column in model.to_schema().columns.items()  # type: ignore[attr-defined]
    }


def _null_rates(connection: duckdb.DuckDBPyConnection, table: str, column: str, where: str) -> float | None:
    [(rows, nulls)] = connection.execute(
        f'SELECT count(*), count(*) - count("{column}") FROM {table} WHERE {where}'
    ).fetchall()
    return nulls / rows if rows else None


def _extremes(
    connection: duckdb.DuckDBPyConnection, table: str, column: str, where: str
) -> tuple[float | None, float | None]:
    [(low, high)] = connection.execute(f'SELECT min("{column}"), max("{column}") FROM {table} WHERE {where}').fetchall()
    return low, high


def _headroom(low: object, high: object, lower: float, upper: float) -> float | None:
    """The share of the range ``lower..upper`` left between the observed extremes and the nearer bound."""
    if low is None or high is None or upper == lower:
        return None
    return min((low - lower) / (upper - lower), (upper - high) / (upper - lower))  # type: ignore[operator]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def compare_column(
    connection: duckdb.DuckDBPyConnection,
    dataset: DatasetConfig,
    name: str,
    rules: dict[str, object],
    halves: tuple[list[date], list[date]],
    refused: pl.DataFrame,
) -> list[Finding]:
    table = raw_table(dataset.name)
    first, second = (_where(dataset, half) for half in halves)
    findings = []
    mine = refused.filter(pl.col("column") == name)
    rates = [_null_rates(connection, table, name, where) for where in (first, second)]
    if rules["nullable"]:
        rising = rates[0] is not None and rates[1] is not None and rates[1] - rates[0] >= NULL_RATE_RISE
        verdict = f"watch: null rate rising {_percent(rates[0])} -> {_percent(rates[1])}" if rising else "ok"
        findings.append(Finding(name, "nullable", f"null {_percent(rates[0])} -> {_percent(rates[1])}", verdict))
    else:
        missing = mine.filter(pl.col("check") == "not_nullable").height
        verdict = f"act: {missing:,} row(s) refused for a missing value" if missing else "ok"
        findings.append(Finding(name, "never null", f"{missing:,} refused as missing", verdict))
    if "in_range" in rules:
        bounds = rules["in_range"]
        low, high = bounds["min_value"], bounds["max_value"]  # type: ignore[index]
        (low1, high1), (low2, high2) = (_extremes(connection, table, name, where) for where in (first, second))
        observed = f"{_number(low1)}..{_number(high1)} -> {_number(low2)}..{_number(high2)}"
        before, after = _headroom(low1, high1, low, high), _headroom(low2, high2, low, high)
        out = mine.filter(pl.col("check").str.starts_with("in_range"))
        if out.height:
            verdict = f"act: {out.height:,} value(s) outside, e.g. {_examples(out)}"
        elif after is not None and after < HEADROOM_WATCH and (before is None or after < before):
            verdict = f"watch: moving toward a bound, {_percent(before)} -> {_percent(after)} of the range left"
        elif after is not None and after < HEADROOM_WATCH:
            verdict = "ok (as near a bound in the first half: not moving)"
        else:
            verdict = "ok"
        findings.append(Finding(name, f"in_range {_number(low)}..{_number(high)}", observed, verdict))
    for check in ("isin", "str_matches"):
        if check not in rules:
            continue
        statistics = rules[check]
        contract = (
            f"isin {len(statistics['allowed_values'])} values"  # type: ignore[index]
            if check == "isin"
            else f"str_matches {statistics['pattern']}"  # type: ignore[index]
        )
        out = mine.filter(pl.col("check").str.starts_with(check))
        verdict = f"act: {out.height:,} value(s) refused, e.g. {_examples(out)}" if out.height else "ok"
        findings.append(Finding(name, contract, f"{out.height:,} refused", verdict))
    return findings


def _examples(refused: pl.DataFrame) -> str:
    values = refused.get_column("value").drop_nulls().unique(maintain_order=True).head(EXAMPLES).to_list()
    return ", ".join(repr(value) for value in values) or "(no value)"


def _number(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.6g}"


def compare(
    settings: Settings, warehouse: Warehouse, name: str, start: date | None, end: date | None
) -> tuple[list[date], list[Finding]]:
    """The findings for dataset ``name`` over the landed days from ``start`` to ``end``."""
    datasets = load_datasets(settings.datasets_path)
    if name not in datasets:
        raise KeyError(f"no dataset {name!r} in {settings.datasets_path} (there are {', '.join(datasets)})")
    dataset = datasets[name]
    if not warehouse.exists():
        raise KeyError(f"{raw_table(name)} does not exist yet: the warehouse at {warehouse.location} has no loads")
    with warehouse.read_only() as connection:
        table = raw_table(name)
        if not table_exists(connection, table):
            raise KeyError(f"{table} does not exist yet: nothing of {name} has been loaded")
        days: list[date] = []
        if dataset.kind == "daily":
            rows = connection.execute(
                f"SELECT DISTINCT {PARTITION_DATE} FROM {table} WHERE {PARTITION_DATE} BETWEEN ? AND ? ORDER BY 1",
                [start or date.min, end or date.max],
            ).fetchall()
            days = [day for (day,) in rows]
            if not days:
                raise KeyError(f"{name} has no landed days between {start or 'the first'} and {end or 'the last'}")
        halves = _halves(days) if days else ([], [])
        refused = _quarantined(connection, dataset, days)
        findings = [
            finding
            for column, rules in _rules(dataset.schema_class).items()
            for finding in compare_column(connection, dataset, column, rules, halves, refused)
        ]
    return days, findings


def render(name: str, days: list[date], findings: list[Finding]) -> str:
    span = f"{days[0]} .. {days[-1]} ({len(days)} days, compared half against half)" if days else "the whole table"
    rows = [
        ("column", "contract", "observed", "verdict"),
        *((f.column, f.contract, f.observed, f.verdict) for f in findings),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{name} against its contract, {span}"]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3])
    counts = {word: sum(f.verdict.startswith(word) for f in findings) for word in ("act", "watch", "ok")}
    lines.append(f"{counts['act']} to act on, {counts['watch']} to watch, {counts['ok']} ok")
    return "\n".join(lines)


def drift_report(settings: Settings, warehouse: Warehouse, name: str, start: date | None, end: date | None) -> int:
    """Print the report; 1 when something is to act on, else 0."""
    try:
        days, findings = compare(settings, warehouse, name, start, end)
    except KeyError as error:
        print(f"profile --compare: {error.args[0]}")
        return 2
    print(render(name, days, findings))
    return 1 if any(finding.verdict.startswith("act") for finding in findings) else 0
