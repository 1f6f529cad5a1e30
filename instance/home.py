"""Laying out a Dagster home: the committed instance config (deploy/) and the writer pools' limits.

Standard library only: tasks.py, which runs before anything is installed, uses it as well as the
tests and benchmarks that start Dagster's own processes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_CONFIG = "dagster.dev.yaml"
PROD_CONFIG = "dagster.prod.yaml"
JSON_LOGS_CONFIG = "json_logs.yaml"  # appended for JSON run logs (instance/json_logs.py)


def prepare_dagster_home(
    home: Path,
    python: list[str],
    env: dict[str, str],
    instance_config: str = DEV_CONFIG,
    json_logs: bool = False,
) -> None:
    """Lay out a Dagster instance: a committed config from deploy/, and the writer pools' limits.

    ``python`` runs the project's environment. The limits depend on the settings in ``env`` (the
    warehouse backend), so the project sets them (resources/pools.py). ``json_logs``: runs log JSON
    lines too (deploy/json_logs.yaml).
    """
    home.mkdir(parents=True, exist_ok=True)
    # The instance config is code (deploy/); DAGSTER_HOME only holds its copy and the run history.
    config = (ROOT / "deploy" / instance_config).read_text()
    if json_logs:
        config += (ROOT / "deploy" / JSON_LOGS_CONFIG).read_text()
    (home / "dagster.yaml").write_text(config)
    if subprocess.run([*python, "-m", "resources.pools"], cwd=ROOT, env=env).returncode != 0:
        raise SystemExit(1)  # it said why (a setting it cannot use names its variable)
