"""Write, audit, publish: readers never see a mart version whose error-severity tests failed.

dbt writes each audited model into the audit schema (dbt_project.yml: the marts' ``+schema``),
where readers do not look, and runs its tests there. Only after the whole build passed does
``publish`` make it the published version, of every model at once, in one transaction: on the
file a DuckDB transaction, on the lake one DuckLake snapshot. A reader sees all of the old
version or all of the new one. If a build fails, ``keep_failed`` copies what it wrote to a schema
of its own (``audit_failed_<run>``) for inspection; the published marts stay exactly as they were.
The next good build publishes and ``tidy`` drops the kept versions; the lifecycle clean-up drops
those older than its quarantine retention (operations/lifecycle.py).

A per-day model (``publish_by_day``) holds in audit only the days that changed, all of each, so
publishing deletes those days from the published table and inserts them: the cost of the change,
not of the history. A whole-table model (the route profile, a year of routes) is replaced. Every
version, published or failed, is recorded in ``VERSIONS``; the claimed deliveries are consumed in
the publishing transaction (ingestion/changes.py), so a version is consumed exactly when it is
visible. A process killed at any point leaves the old version published and nothing consumed:
the next build claims the same days again.

No Dagster here: the dbt asset calls these around its build; tests call them directly.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from ingestion.changes import CHANGED_DAYS, Claim, record_consumed
from publishing.shapes import NOT_RESHAPED, Reshaping, record_shapes
from warehouse.catalog import table_exists, tables_in
from warehouse.layout import meta_table
from warehouse.transactions import retry_conflicts, transaction

VERSIONS = meta_table("mart_versions")
VERSIONS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {VERSIONS} (version BIGINT NOT NULL, run_id VARCHAR NOT NULL,"
    " outcome VARCHAR NOT NULL, models VARCHAR[] NOT NULL, full_refresh BOOLEAN NOT NULL,"
    " kept_as VARCHAR, failed_tests VARCHAR[], recorded_at TIMESTAMPTZ NOT NULL, tidied_at TIMESTAMPTZ)"
)
PUBLISHED, FAILED = "published", "failed"
FAILED_PREFIX = "audit_failed_"
# A model's dbt config: where it is published, the day column a per-day model is published by, and
# where its days come from (a per-day model or a raw dataset: assets/day_coverage.py checks it).
PUBLISH_TO, PUBLISH_BY_DAY, DAYS_OF = "publish_to", "publish_by_day", "days_of"


class PublishError(RuntimeError):
    """A new version that cannot replace the published one day by day (its columns changed)."""


@dataclass(frozen=True)
class AuditedModel:
    name: str
    audit_schema: str  # where dbt writes and tests it
    published_schema: str  # where readers read it
    day_column: str | None  # per-day: the column its days are replaced by; None: replaced whole
    days_of: str | None = None  # per-day: the model or raw dataset whose every day it must hold

    @property
    def audit_table(self) -> str:
        return f"{self.audit_schema}.{self.name}"

    @property
    def published_table(self) -> str:
        return f"{self.published_schema}.{self.name}"


def audited_models(manifest: Mapping[str, Any]) -> dict[str, AuditedModel]:
    """The models dbt writes for the pipeline to publish (a ``publish_to`` in their meta), by name."""
    models = {}
    for node in manifest["nodes"].values():
        meta = node["config"].get("meta", {})
        if node["resource_type"] == "model" and meta.get(PUBLISH_TO):
            models[node["name"]] = AuditedModel(
                name=node["name"],
                audit_schema=node["schema"],
                published_schema=meta[PUBLISH_TO],
                day_column=meta.get(PUBLISH_BY_DAY),
                days_of=meta.get(DAYS_OF),
            )
    return models


@dataclass(frozen=True)
class Publication:
    version: int
    models: tuple[str, ...]
    days_replaced: dict[str, int]  # per-day model -> days deleted and re-inserted (all: replaced whole)
    seconds: float


@dataclass(frozen=True)
class KeptVersion:
    version: int
    run_id: str
    kept_as: str
    failed_tests: tuple[str, ...]
    recorded_at: datetime


def ensure_versions_table(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(VERSIONS_DDL)


def published_version(connection: duckdb.DuckDBPyConnection) -> int | None:
    """The version readers see (None before the first publish)."""
    if not table_exists(connection, VERSIONS):
        return None
    [(version,)] = connection.execute(f"SELECT max(version) FROM {VERSIONS} WHERE outcome = ?", [PUBLISHED]).fetchall()
    return version


def _next_version(connection: duckdb.DuckDBPyConnection) -> int:
    [(version,)] = connection.execute(f"SELECT coalesce(max(version), 0) + 1 FROM {VERSIONS}").fetchall()
    return int(version)


def _columns(connection: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in connection.execute(f"DESCRIBE {table}").fetchall()]


def _replace_days(connection: duckdb.DuckDBPyConnection, model: AuditedModel) -> int:
    """Replace the model's changed days in its published table with the audited ones; returns the days."""
    new, published = _columns(connection, model.audit_table), _columns(connection, model.published_table)
    if new != published:
        raise PublishError(
            f"{model.name}: the new version's columns differ from the published table's "
            f"({', '.join(f'{name} {kind}' for name, kind in new)} vs "
            f"{', '.join(f'{name} {kind}' for name, kind in published)}), so its days cannot replace the "
            "published ones. A model whose columns changed is published whole by the build after its "
            "change (publishing/shapes.py); to publish it whole now, build with full_refresh: true "
            "(the dbt step's config in the UI's launchpad)"
        )
    [(days,)] = connection.execute(f"SELECT count(*) FROM {CHANGED_DAYS} WHERE model = ?", [model.name]).fetchall()
    connection.execute(
        f"DELETE FROM {model.published_table} WHERE {model.day_column} IN "
        f"(SELECT day FROM {CHANGED_DAYS} WHERE model = ?)",
        [model.name],
    )
    connection.execute(f"INSERT INTO {model.published_table} BY NAME SELECT * FROM {model.audit_table}")
    return int(days)


