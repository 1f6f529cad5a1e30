"""The dbt side of every dataset, generated from its contract: ``_sources.yml`` and ``_staging.yml``.

A dataset is its entry in config/datasets/ and its Pandera model; these files repeat what those
say in dbt's terms, so they are generated, committed, and checked (tests/contract/test_dbt_sources.py
fails on any difference and names the command that rewrites them: ``python3 tasks.py contract``).

- ``_sources.yml``: the raw source (named after its schema) with a table per dataset: the dataset's
  description, the asset key of the Python asset that loads it (so lineage joins), every column
  of the raw table with its type and meaning (the model's ``Field(description=...)``, the lineage
  columns' own), and the primary key test. A daily dataset's key is tested on the days this build
  rebuilds (the claim in meta.mart_changed_days), so its cost follows the change, not the history.
- ``_staging.yml``: each staging model with the description its SQL file opens with (``--`` lines).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import yaml

from config.datasets import DatasetConfig
from ingestion.casting import model_dtypes
from ingestion.lineage import PARTITION_DATE, lineage_columns, raw_columns
from warehouse.layout import QUARANTINE, RAW

STAGING_DIR = Path("models") / "staging"  # in the dbt project
SOURCES_FILE = STAGING_DIR / "_sources.yml"
STAGING_FILE = STAGING_DIR / "_staging.yml"
# The dbt source of the raw tables is named after their schema: `source('raw', '<dataset>')`.
RAW_SOURCE = RAW
# A test's meta key naming the column of the day, for a test of only the days a build rebuilds
# (read by get_where_subquery in the dbt project's macros/dataops/changed_days.sql).
CHANGED_DAYS_META = "changed_days_column"
COMMAND = "python3 tasks.py contract"
HEADER = (
    "# Generated from config/datasets/ and the Pandera models in schemas/ by contract/dbt_sources.py:\n"
    f"# do not edit. After changing a dataset, run `{COMMAND}` (a test fails until you do).\n"
)
STAGING_HEADER = (
    "# Generated from the opening `--` comment of each staging model's SQL by contract/dbt_sources.py:\n"
    f"# do not edit. After adding or changing a staging model, run `{COMMAND}`.\n"
)


class ContractError(ValueError):
    """A dataset's contract is missing something the generated files need; the message says what."""


def duckdb_types(dtypes: Mapping[str, pl.DataType]) -> dict[str, str]:
    """Each column's DuckDB type, as DuckDB makes it from the Polars type: the path the raw tables
    are created by (ingestion/storage.py), so the declared type is the real one."""
    empty = pl.DataFrame(schema=dict(dtypes))  # noqa: F841  (read by DuckDB below, by name)
    with duckdb.connect() as connection:
        rows = connection.execute("DESCRIBE SELECT * FROM empty").fetchall()
    return {name: dtype.lower() for name, dtype, *_ in rows}


def _column_descriptions(dataset: DatasetConfig) -> dict[str, str]:
    columns = dataset.schema_class.to_schema().columns
    missing = [name for name, column in columns.items() if not column.description]
    if missing:
        raise ContractError(
            f"{dataset.schema_ref}: column(s) {', '.join(missing)} have no description: give each "
            "pa.Field(description=...) (it is the column's documentation in dbt and the UI)"
        )
    return {name: column.description for name, column in columns.items()}


def _key_tests(dataset: DatasetConfig) -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
    """The primary key's tests: per column (a one-column key), or on the table (a composite one)."""
    # The days are named in the test's meta, not as a `where` clause: a clause would have to name
    # the warehouse's database, rendered differently per environment, and slim CI (`impact`) would
    # then see these tests as modified. macros/dataops/changed_days.sql turns the meta into the filter.
    only_changed_days = {"meta": {CHANGED_DAYS_META: PARTITION_DATE}}
    config = {"config": only_changed_days} if dataset.kind == "daily" else {}
    if len(dataset.primary_key) == 1:
        tests: list[Any] = [{"unique": config}, {"not_null": config}] if config else ["unique", "not_null"]
        return {dataset.primary_key[0]: tests}, []
    combination = {
        "name": f"unique_key_{RAW_SOURCE}_{dataset.name}",
        "arguments": {"columns": list(dataset.primary_key)},
        **config,
    }
    return {}, [{"unique_combination_of_columns": combination}]


