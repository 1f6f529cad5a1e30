"""Benchmark: what Pandera costs over the same rules written as plain Polars expressions.

    python3 tasks.py run python bench/validation.py

For the full 2013 year of flights and weather, already cast to the models' types, it times
Pandera's lazy validation against a translation of the *same* checks into one Polars
``select`` (derived from the schema's own check statistics, so the rules cannot drift apart), and
checks both reject exactly the same rows. It also times importing each, since the import is paid
by every run worker that validates (and says whether pandas came along: Pandera imports it when it
is installed, which pyproject.toml prevents).
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

REPEATS = 5


def check_expr(column: str, check: Any) -> pl.Expr:
    """One Pandera built-in column check as a Polars expression (null passes, as in Pandera)."""
    stats, col = check.statistics, pl.col(column)
    expressions = {
        "in_range": lambda: col.is_between(stats["min_value"], stats["max_value"]),
        "isin": lambda: col.is_in(list(stats["allowed_values"])),
        "str_matches": lambda: col.str.contains(getattr(stats["pattern"], "pattern", stats["pattern"])),
        "str_length": lambda: col.str.len_chars().is_between(
            stats.get("min_value") or 0, stats.get("max_value") or 10**9
        ),
    }
    return expressions[check.name]().fill_null(True)


def plain_polars_failures(frame: pl.DataFrame, schema: Any, primary_key: list[str]) -> pl.Series:
    """Row indices failing any rule, computed with plain Polars from the same schema."""
    from pandera.api.polars.types import PolarsData

    row_ok = [pl.col(name).is_not_null() for name, column in schema.columns.items() if not column.nullable]
    row_ok += [check_expr(name, check) for name, column in schema.columns.items() for check in column.checks]
    row_ok.append(~pl.struct(primary_key).is_duplicated())
    lazy = frame.lazy()
    frames = [lazy.select(pl.all_horizontal(row_ok).alias("ok"))]
    frames += [check._check_fn(PolarsData(lazy)).select(pl.all().alias("ok")) for check in schema.checks]
    results = pl.collect_all(frames)  # every pass in parallel, as one query plan would
    combined = results[0].get_column("ok")
    for result in results[1:]:
        combined = combined & result.get_column("ok")
    return pl.Series(range(frame.height)).filter(~combined)


def typed_year(name: str) -> tuple[pl.DataFrame, Any, Any, list[str]]:
    from config.datasets import load_datasets
    from config.settings import Settings
    from demo.nycflights import daily_table
    from ingestion.casting import cast_to_model, model_dtypes
    from ingestion.reading import read_csv_bytes
    from ingestion.validation import build_schema

    dataset = load_datasets(Settings().datasets_path)[name]
    table = read_csv_bytes(daily_table(name).drop("_day").write_csv(null_value="NA").encode(), dataset.null_values)
    typed = cast_to_model(table.rows, model_dtypes(dataset.schema_class)).typed
    typed = typed.with_columns(_partition_date=pl.date("year", "month", "day"))
    return (
        typed,
        build_schema(dataset.schema_class, dataset.primary_key),
        dataset.schema_class,
        list(dataset.primary_key),
    )


def best_of(function, repeats: int = REPEATS) -> tuple[float, Any]:
    timings, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(3)
    ]
    return statistics.median(runs)


def main() -> int:
    from ingestion.validation import validate_rows

    print(f"{'dataset':10}{'rows':>10}{'pandera (s)':>14}{'polars (s)':>12}{'ratio':>8}{'rejected':>10}  same rows")
    agree = True
    for name in ("flights", "weather"):
        frame, schema, _, primary_key = typed_year(name)
        pandera_time, outcome = best_of(lambda: validate_rows(frame, schema))  # noqa: B023
        polars_time, failing = best_of(lambda: plain_polars_failures(frame, schema, primary_key))  # noqa: B023
        # Record numbers are 1-based; the plain version returns 0-based positions.
        pandera_rows = {number - 1 for number in outcome.failure_cases.get_column("_row_number").to_list()}
        same = pandera_rows == set(failing.to_list())
        agree &= same
        print(
            f"{name:10}{frame.height:>10}{pandera_time:>14.3f}{polars_time:>12.3f}{pandera_time / polars_time:>8.1f}x"
            f"{len(pandera_rows):>10}  {same}"
        )
    pandera_import, polars_import = import_seconds("pandera.polars"), import_seconds("polars")
    pandas = "with pandas" if importlib.util.find_spec("pandas") else "no pandas installed"
    print(f"\nimport pandera.polars: {pandera_import:.2f} s ({pandas}); import polars: {polars_import:.2f} s")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
