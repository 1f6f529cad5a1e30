"""Which days each incremental mart must rebuild: the deliveries it has not yet been built from.

Every load commits one row per file to the load log (``meta.file_loads``) in the same transaction
as the file's rows. Before a dbt build, ``claim_changes`` takes, for each incremental model, the
load-log rows it has not consumed yet, and writes the days they touch to ``CHANGED_DAYS``, where
the model's SQL reads them (dbt_project/macros/dataops/changed_days.sql). Once the build is published,
``record_consumed`` records the claimed rows as consumed, in the publishing transaction itself
(publishing/marts.py): a version is consumed exactly when readers can see it.

Why a claim and not a timestamp high-water mark: on the lake, loads commit concurrently, so a
load can commit *after* a build with a ``loaded_at`` *older* than what the build saw; a mark would
skip it forever. A claim is exact whatever the commit order: what a build did not see is not
consumed, and the next build claims it. A failed or unpublished build consumes nothing, so
the next claims a superset. A model that is not published yet claims every loaded day.

What a delivery touches: a daily dataset's file changes its day (two daily feeds share the
local day of the hour they join on); a reference dataset's file changes every day, so a model
reading it rebuilds everything, which is the work a new aircraft registry really is. A refused
file (no rows loaded) touches nothing: the day keeps its previous rows. Nor does a delivery of the
same bytes as the one the model was last built from, loading the same rows under the same
contract (the same sha256, counts and contract fingerprint): a `backfill` reloads the reference
files every time, and that alone must not rebuild every day; the same bytes reloaded under a
changed contract do rebuild what they feed.

No Dagster here: the dbt asset calls these around its build; tests call them directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from ingestion.lineage import TIMESTAMP
from ingestion.storage import LOAD_LOG, ensure_columns, ensure_load_log
from warehouse.layout import meta_table
from warehouse.transactions import retry_conflicts, transaction

CHANGED_DAYS = meta_table("mart_changed_days")
CONSUMED_LOADS = meta_table("mart_consumed_loads")
CHANGES_DDL = (
    f"CREATE TABLE IF NOT EXISTS {CHANGED_DAYS} (model VARCHAR NOT NULL, day DATE NOT NULL)",
    # What each consumed delivery was (dataset, day, bytes and rows), kept here: a reload of the
    # same archived file replaces its load-log row, and the next claim must still recognise it.
    f"CREATE TABLE IF NOT EXISTS {CONSUMED_LOADS} (model VARCHAR NOT NULL, dataset VARCHAR NOT NULL,"
    " partition_date DATE, source_file VARCHAR NOT NULL, loaded_at TIMESTAMPTZ NOT NULL, sha256 VARCHAR NOT NULL,"
    " rows_loaded BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL, consumed_at TIMESTAMPTZ NOT NULL,"
    " contract VARCHAR)",
)
CLAIM_SCHEMA = {
    "model": pl.String,
    "dataset": pl.String,
    "partition_date": pl.Date,
    "source_file": pl.String,
    "loaded_at": TIMESTAMP,
    "sha256": pl.String,
    "rows_loaded": pl.Int64,
    "rows_quarantined": pl.Int64,
    "contract": pl.String,
}


@dataclass(frozen=True)
class Claim:
    """The load-log rows each model is about to be built from, and how many days that is per model."""

    loads: pl.DataFrame  # CLAIM_SCHEMA: one row per model and delivery not yet consumed
    days: dict[str, int]  # model -> days it rebuilds (every day, for a model a reference file touched)

    def for_models(self, models: set[str]) -> pl.DataFrame:
        return self.loads.filter(pl.col("model").is_in(list(models)))


@dataclass(frozen=True)
class Gate:
    """``model`` reads ``dataset`` through ``upstream``, another per-day model that this build does not
    build: it may claim a delivery of ``dataset`` only once ``upstream`` has consumed it, or it would
    rebuild the day from an upstream that does not hold it yet, and never again."""

    model: str
    upstream: str
    dataset: str


def _pending_sql(models: Mapping[str, frozenset[str]], gates: Sequence[Gate]) -> str:
    """Load-log rows of each model's datasets that the model has not consumed and may claim (one SELECT)."""
    pairs = ", ".join(f"('{model}', '{dataset}')" for model, datasets in models.items() for dataset in datasets)
    # Safe to interpolate: model names come from the dbt manifest, dataset names are validated
    # identifiers (config/datasets.py); an incremental model reads at least one dataset.
    gated = ""
    if gates:
        rows = ", ".join(f"('{gate.model}', '{gate.upstream}', '{gate.dataset}')" for gate in gates)
        gated = f"""
        WHERE NOT EXISTS (
            SELECT 1 FROM (VALUES {rows}) AS g(model, upstream, dataset)
            WHERE g.model = m.model AND g.dataset = l.dataset AND NOT EXISTS (
                SELECT 1 FROM {CONSUMED_LOADS} AS u
                WHERE u.model = g.upstream AND u.source_file = l.source_file AND u.loaded_at = l.loaded_at
            )
        )"""
    return f"""
        SELECT m.model, l.dataset, l.partition_date, l.source_file, l.loaded_at, l.sha256, l.rows_loaded,
            l.rows_quarantined, l.contract
        FROM (VALUES {pairs}) AS m(model, dataset)
        JOIN {LOAD_LOG} AS l ON l.dataset = m.dataset
        ANTI JOIN {CONSUMED_LOADS} AS c
            ON c.model = m.model AND c.source_file = l.source_file AND c.loaded_at = l.loaded_at
        {gated}
    """


