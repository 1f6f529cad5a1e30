"""Prod's dbt state, and building only what changed against it (slim CI).

Every successful dbt build in prod publishes its ``manifest.json`` to the state folder. A
developer (or CI) compares their working copy with it: ``state:modified+`` is what their change
touches, and ``dbt build --defer --state`` builds just that into their own warehouse, reading
everything unchanged from prod's tables (attached read-only by the ``slim_ci`` target).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from resources.dbt import DBT_EXECUTABLE

MANIFEST = "manifest.json"
# Own target folders, so listing and slim builds never replace the manifest Dagster loads.
IMPACT_TARGET_PATH = "target/impact"
SLIM_TARGET_PATH = "target/slim_ci"


class StateError(RuntimeError):
    """No prod manifest to compare with, or dbt could not list the change."""


class DbtStateResource(dg.ConfigurableResource):
    """Where prod's manifest is published; only the prod pipeline publishes."""

    state_dir: str
    publish: bool = False

    def publish_manifest(self, invocation_target: Path) -> Path | None:
        """Copy a build's manifest into the state folder (atomically), if this environment publishes."""
        source = invocation_target / MANIFEST
        if not self.publish or not source.exists():
            return None
        state = Path(self.state_dir)
        state.mkdir(parents=True, exist_ok=True)
        staged = state / f".{MANIFEST}.tmp"
        shutil.copyfile(source, staged)
        staged.replace(state / MANIFEST)  # a reader sees the previous manifest or this one, never half
        return state / MANIFEST


def _dbt(project_dir: Path, *args: str) -> str:
    command = [DBT_EXECUTABLE, "--quiet", *args, "--profiles-dir", str(project_dir)]
    result = subprocess.run(command, cwd=project_dir, capture_output=True, text=True)
    if result.returncode != 0:
        raise StateError(f"`dbt {' '.join(args)}` failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def modified_models(project_dir: Path, state_dir: Path) -> list[str]:
    """The models a working copy of the dbt project changes, compared with prod's manifest.

    Only the changed models themselves (``state:modified``): what lies downstream of them is the
    code location's asset graph to tell (cli/impact.py), with no second dbt start-up.
    """
    if not (state_dir / MANIFEST).exists():
        raise StateError(
            f"no prod manifest in {state_dir}: a prod dbt build publishes it there. Where prod runs elsewhere, "
            "set DATAOPS_DBT_STATE_DIR to a copy of prod's folder; on a machine with no prod (the quickstart), "
            "build a local prod from the data you have: DATAOPS_ENV=prod python3 tasks.py backfill"
        )
    output = _dbt(
        project_dir,
        "ls",
        "--select",
        "state:modified",
        "--state",
        str(state_dir),
        "--resource-type",
        "model",
        "--output",
        "json",
        "--output-keys",
        "name",
        "--target-path",
        IMPACT_TARGET_PATH,
    )
    return sorted(json.loads(line)["name"] for line in output.splitlines() if line.startswith("{"))


def prod_catalog(state_dir: Path) -> str:
    """The DuckDB catalog name prod's relations carry in its manifest (prod's file stem when built).

    Deferred refs are rendered with it, so prod's warehouse must be attached under this name,
    whatever the file a developer holds is called (a restored snapshot, a copy).
    """
    manifest = json.loads((state_dir / MANIFEST).read_text())
    databases = {node["database"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    if len(databases) != 1:
        raise StateError(f"prod's manifest names {len(databases)} databases for its models, expected one: {databases}")
    return databases.pop()


def deferred_build_args(state_dir: Path, warehouse_vars: Mapping[str, str], target: str) -> list[str]:
    """`dbt build` of the change alone into this environment's warehouse, the rest read from prod.

    ``warehouse_vars``: where both warehouses are (WarehouseResource.slim_ci_vars); prod's is
    attached read-only under the catalog name its manifest records. ``--full-refresh``: a changed
    incremental model is built whole from its inputs, so the change is tested on every day and
    not only on the days this environment last claimed (ingestion/changes.py).
    """
    variables = {**warehouse_vars, "prod_catalog": prod_catalog(state_dir)}
    return [
        "build",
        "--select",
        "state:modified+",
        "--defer",
        "--state",
        str(state_dir),
        "--full-refresh",
        "--target",
        target,
        "--target-path",
        SLIM_TARGET_PATH,
        "--vars",
        json.dumps(variables),
    ]
