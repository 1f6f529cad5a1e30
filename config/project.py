"""The project's name and the names derived from it, with one home: ``[project] name`` in pyproject.toml.

A project made from the template (``python3 tasks.py new``) gets its own name there, and in the few
files that cannot read it (workspace.yaml, the dbt project, the deploy units): every Python name
follows from this module. Plain data, standard library only: the metrics exporter imports it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The distribution, as pip and uv know it (dataops-template).
NAME: str = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
# The same as an identifier: the code location, the dbt project and profile, the asset group.
IDENTIFIER = NAME.replace("-", "_")
# The leashed dbt (resources/dbt_leash.py), a console script of the project.
DBT_SCRIPT = f"{NAME}-dbt"