# Per model, dataset and day (NULL for reference data): the delivery the model was last built from.
LAST_BUILT_SQL = f"""
    SELECT model, dataset, partition_date, sha256, rows_loaded, rows_quarantined, contract FROM {CONSUMED_LOADS}
    QUALIFY row_number() OVER (PARTITION BY model, dataset, partition_date ORDER BY loaded_at DESC) = 1
"""
# Pending deliveries that change what their day holds: rows loaded, and not the same file with the
# same outcome under the same contract as the one the model was last built from.
CHANGES_SQL = """
    SELECT p.model, p.partition_date FROM _pending AS p
    WHERE p.rows_loaded > 0 AND NOT EXISTS (
        SELECT 1 FROM _last_built AS b
        WHERE b.model = p.model AND b.dataset = p.dataset AND b.partition_date IS NOT DISTINCT FROM p.partition_date
            AND b.sha256 = p.sha256 AND b.rows_loaded = p.rows_loaded AND b.rows_quarantined = p.rows_quarantined
            AND b.contract IS NOT DISTINCT FROM p.contract
    )
"""


def claim_changes(
    connection: duckdb.DuckDBPyConnection,
    models: Mapping[str, frozenset[str]],
    unpublished: frozenset[str] = frozenset(),
    gates: Sequence[Gate] = (),
) -> Claim:
    """Write each model's changed days to CHANGED_DAYS; return what the build will have consumed.

    ``models``: each per-day model's name and the raw datasets it reads (from the manifest);
    ``unpublished``: those with no published table yet, which build every loaded day; ``gates``:
    deliveries a model must leave for later, until an upstream outside this build has them.
    """
    unpublished_rows = ", ".join(f"('{model}')" for model in sorted(unpublished & models.keys()))

    def claim() -> Claim:
        with transaction(connection):
            ensure_load_log(connection)
            connection.execute(CHANGES_DDL[0])
            ensure_columns(connection, CONSUMED_LOADS, CHANGES_DDL[1], {"contract": "VARCHAR"})
            connection.execute(f"DELETE FROM {CHANGED_DAYS}")
            if not models:
                return Claim(pl.DataFrame(schema=CLAIM_SCHEMA), {})
            connection.execute(f"CREATE OR REPLACE TEMP TABLE _pending AS {_pending_sql(models, gates)}")
            connection.execute(f"CREATE OR REPLACE TEMP TABLE _last_built AS {LAST_BUILT_SQL}")
            connection.execute(f"CREATE OR REPLACE TEMP TABLE _changes AS {CHANGES_SQL}")
            connection.execute(
                f"""
                INSERT INTO {CHANGED_DAYS}
                WITH everything AS (
                    SELECT DISTINCT model FROM _changes WHERE partition_date IS NULL
                    {f"UNION SELECT * FROM (VALUES {unpublished_rows}) AS u(model)" if unpublished_rows else ""}
                )
                SELECT DISTINCT model, partition_date FROM _changes
                WHERE partition_date IS NOT NULL AND model NOT IN (SELECT model FROM everything)
                UNION
                SELECT DISTINCT e.model, l.partition_date FROM everything AS e, {LOAD_LOG} AS l
                WHERE l.partition_date IS NOT NULL AND l.rows_loaded > 0
                """
            )
            loads = connection.execute(f"SELECT {', '.join(CLAIM_SCHEMA)} FROM _pending").pl()
            days = dict(connection.execute(f"SELECT model, count(*) FROM {CHANGED_DAYS} GROUP BY ALL").fetchall())
            for temporary in ("_pending", "_last_built", "_changes"):
                connection.execute(f"DROP TABLE {temporary}")
        return Claim(loads.cast(CLAIM_SCHEMA), {model: days.get(model, 0) for model in models})  # type: ignore[arg-type]

    return retry_conflicts(claim)


def record_consumed(connection: duckdb.DuckDBPyConnection, claim: Claim, models: set[str]) -> int:
    """Record the claimed deliveries of ``models`` as consumed, in the caller's open transaction
    (the one that publishes what they were built into); returns the rows recorded."""
    consumed = claim.for_models(models)
    if consumed.is_empty():
        return 0
    connection.register("_consumed", consumed.to_arrow())
    try:
        columns = ", ".join(CLAIM_SCHEMA)
        inserted = f"SELECT {columns}, now() AS consumed_at FROM _consumed"
        connection.execute(f"INSERT INTO {CONSUMED_LOADS} BY NAME {inserted}")
    finally:
        connection.unregister("_consumed")
    return consumed.height
