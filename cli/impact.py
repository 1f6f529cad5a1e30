"""`impact`: what a change to the dbt project touches, and building only that against prod data.

    impact            list the dbt models changed (compared with prod's manifest), the models
                      downstream of them, and every Dagster asset downstream (analytics included)
    impact --build    also build and audit just those models in this environment's own warehouse
                      (dbt build --defer --state): unchanged refs are read from prod's published
                      marts, attached read-only. The change is written and tested in the audit
                      schema and never published: not into prod, and not into this warehouse

Prod's manifest comes from DATAOPS_DBT_STATE_DIR (prod publishes it after every dbt build; copy
that folder to a developer machine or CI). Prod's warehouse is DATAOPS_PROD_WAREHOUSE_PATH.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from assets.dbt_assets import DBT_ASSETS_NAME
from config.settings import Settings, exits_on_settings_error, get_settings
from resources.dbt import DBT_EXECUTABLE
from resources.dbt_state import StateError, deferred_build_args, modified_models, prod_catalog
from resources.warehouse import WarehouseResource
from warehouse.backend import WarehouseConnectionError
from warehouse.environment import PROD, ProductionWriteError


def downstream_assets(defs: dg.Definitions, roots: Iterable[dg.AssetKey]) -> set[dg.AssetKey]:
    """Every asset downstream of ``roots`` in the code location's graph (the roots excluded)."""
    graph = defs.resolve_asset_graph()
    seen: set[dg.AssetKey] = set()
    frontier = list(roots)
    while frontier:
        for child in graph.get(frontier.pop()).child_keys:
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return seen


@dataclass(frozen=True)
class Impact:
    changed: list[str]  # the modified dbt models, as asset keys
    downstream_models: list[str]  # dbt models built from them (names)
    downstream_assets: list[str]  # every asset downstream of them, dbt models and analytics alike


def dagster_impact(defs: dg.Definitions, modified: Sequence[str]) -> Impact:
    """Where the modified dbt models sit in the code location's graph, and what depends on them."""
    [dbt_assets] = [
        assets
        for assets in defs.assets or []
        if isinstance(assets, dg.AssetsDefinition) and assets.node_def.name == DBT_ASSETS_NAME
    ]
    changed = {get_asset_key_for_model([dbt_assets], name) for name in modified}
    below = downstream_assets(defs, changed) - changed
    # dagster-dbt records each model's dbt unique_id ("model.<project>.<name>") on its asset spec.
    unique_ids = {key: dbt_assets.specs_by_key[key].metadata["dagster_dbt/unique_id"] for key in dbt_assets.keys}
    return Impact(
        changed=sorted(key.to_user_string() for key in changed),
        downstream_models=sorted(
            unique_ids[key].rsplit(".", 1)[1] for key in below if unique_ids.get(key, "").startswith("model.")
        ),
        downstream_assets=sorted(key.to_user_string() for key in below),
    )


def _section(title: str, items: Sequence[str]) -> None:
    print(f"{title} ({len(items)}):")
    for item in items or ["(none)"]:
        print(f"  {item}")


@exits_on_settings_error
def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="impact", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--build", action="store_true", help="build the change alone, deferring the rest to prod")
    parser.add_argument("--project-dir", type=Path, help=argparse.SUPPRESS)  # default: the settings' dbt project
    args = parser.parse_args(argv)
    settings = settings or get_settings()
    args.project_dir = args.project_dir or settings.dbt_project_dir

    try:
        modified = modified_models(args.project_dir, settings.dbt_state)
        catalog = prod_catalog(settings.dbt_state)
    except StateError as error:
        print(f"impact: {error}", file=sys.stderr)
        return 1
    from definitions import build_definitions  # the code location: loaded only once dbt has answered

    impact = dagster_impact(build_definitions(settings), modified)
    _section("dbt models changed (as Dagster assets)", impact.changed)
    _section("dbt models downstream", impact.downstream_models)
    _section("Dagster assets downstream (to rematerialise after deploying)", impact.downstream_assets)
    if not args.build:
        return 0
    if not modified:
        print("impact: nothing changed; nothing to build")
        return 0

    warehouse = WarehouseResource.for_settings(settings)
    if settings.env == PROD or warehouse.catalog == catalog:
        why = f"not named {catalog}.duckdb (prod's catalog name: the two would clash)"
        print(
            f"impact: --build writes this environment's own warehouse; run it in dev or test, with a file {why}",
            file=sys.stderr,
        )
        return 1
    try:
        warehouse.assert_writable()
        warehouse.prepare_for_dbt()
        variables = warehouse.slim_ci_vars()
    except (ProductionWriteError, WarehouseConnectionError) as error:
        print(f"impact: {error}", file=sys.stderr)
        return 1
    command = [
        DBT_EXECUTABLE,
        *deferred_build_args(settings.dbt_state, variables, warehouse.slim_ci_target),
        "--profiles-dir",
        str(args.project_dir),
    ]
    print(
        f"impact: building into {warehouse.location}, reading the rest from prod's {warehouse.prod_location} "
        "(read-only)",
        flush=True,
    )
    code = subprocess.run(command, cwd=args.project_dir).returncode
    outcome = "its tests passed" if code == 0 else "it failed (see above)"
    print(f"impact: the change is built and audited in the audit schema, not published: {outcome}")
    return code


if __name__ == "__main__":
    sys.exit(main())
