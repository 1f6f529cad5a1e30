"""Laying out a Dagster home: the committed instance config (deploy/) and the writer pools' limits.

Standard library only: tasks.py, which runs before anything is installed, uses it as well as the
tests and benchmarks that start Dagster's own processes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_CONFIG = "dagster.dev.yaml"
PROD_CONFIG = "dagster.prod.yaml"


def prepare_dagster_home(home: Path, python: list[str], env: dict[str, str], instance_config: str = DEV_CONFIG) -> None:
    """Lay out a Dagster instance: a committed config from deploy/, and the writer pools' limits.

    ``python`` runs the project's environment. The limits depend on the settings in ``env`` (the
    warehouse backend), so the project sets them (resources/pools.py).
    """
    home.mkdir(parents=True, exist_ok=True)
    # The instance config is code (deploy/); DAGSTER_HOME only holds its copy and the run history.
    shutil.copyfile(ROOT / "deploy" / instance_config, home / "dagster.yaml")
    subprocess.run([*python, "-m", "resources.pools"], cwd=ROOT, env=env, check=True)
