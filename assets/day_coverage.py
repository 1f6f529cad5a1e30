"""Each per-day model holds every day its input holds: a check on each, after every build.

A per-day model rebuilds only the days its claims name (ingestion/changes.py). A claim consumed for
a day the model did not get (a build against an input that lacked the day, a bug, a hand-made
change) would leave the model without that day for good, and nothing else would say so. So each
per-day model declares in its dbt config where its days come from (``days_of``):

- another per-day model (the fact table of a mart: ``fct_orders``): every day of that model's published table;
- a raw dataset (``fct_orders``: ``orders``): every day whose newest delivery the model was built
  from loaded rows. Not the raw table itself: on the lake a load may commit during a build, and
  its day is the next build's to take.

The check reads the published tables in one snapshot after the build, and fails with ERROR severity
(which alerts) naming the missing days and the way to rebuild them.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
import duckdb

from assets.dbt_translator import ProjectDbtTranslator
from ingestion.changes import CONSUMED_LOADS
from publishing.marts import AuditedModel, audited_models
from resources.warehouse import WarehouseResource, retry_only_transient
from warehouse.catalog import table_exists

DAY_COVERAGE_CHECK = "holds_every_day_of_its_input"
LISTED = 20  # missing days named in the description; the metadata counts them all


def expected_days_sql(model: AuditedModel, audited: Mapping[str, AuditedModel]) -> tuple[str, list[str]]:
    """The days ``model`` must hold, as a query and its parameters."""
    source = audited.get(model.days_of or "")
    if source is not None and source.day_column:
        return f"SELECT DISTINCT {source.day_column} AS day FROM {source.published_table}", []
    newest = f"""
        SELECT partition_date AS day, rows_loaded FROM {CONSUMED_LOADS}
        WHERE model = ? AND dataset = ? AND partition_date IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY partition_date ORDER BY loaded_at DESC) = 1
    """
    return f"SELECT day FROM ({newest}) WHERE rows_loaded > 0", [model.name, model.days_of or ""]


def missing_days(
    connection: duckdb.DuckDBPyConnection, model: AuditedModel, audited: Mapping[str, AuditedModel]
) -> tuple[int, list[str]] | None:
    """(days expected, the missing ones in order); None while the model or its input is unpublished."""
    source = audited.get(model.days_of or "")
    needed = [model.published_table] + ([source.published_table] if source is not None else [CONSUMED_LOADS])
    if not all(table_exists(connection, table) for table in needed):
        return None
    expected, parameters = expected_days_sql(model, audited)
    rows = connection.execute(
        f"""
        WITH expected AS ({expected}),
            present AS (SELECT DISTINCT {model.day_column} AS day FROM {model.published_table})
        SELECT (SELECT count(*) FROM expected),
            list(day ORDER BY day) FILTER (WHERE day NOT IN (SELECT day FROM present))
        FROM expected
        """,
        parameters,
    ).fetchone()
    assert rows is not None
    return int(rows[0]), [str(day) for day in rows[1] or []]


def _result(model: AuditedModel, found: tuple[int, list[str]] | None) -> dg.AssetCheckResult:
    if found is None:
        return dg.AssetCheckResult(passed=True, description="not published yet: no days to compare")
    expected, missing = found
    if not missing:
        return dg.AssetCheckResult(
            passed=True,
            description=f"all {expected} day(s) of {model.days_of} are here",
            metadata={"days_expected": expected, "days_missing": 0},
        )
    named = ", ".join(missing[:LISTED]) + (f" and {len(missing) - LISTED} more" if len(missing) > LISTED else "")
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{len(missing)} of {expected} day(s) of {model.days_of} are missing from {model.published_table}: "
        f"{named}. A full refresh rebuilds every day (materialise the dbt assets with full_refresh: true).",
        metadata={"days_expected": expected, "days_missing": len(missing), "missing": missing[:LISTED]},
    )


def build_day_coverage_check(
    model: AuditedModel, asset: dg.AssetKey, audited: Mapping[str, AuditedModel], pool: str
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name=DAY_COVERAGE_CHECK,
        description=f"Every day of {model.days_of} is in the published {model.name} (ERROR when one is missing).",
        pool=pool,
        blocking=False,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with retry_only_transient(context.retry_number), warehouse.read_only() as connection:
            return _result(model, missing_days(connection, model, audited))

    return _check


def build_day_coverage_checks(manifest: Mapping[str, Any], pool: str) -> list[dg.AssetChecksDefinition]:
    """One check per per-day model that declares ``days_of``; ``pool``: the transforms' pool."""
    audited = audited_models(manifest)
    translator = ProjectDbtTranslator()
    nodes = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    return [
        build_day_coverage_check(model, translator.get_asset_key(nodes[model.name]), audited, pool)
        for model in audited.values()
        if model.day_column and model.days_of
    ]
