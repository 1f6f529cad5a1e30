"""The dbt models (staging and marts) as Dagster assets, built with one ``dbt build``.

dbt runs as a subprocess that holds the DuckDB file read-write until it exits. So the asset first
lets dbt finish, then opens the warehouse read-only to add row and null counts to each model's
materialisation (dagster-dbt's own row counting would query while dbt still holds the lock).

The incremental marts rebuild only the days their inputs changed on. Before dbt starts, the asset
claims each incremental model's unconsumed deliveries (ingestion/changes.py); after it, the models
that built successfully consume them, so a failed model catches up on the next build.
"""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from assets.dbt_translator import FlightsDbtTranslator
from ingestion.changes import CHANGED_DAYS, Claim, claim_changes, consume_changes
from resources.dbt import keep_parse_state, prune_invocations
from resources.dbt_state import DbtStateResource
from resources.warehouse import WRITER_RETRY, WarehouseResource, is_lock_message, retry_only_transient

# The op that runs `dbt build`; also how `impact` finds the dbt assets in the code location.
DBT_ASSETS_NAME = "dbt_models"


RAW_SOURCE = "raw"  # the dbt source of the ingested tables: its table names are the dataset names


def build_args(warehouse_vars: Mapping[str, str], full_refresh: bool = False) -> list[str]:
    """The `dbt build` command line; pure, so it is tested without running dbt."""
    variables = {**warehouse_vars, "changed_days_relation": CHANGED_DAYS}
    args = ["build", "--vars", json.dumps(variables)]
    if full_refresh:
        args.append("--full-refresh")
    return args


def incremental_models(manifest: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Each incremental model's name and the raw datasets it reads, directly or through other models."""
    nodes, sources = manifest["nodes"], manifest["sources"]

    def datasets(unique_id: str, seen: set[str]) -> set[str]:
        if unique_id in seen:
            return set()
        seen.add(unique_id)
        if unique_id in sources:
            source = sources[unique_id]
            return {source["name"]} if source["source_name"] == RAW_SOURCE else set()
        node = nodes.get(unique_id)
        if node is None:
            return set()
        return set().union(*(datasets(parent, seen) for parent in node["depends_on"]["nodes"]))

    return {
        node["name"]: frozenset(datasets(unique_id, set()))
        for unique_id, node in nodes.items()
        if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"
    }


def built_models(invocation_dir: Path) -> set[str]:
    """Models that dbt built successfully in an invocation (none if dbt did not get to write
    run_results.json: it failed before running anything)."""
    path = invocation_dir / "run_results.json"
    if not path.exists():
        return set()
    run_results = json.loads(path.read_text())
    return {
        result["unique_id"].split(".")[-1]
        for result in run_results["results"]
        if result["unique_id"].startswith("model.") and result["status"] == "success"
    }


def table_profile(connection: duckdb.DuckDBPyConnection, relation: str) -> dict[str, Any]:
    """Row count and per-column null counts of a warehouse relation, in one scan."""
    columns = [row[0] for row in connection.execute(f"DESCRIBE {relation}").fetchall()]
    counts = ", ".join(f'count(*) - count("{column}")' for column in columns)
    row = connection.execute(f"SELECT count(*), {counts} FROM {relation}").fetchone()
    assert row is not None
    return {"dagster/row_count": int(row[0]), "null_counts": dict(zip(columns, map(int, row[1:]), strict=True))}


def _relation(manifest: Mapping[str, Any], unique_id: str) -> str | None:
    """The table a model built, to profile; None for a view, which holds no rows of its own
    (counting them would scan the whole raw table behind it on every build: 1.8 s at 30 years)."""
    node = manifest["nodes"].get(unique_id)
    if node is None or node["resource_type"] != "model" or node["config"].get("materialized") == "view":
        return None
    return f"{node['schema']}.{node['alias']}"


def _with_profiles(events: list[Any], manifest: Mapping[str, Any], warehouse: WarehouseResource) -> Iterator[Any]:
    with warehouse.read_only() as connection:
        for event in events:
            # dagster-dbt tags each model's Output with its dbt unique_id (a TextMetadataValue).
            unique_id = event.metadata.get("unique_id") if isinstance(event, dg.Output) else None
            relation = _relation(manifest, unique_id.value) if unique_id is not None else None
            if relation is None:
                yield event
                continue
            try:
                profile = table_profile(connection, relation)
            except duckdb.Error:
                yield event  # the model failed and has no table; dbt's own event says why
                continue
            yield dg.Output(
                value=event.value,
                output_name=event.output_name,
                metadata={**event.metadata, **profile},
                data_version=event.data_version,
                tags=event.tags,
            )


class DbtBuildConfig(dg.Config):
    """The one knob a user needs from the launchpad."""

    full_refresh: bool = False


def build_dbt_assets(project: DbtProject, pool: str) -> dg.AssetsDefinition:
    """The dbt models as assets; ``pool``: the transforms' writer pool (resources/pools.py)."""
    translator = FlightsDbtTranslator()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        name=DBT_ASSETS_NAME,
        pool=pool,
        retry_policy=WRITER_RETRY,
    )
    def dbt_models(
        context: dg.AssetExecutionContext,
        config: DbtBuildConfig,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        dbt_state: DbtStateResource,
    ) -> Iterator[Any]:
        with retry_only_transient():
            warehouse.assert_writable()  # dbt opens the warehouse itself: hold it to the production guard first
            warehouse.prepare_for_dbt()
            models = incremental_models(json.loads(Path(project.manifest_path).read_text()))
            with warehouse.writer() as connection:  # the writer slot is held only for the claim itself
                claim = claim_changes(connection, models)
        _log_claim(context, claim, config.full_refresh)
        invocation = dbt.cli(
            build_args(warehouse.dbt_vars(), config.full_refresh), context=context, raise_on_error=False
        )
        # Drain dbt completely before touching the warehouse: it holds the write lock until it exits.
        events = list(invocation.stream())
        target_dir = Path(project.project_dir, project.target_path)
        invocation_dir = Path(invocation.project_dir, invocation.target_path)
        keep_parse_state(target_dir, invocation_dir)
        with retry_only_transient():
            built = built_models(invocation_dir)
            with warehouse.writer() as connection:
                consume_changes(connection, claim, built)
        if invocation.is_successful():
            # In prod: what slim CI defers to. Only a complete build is published, so every
            # relation the manifest names exists in prod's warehouse.
            dbt_state.publish_manifest(invocation_dir)
        prune_invocations(target_dir)
        with retry_only_transient():
            yield from _with_profiles(events, invocation.manifest, warehouse)
            if invocation.is_successful() and (copy := warehouse.publish_reader_copy()):
                context.log.info(f"readers' copy of the warehouse published at {copy}")
        if not invocation.is_successful():
            error = str(invocation.get_error())
            raise dg.Failure(
                description=f"dbt build failed: {error}",
                metadata={"dbt_command": " ".join(invocation.dbt_command)},
                # A failed test or a SQL error fails the same way again; only the lock is worth a retry.
                allow_retries=is_lock_message(error),
            )

    return dbt_models


def _log_claim(context: dg.AssetExecutionContext, claim: Claim, full_refresh: bool) -> None:
    if full_refresh:
        context.log.info("full refresh: every incremental model rebuilds every day")
        return
    for model, days in sorted(claim.days.items()):
        context.log.info(f"{model}: {days} changed day(s) to rebuild (an empty mart builds every day)")
