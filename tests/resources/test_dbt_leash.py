"""The project's dbt command, the dbt that DbtCliResource runs: dbt itself, its version answered locally."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys

from config.project import DBT_SCRIPT
from resources.dbt import DBT_EXECUTABLE

DBT_CORE = importlib.metadata.version("dbt-core")


def test_the_version_is_the_installed_dbt_core_without_importing_dbt():
    # What dagster-dbt asks before every invocation; it reads the first version number printed.
    script = (
        f"import sys; sys.argv = [{DBT_SCRIPT!r}, '--version']\n"
        "from resources import dbt_leash\n"
        "dbt_leash.main()\n"
        "print('dbt imported' if 'dbt' in sys.modules else 'dbt not imported')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert re.search(r"(\d+\.\d+\.\d+)", result.stdout).group(1) == DBT_CORE
    assert result.stdout.strip().endswith("dbt not imported")


def test_every_other_command_is_dbt_itself():
    result = subprocess.run([DBT_EXECUTABLE, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Usage: {DBT_SCRIPT}" in result.stdout or "Usage: dbt" in result.stdout
    assert "build" in result.stdout
