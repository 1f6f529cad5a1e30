"""`impact`: what a change to the dbt project touches, and building only that against prod data.

    impact            list the dbt models changed (compared with prod's manifest), the models
                      downstream of them, and every Dagster asset downstream (analytics included)
    impact --build    also build just those models into this environment's own warehouse
                      (dbt build --defer --state): unchanged refs are read from prod's warehouse,
                      attached read-only

Prod's manifest comes from DATAOPS_DBT_STATE_DIR (prod publishes it after every dbt build; copy
that folder to a developer machine or CI). Prod's warehouse is DATAOPS_PROD_WAREHOUSE_PATH.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from assets.dbt_assets import DBT_ASSETS_NAME
from resources.dbt import DBT_EXECUTABLE
from resources.dbt_state import Change, StateError, changed_models, deferred_build_args, prod_catalog
from resources.settings import DBT_PROJECT_DIR, Settings, get_settings
from resources.warehouse import PROD, ProductionWriteError, WarehouseResource


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


def dagster_impact(defs: dg.Definitions, change: Change) -> tuple[list[str], list[str]]:
    """(the changed models' asset keys, every other Dagster asset downstream of them)."""
    dbt_assets = [
        assets for assets in defs.assets or []
        if isinstance(assets, dg.AssetsDefinition) and assets.node_def.name == DBT_ASSETS_NAME
    ]  # fmt: skip
    changed = {get_asset_key_for_model(dbt_assets, name) for name in change.modified}
    below = downstream_assets(defs, changed) - changed
    return sorted(k.to_user_string() for k in changed), sorted(k.to_user_string() for k in below)


def _section(title: str, items: Sequence[str]) -> None:
    print(f"{title} ({len(items)}):")
    for item in items or ["(none)"]:
        print(f"  {item}")


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="impact", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--build", action="store_true", help="build the change alone, deferring the rest to prod")
    parser.add_argument("--project-dir", type=Path, default=DBT_PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = settings or get_settings()

    try:
        change = changed_models(args.project_dir, settings.dbt_state)
        catalog = prod_catalog(settings.dbt_state)
    except StateError as error:
        print(f"impact: {error}", file=sys.stderr)
        return 1
    from definitions import build_definitions  # the code location: loaded only once dbt has answered

    changed_keys, downstream = dagster_impact(build_definitions(settings), change)
    _section("dbt models changed (as Dagster assets)", changed_keys)
    _section("dbt models downstream", change.downstream)
    _section("Dagster assets downstream (to rematerialise after deploying)", downstream)
    if not args.build:
        return 0
    if not change.modified:
        print("impact: nothing changed; nothing to build")
        return 0

    if settings.env == PROD or settings.warehouse.stem == catalog:
        why = f"not named {catalog}.duckdb (prod's catalog name: the two would clash)"
        print(f"impact: --build writes this environment's own warehouse; run it in dev or test, with a file {why}",
              file=sys.stderr)  # fmt: skip
        return 1
    try:
        WarehouseResource.for_settings(settings).assert_writable()
    except ProductionWriteError as error:
        print(f"impact: {error}", file=sys.stderr)
        return 1
    command = [DBT_EXECUTABLE, *deferred_build_args(settings.dbt_state, settings.warehouse, settings.prod_warehouse),
               "--profiles-dir", str(args.project_dir)]  # fmt: skip
    print(f"impact: building into {settings.warehouse}, reading the rest from {settings.prod_warehouse}", flush=True)
    return subprocess.run(command, cwd=args.project_dir).returncode


if __name__ == "__main__":
    sys.exit(main())