def publish(
    connection: duckdb.DuckDBPyConnection,
    models: Sequence[AuditedModel],
    run_id: str,
    claim: Claim,
    full_refresh: bool = False,
    reshaping: Reshaping = NOT_RESHAPED,
) -> Publication:
    """Make the audited version of ``models`` the published one, all in one transaction.

    A per-day model replaces its changed days, unless it is published whole: with a full refresh,
    or because it was reshaped (publishing/shapes.py). Each model's fingerprint is recorded with it."""

    def work() -> Publication:
        started = time.perf_counter()
        replaced: dict[str, int] = {}
        with transaction(connection):
            ensure_versions_table(connection)
            version = _next_version(connection)
            for model in models:
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {model.published_schema}")
                by_day = model.day_column and not full_refresh and model.name not in reshaping.whole
                if by_day and table_exists(connection, model.published_table):
                    replaced[model.name] = _replace_days(connection, model)
                else:
                    connection.execute(
                        f"CREATE OR REPLACE TABLE {model.published_table} AS SELECT * FROM {model.audit_table}"
                    )
            record_consumed(connection, claim, {model.name for model in models})
            record_shapes(connection, {m.name: reshaping.shapes[m.name] for m in models if m.name in reshaping.shapes})
            _record(connection, version, run_id, PUBLISHED, models, full_refresh)
        return Publication(version, tuple(model.name for model in models), replaced, time.perf_counter() - started)

    return retry_conflicts(work)


def failed_name(run_id: str) -> str:
    """The schema a failed build's version is kept in: named after its run (the first 8 of its id)."""
    return f"{FAILED_PREFIX}{run_id.replace('-', '')[:8]}"


def keep_failed(
    connection: duckdb.DuckDBPyConnection,
    models: Sequence[AuditedModel],
    run_id: str,
    failed_tests: Iterable[str],
    full_refresh: bool = False,
) -> str:
    """Copy what a failed build wrote into audit to a schema of its own; returns the schema's name.

    A copy, not a move (DuckDB cannot move a table between schemas), of the changed days only.
    """
    kept_as = failed_name(run_id)

    def work() -> str:
        with transaction(connection):
            ensure_versions_table(connection)
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {kept_as}")
            for model in models:
                copy = f"{kept_as}.{model.name}"
                connection.execute(f"CREATE OR REPLACE TABLE {copy} AS SELECT * FROM {model.audit_table}")
            _record(connection, _next_version(connection), run_id, FAILED, models, full_refresh, kept_as, failed_tests)
        return kept_as

    return retry_conflicts(work)


def _record(
    connection: duckdb.DuckDBPyConnection,
    version: int,
    run_id: str,
    outcome: str,
    models: Sequence[AuditedModel],
    full_refresh: bool,
    kept_as: str | None = None,
    failed_tests: Iterable[str] = (),
) -> None:
    connection.execute(
        f"INSERT INTO {VERSIONS} VALUES (?, ?, ?, ?, ?, ?, ?, now(), NULL)",
        [version, run_id, outcome, [model.name for model in models], full_refresh, kept_as, sorted(failed_tests)],
    )


def kept_versions(connection: duckdb.DuckDBPyConnection) -> list[KeptVersion]:
    """The failed versions still kept for inspection, oldest first (read-only: it creates nothing)."""
    if not table_exists(connection, VERSIONS):
        return []
    rows = connection.execute(
        f"SELECT version, run_id, kept_as, failed_tests, recorded_at FROM {VERSIONS}"
        " WHERE outcome = ? AND kept_as IS NOT NULL AND tidied_at IS NULL ORDER BY version",
        [FAILED],
    ).fetchall()
    return [KeptVersion(version, run, kept, tuple(tests or ()), at) for version, run, kept, tests, at in rows]


def drop_kept(connection: duckdb.DuckDBPyConnection, kept_as: str) -> None:
    """Drop a kept failed version and mark it tidied, in one transaction."""
    if not kept_as.startswith(FAILED_PREFIX):
        raise ValueError(f"{kept_as} is not a kept audit version (they are named {FAILED_PREFIX}<run>)")

    def work() -> None:
        with transaction(connection):
            _drop_schema(connection, kept_as)
            connection.execute(f"UPDATE {VERSIONS} SET tidied_at = now() WHERE kept_as = ?", [kept_as])

    retry_conflicts(work)


def tidy(connection: duckdb.DuckDBPyConnection, published: Sequence[AuditedModel]) -> list[str]:
    """After a good publish: drop every kept failed version and the audit tables just published
    (on a full refresh they are a whole copy). Returns the kept versions dropped."""
    dropped = []
    for version in kept_versions(connection):
        drop_kept(connection, version.kept_as)
        dropped.append(version.kept_as)

    def work() -> None:
        with transaction(connection):
            for model in published:
                connection.execute(f"DROP TABLE IF EXISTS {model.audit_table}")

    retry_conflicts(work)
    return dropped


def _drop_schema(connection: duckdb.DuckDBPyConnection, schema: str) -> None:
    # Table by table, then the schema: DuckLake has no DROP SCHEMA ... CASCADE.
    for table in tables_in(connection, schema):
        connection.execute(f"DROP TABLE {schema}.{table}")
    connection.execute(f"DROP SCHEMA IF EXISTS {schema}")