def source_table(dataset: DatasetConfig) -> dict[str, Any]:
    """The raw table of one dataset, as dbt's source table."""
    daily = dataset.kind == "daily"
    types = duckdb_types(raw_columns(model_dtypes(dataset.schema_class), daily=daily))
    descriptions = {**_column_descriptions(dataset), **{c.name: c.description for c in lineage_columns(daily)}}
    column_tests, table_tests = _key_tests(dataset)
    columns = []
    for name, data_type in types.items():
        column: dict[str, Any] = {"name": name, "data_type": data_type, "description": descriptions[name]}
        if name in column_tests:
            column["data_tests"] = column_tests[name]
        columns.append(column)
    table: dict[str, Any] = {
        "name": dataset.name,
        "description": dataset.description,
        # primary_key: what SQL that needs the key reads (macros/dataops/primary_key.sql), not a copy of it.
        "config": {"meta": {"dagster": {"asset_key": [RAW, dataset.name]}, "primary_key": list(dataset.primary_key)}},
        "columns": columns,
    }
    if table_tests:
        table["data_tests"] = table_tests
    return table


def sources_document(datasets: Mapping[str, DatasetConfig]) -> dict[str, Any]:
    return {
        "version": 2,
        "sources": [
            {
                "name": RAW_SOURCE,
                "schema": RAW,
                "description": (
                    "Validated rows from the landing zone, one table per dataset in config/datasets/. "
                    f"Rejected rows, with the reason, are in the {QUARANTINE} schema."
                ),
                "tables": [source_table(dataset) for dataset in datasets.values()],
            }
        ],
    }


def sql_description(sql: str, name: str) -> str:
    """The opening ``--`` comment of a model's SQL, as one line."""
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    if not lines:
        raise ContractError(f"staging model {name}: its SQL must open with a `--` comment saying what it is")
    return " ".join(lines)


def staging_document(project_dir: Path) -> dict[str, Any]:
    models = sorted((project_dir / STAGING_DIR).glob("stg_*.sql"))
    return {
        "version": 2,
        "models": [{"name": path.stem, "description": sql_description(path.read_text(), path.stem)} for path in models],
    }


def render(document: dict[str, Any], header: str) -> str:
    return header + yaml.safe_dump(document, sort_keys=False, width=110, allow_unicode=True)


def generated_files(datasets: Mapping[str, DatasetConfig], project_dir: Path) -> dict[Path, str | None]:
    """Each generated file's path and the text it must have; None: it must not exist (a project
    with no dataset, or no staging model, has no such file: dbt would warn about an empty one)."""
    staging = staging_document(project_dir)
    return {
        project_dir / SOURCES_FILE: render(sources_document(datasets), HEADER) if datasets else None,
        project_dir / STAGING_FILE: render(staging, STAGING_HEADER) if staging["models"] else None,
    }


def _stale(files: Mapping[Path, str | None]) -> list[Path]:
    return [
        path
        for path, text in files.items()
        if (path.exists() != (text is not None)) or (text is not None and path.read_text() != text)
    ]


def stale_files(datasets: Mapping[str, DatasetConfig], project_dir: Path) -> list[Path]:
    """The generated files whose committed text differs from what the contract generates."""
    return _stale(generated_files(datasets, project_dir))


def write_files(datasets: Mapping[str, DatasetConfig], project_dir: Path) -> list[Path]:
    """Write the generated files that changed; returns them."""
    files = generated_files(datasets, project_dir)  # generated once: it opens DuckDB per dataset
    stale = _stale(files)
    for path in stale:
        text = files[path]
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return stale
