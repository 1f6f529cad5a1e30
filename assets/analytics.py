"""The analytics assets: one per ``AnalyticsSpec`` declared in the analytics/ package.

Each asset reads its mart read-only, computes in Polars, and writes one table to the ``analytics``
schema (so the result is queryable, not only visible in the UI), with the result as a table and a
chart in its materialisation metadata.
"""

import importlib
import pkgutil

import dagster as dg
import duckdb
import polars as pl

from analytics.spec import AnalyticsSpec
from assets.automation import REFRESH_AFTER_CHECKS_PASS
from assets.layers import ANALYTICS, MARTS, PIPELINE_GROUP
from assets.metadata import null_counts, table_metadata
from resources.warehouse import WarehouseResource, retry_only_transient
from warehouse.layout import qualified

ANALYTICS_PACKAGE = "analytics"


def declared_specs(package: str = ANALYTICS_PACKAGE) -> list[AnalyticsSpec]:
    """Every ``AnalyticsSpec`` at module level in ``package``'s modules, in module then name order."""
    found: dict[str, AnalyticsSpec] = {}
    root = importlib.import_module(package)
    for module_info in sorted(pkgutil.iter_modules(root.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{package}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, AnalyticsSpec):
                if value.name in found and found[value.name] is not value:
                    raise ValueError(f"two analytics specs are named {value.name!r} ({package}.{module_info.name})")
                found[value.name] = value
    return list(found.values())


def compute_analytics(connection: duckdb.DuckDBPyConnection, spec: AnalyticsSpec) -> pl.DataFrame:
    """Run ``spec`` on the warehouse: its query's result, computed in Polars."""
    return spec.compute(connection.sql(f"SELECT * FROM {qualified(MARTS, spec.mart)}").pl())


def build_analytics_asset(spec: AnalyticsSpec, pool: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=[ANALYTICS, spec.name],
        group_name=PIPELINE_GROUP,
        tags={"layer": ANALYTICS},
        deps=[dg.AssetKey([MARTS, spec.mart])],
        description=f"{spec.description} Written to {qualified(ANALYTICS, spec.name)}.",
        kinds={"polars", "duckdb"},
        pool=pool,
        automation_condition=REFRESH_AFTER_CHECKS_PASS,
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with retry_only_transient(context.retry_number):
            with warehouse.read_only() as connection:
                result = compute_analytics(connection, spec)
            with warehouse.writer() as connection:
                connection.register("_result", result.to_arrow())
                # Safe to interpolate: spec names are constants in this module.
                table = qualified(ANALYTICS, spec.name)
                connection.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _result")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.height,
                "null_counts": null_counts(result),
                # A table renders inline in the UI; Markdown this long would hide behind "Show Markdown".
                "result": table_metadata(result),
                spec.chart_title: spec.chart(result),
            }
        )

    return _asset


def build_analytics_assets(pool: str, package: str = ANALYTICS_PACKAGE) -> list[dg.AssetsDefinition]:
    """The analytics assets; ``pool``: the transforms' writer pool (resources/pools.py)."""
    return [build_analytics_asset(spec, pool) for spec in declared_specs(package)]
