"""Adding a dataset the way the README says, in a copy of the project: what a new user does.

The copy is the project's files (git's, as in a checkout); the steps run in processes whose imports
resolve to the copy (PYTHONPATH), so the repository itself is never touched:

1. ``profile NAME SAMPLE --write`` (config entry, Pandera model, staging view, dbt sources);
2. one SQL file, a mart over the staging view;
3. files land: the demo's reference data and a day of it, and the new feed's days;
4. ``backfill``: loads everything landed and builds downstream, as without a daemon.

``python -m tests.support.new_dataset COPY`` then reports, as JSON, what the copy's code location and
warehouse hold for the new dataset.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def copy_project(target: Path) -> Path:
    """The project's files (tracked, and new ones not ignored), as a checkout would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def run_in(
    copy: Path, data_dir: Path, *command: str, settings: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A project command in the copy: its modules, its config, its own data folder (and ``settings``,
    DATAOPS_* variables such as a lake's)."""
    env = {
        **os.environ,
        **(settings or {}),
        "PYTHONPATH": str(copy),
        "DATAOPS_ENV": "test",
        "DATAOPS_DATA_DIR": str(data_dir),
        "DATAOPS_DATASETS_PATH": str(copy / "config" / "datasets"),
    }
    env.pop("DAGSTER_HOME", None)  # `backfill` records its runs in an ephemeral instance
    return subprocess.run([sys.executable, *command], cwd=copy, env=env, capture_output=True, text=True)


def report(name: str, mart: str) -> dict:
    """What the code location and the warehouse of this project (the copy) hold for dataset ``name``."""
    import dagster as dg

    from config.settings import get_settings
    from definitions import build_definitions
    from resources.warehouse import WarehouseResource

    settings = get_settings()
    graph = build_definitions(settings).resolve_asset_graph()
    raw = dg.AssetKey(["raw", name])
    staging = dg.AssetKey(["staging", f"stg_{name}"])
    with WarehouseResource.for_settings(settings).read_only() as connection:
        [(raw_rows,)] = connection.execute(f"SELECT count(*) FROM raw.{name}").fetchall()
        mart_rows = connection.execute(f"SELECT * FROM marts.{mart} ORDER BY ALL").fetchall()
    return {
        "raw_checks": sorted(key.name for key in graph.get(raw).check_keys),
        "staging_parents": sorted(key.to_user_string() for key in graph.get(staging).parent_keys),
        "mart_parents": sorted(key.to_user_string() for key in graph.get(dg.AssetKey(["marts", mart])).parent_keys),
        "raw_rows": raw_rows,
        "mart_rows": [[str(value) for value in row] for row in mart_rows],
    }


if __name__ == "__main__":
    print(json.dumps(report(sys.argv[1], sys.argv[2])))
