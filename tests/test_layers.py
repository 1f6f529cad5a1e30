"""Imports flow one way: each top-level folder has a layer, and no module imports from a layer
above its own. A newcomer reads the project bottom up; an upgrade of Dagster touches only the
layers that import it."""

from __future__ import annotations

import ast
from pathlib import Path

from config.settings import PROJECT_ROOT

# Lowest first. A module may import from its own folder and from folders of lower layers only.
LAYERS: list[tuple[str, ...]] = [
    # Plain data code: no Dagster. What the warehouse is and how it is reached; settings and the
    # dataset config; reading, checking and loading files; publishing marts; contracts.
    ("compat", "instance", "warehouse"),
    ("config",),
    ("ingestion",),
    ("schemas", "publishing"),
    ("contract", "operations", "observability"),
    # Dagster: resources, the analytics computations, then the assets they serve, the jobs that
    # select assets, and what starts jobs.
    ("resources",),
    ("analytics",),
    ("assets",),
    ("jobs",),
    ("schedules", "sensors"),
    # Entry points: the code location, the commands (the demo pack's feed among them), making a
    # project from the template, the benchmarks.
    ("definitions.py",),
    ("cli", "tasks.py", "demo", "template"),
    ("bench",),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
NOT_CODE = {"tests", "dbt_project", "deploy", "docs", ".venv", ".uv-bootstrap", ".git", "data", ".dagster_home"}


def top_level_units() -> set[str]:
    """Every top-level folder holding Python, and every top-level Python file."""
    units = set()
    for path in PROJECT_ROOT.iterdir():
        if path.name in NOT_CODE or path.name.startswith("."):
            continue
        if (path.is_file() and path.suffix == ".py") or (path.is_dir() and any(path.rglob("*.py"))):
            units.add(path.name)
    return units


def imported_units(path: Path, units: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        modules = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        for module in modules:
            top = module.split(".")[0]
            unit = top if top in units else f"{top}.py" if f"{top}.py" in units else None
            if unit is not None:
                found.add(unit)
    return found


def test_every_top_level_folder_has_a_layer():
    assert top_level_units() - RANK.keys() == set(), "give each new top-level folder a layer in LAYERS"


def test_no_import_climbs_a_layer():
    units = top_level_units()
    climbs = []
    for unit in sorted(units):
        root = PROJECT_ROOT / unit
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            for target in imported_units(path, units):
                if target != unit and RANK[target] >= RANK[unit]:
                    climbs.append(
                        f"{path.relative_to(PROJECT_ROOT)} imports {target} (layer {RANK[target]} >= {RANK[unit]})"
                    )
    assert climbs == [], "\n".join(climbs)
