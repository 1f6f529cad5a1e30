"""Write ingestion results into the warehouse: raw rows, quarantine rows and the load log.

All of one batch's writes (ingestion/load.py) happen in a single transaction, so a crash leaves
either the old state or the new one, never half a day. Replacing by partition (delete, then
insert) is what makes a re-run idempotent: the same file loaded twice leaves the rows of one load.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date

import duckdb
import polars as pl

from config.changes import ColumnChange, older_names, widened
from config.datasets import DatasetConfig
from ingestion.casting import model_dtypes
from ingestion.evolution import contract_fingerprint
from ingestion.lineage import PARTITION_DATE, TIMESTAMP
from ingestion.pipeline import FileIngestion
from warehouse.catalog import is_attached_catalog, table_exists
from warehouse.layout import QUARANTINE, meta_table, quarantine_table, raw_table
from warehouse.transactions import retry_conflicts, transaction

LOAD_LOG = meta_table("file_loads")
LOAD_LOG_DDL = f"""
CREATE TABLE IF NOT EXISTS {LOAD_LOG} (
    dataset VARCHAR NOT NULL,
    partition_date DATE,
    source_file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL,
    records_read BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    severity VARCHAR NOT NULL,
    problems VARCHAR[] NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR NOT NULL,
    contract VARCHAR
)
"""


@contextmanager
def _registered(connection: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[None]:
    """``frame`` visible to SQL as ``name`` for the block. Values reach DuckDB as Arrow columns: a
    Python list parameter costs DuckDB two failed imports (NumPy, pandas) per element, on every
    batch of a long backfill."""
    connection.register(name, frame.to_arrow())
    try:
        yield
    finally:
        connection.unregister(name)


def _ensure_table(
    connection: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, changes: Sequence[ColumnChange] = ()
) -> bool:
    """Create ``table`` shaped like ``frame``, or follow the contract's changes (config/changes.py)
    in it: add the columns a newer schema brought, rename a column under its older name, widen a
    widened one. Nothing is dropped; in the caller's transaction, with the rows it writes. Only
    what differs is altered; returns whether anything was."""
    altered = []
    with _registered(connection, "_incoming", frame.head(0)):
        connection.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM _incoming WITH NO DATA")
        existing = {column: dtype for column, dtype, *_ in connection.execute(f"DESCRIBE {table}").fetchall()}
        for old, new in older_names(changes).items():
            if old in existing and new not in existing:
                altered.append(f'RENAME COLUMN "{old}" TO "{new}"')
                existing[new] = existing.pop(old)
        wider = widened(changes)
        for column, dtype, *_ in connection.execute("DESCRIBE _incoming").fetchall():
            if column not in existing:
                altered.append(f'ADD COLUMN "{column}" {dtype}')
            elif column in wider and existing[column] != dtype:
                altered.append(f'ALTER COLUMN "{column}" SET DATA TYPE {dtype}')
    for alteration in altered:
        connection.execute(f"ALTER TABLE {table} {alteration}")
    return bool(altered)


def _insert(connection: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    if frame.is_empty():
        return
    # One chunk first: the batch's frames are per-file pieces that share the batch's string
    # buffers, and Arrow export copies the shared buffers once per chunk: a batch of many refused
    # files (every record quarantined) would take many times its size.
    with _registered(connection, "_incoming", frame.rechunk()):
        connection.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")


def _delete_partitions(
    connection: duckdb.DuckDBPyConnection, table: str, dataset: DatasetConfig, results: Sequence[FileIngestion]
) -> None:
    """Delete what ``results`` replace: their days for daily data, everything for reference data."""
    if dataset.kind == "daily":
        days = [date.fromisoformat(result.landed.partition_key) for result in results if result.landed.partition_key]
        with _registered(connection, "_days", pl.DataFrame({"day": days}, schema={"day": pl.Date})):
            connection.execute(f"DELETE FROM {table} WHERE {PARTITION_DATE} IN (SELECT day FROM _days)")
    else:
        connection.execute(f"DELETE FROM {table}")


LOAD_LOG_SCHEMA = {
    "dataset": pl.String,
    "partition_date": pl.Date,
    "source_file": pl.String,
    "sha256": pl.String,
    "size_bytes": pl.Int64,
    "records_read": pl.Int64,
    "rows_loaded": pl.Int64,
    "rows_quarantined": pl.Int64,
    "severity": pl.String,
    "problems": pl.List(pl.String),
    "loaded_at": TIMESTAMP,
    "run_id": pl.String,
    "contract": pl.String,  # the dataset's contract the file was loaded under (ingestion/evolution.py)
}


def ensure_columns(connection: duckdb.DuckDBPyConnection, table: str, ddl: str, columns: Mapping[str, str]) -> None:
    """Create ``table`` (``ddl``), or add ``columns`` (name -> SQL type) a table made by an older
    version lacks. Read first: an ALTER on every commit would make concurrent lake writers conflict."""
    connection.execute(ddl)
    existing = {name for name, *_ in connection.execute(f"DESCRIBE {table}").fetchall()}
    for name, kind in columns.items():
        if name not in existing:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def ensure_load_log(connection: duckdb.DuckDBPyConnection) -> None:
    ensure_columns(connection, LOAD_LOG, LOAD_LOG_DDL, {"contract": "VARCHAR"})


def _log_rows(results: Sequence[FileIngestion], contract: str) -> pl.DataFrame:
    """One load-log row per file, as a frame: one INSERT for a batch (executemany converts each
    value through Python, row by row)."""
    rows = [
        (
            result.dataset,
            date.fromisoformat(result.landed.partition_key) if result.landed.partition_key else None,
            result.source_file,
            result.sha256,
            result.size_bytes,
            result.records_read,
            result.rows_loaded,
            result.quarantined.height,
            result.severity.value,
            result.problems,
            result.loaded_at,
            result.run_id,
            contract,
        )
        for result in results
    ]
    return pl.DataFrame(rows, schema=LOAD_LOG_SCHEMA, orient="row")


def commit_results(
    connection: duckdb.DuckDBPyConnection, dataset: DatasetConfig, results: Sequence[FileIngestion]
) -> None:
    """``replace_results``, done again if a concurrent lake writer conflicts."""
    retry_conflicts(lambda: replace_results(connection, dataset, results))


def replace_results(
    connection: duckdb.DuckDBPyConnection, dataset: DatasetConfig, results: Sequence[FileIngestion]
) -> None:
    """Replace the results' partitions in raw (ERROR files excepted) and in quarantine, atomically
    (on the lake, quarantine's in a transaction of its own, first: below).

    An ERROR file leaves the raw partition as it was: nothing unvalidated reaches the table the
    marts read. Its records still go to quarantine, replacing that partition's earlier rejects.
    One DELETE and one INSERT per table for the whole batch: a year of files is one statement each.
    """
    if not results:
        return
    if is_attached_catalog(connection, QUARANTINE):
        # The lake's quarantine is a lake of its own, and a DuckDB transaction writes one catalog:
        # the rejects are committed first. Replacing their partitions, a load done again after a
        # failure in between leaves them as one load would.
        with transaction(connection):
            _replace_quarantined(connection, dataset, results)
        with transaction(connection):
            _replace_loaded(connection, dataset, results)
        return
    with transaction(connection):
        _replace_quarantined(connection, dataset, results)
        _replace_loaded(connection, dataset, results)


def _replace_quarantined(
    connection: duckdb.DuckDBPyConnection, dataset: DatasetConfig, results: Sequence[FileIngestion]
) -> None:
    quarantined = pl.concat([result.quarantined for result in results], how="diagonal_relaxed")
    _ensure_table(connection, quarantine_table(dataset.name), quarantined)
    _delete_partitions(connection, quarantine_table(dataset.name), dataset, results)
    _insert(connection, quarantine_table(dataset.name), quarantined)


def _replace_loaded(
    connection: duckdb.DuckDBPyConnection, dataset: DatasetConfig, results: Sequence[FileIngestion]
) -> None:
    """Raw's partitions of the files that loaded, and one load-log row per delivery."""
    loaded = [result for result in results if result.loaded is not None]
    ensure_load_log(connection)
    if loaded:
        rows = pl.concat([result.loaded for result in loaded if result.loaded is not None], how="diagonal_relaxed")
        _ensure_table(connection, raw_table(dataset.name), rows, dataset.changes)
        _delete_partitions(connection, raw_table(dataset.name), dataset, loaded)
        _insert(connection, raw_table(dataset.name), rows)
    # One row per delivery: a load done again (a retry, a re-run after a crash) replaces its row.
    files = pl.DataFrame({"source_file": [result.source_file for result in results]}, schema={"source_file": pl.String})
    with _registered(connection, "_files", files):
        connection.execute(
            f"DELETE FROM {LOAD_LOG} WHERE dataset = ? AND source_file IN (SELECT source_file FROM _files)",
            [dataset.name],
        )
    _insert(connection, LOAD_LOG, _log_rows(results, contract_fingerprint(dataset)))


def align_raw_tables(connection: duckdb.DuckDBPyConnection, datasets: Mapping[str, DatasetConfig]) -> list[str]:
    """Give each raw table the columns its contract declares now (added, renamed, widened), before
    dbt reads it: a model that reads a new column binds to it (null until its days are reloaded)
    instead of failing against a table a load has not touched since the contract changed. Only the
    tables that lack something are altered, in one transaction; returns them."""
    aligned = []
    with transaction(connection):
        for dataset in datasets.values():
            table = raw_table(dataset.name)
            if not table_exists(connection, table):
                continue  # nothing loaded yet: the first load makes it
            contract = pl.DataFrame(schema=model_dtypes(dataset.schema_class))
            if _ensure_table(connection, table, contract, dataset.changes):
                aligned.append(table)
    return aligned
