"""The commands of the systemd units in deploy/systemd/, as this checkout would run them.

The units run the project installed at INSTALL_DIR with its environment in INSTALL_DIR/.venv. Here
that is this checkout and the Python running the tests; ``${VARIABLE}`` comes from the given
environment, as systemd takes it from the unit's EnvironmentFile.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from config.project import NAME

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
INSTALL_DIR = f"/opt/{NAME}"


def commands(unit: str, key: str, env: dict[str, str]) -> list[list[str]]:
    """Every ``key=`` line of ``unit`` (e.g. ``ExecStartPre``), as argument lists for this checkout."""
    venv_bin = str(Path(sys.executable).parent)
    found = []
    for line in (UNITS / unit).read_text().splitlines():
        if not line.startswith(f"{key}="):
            continue
        text = line.split("=", 1)[1].replace(f"{INSTALL_DIR}/.venv/bin", venv_bin).replace(INSTALL_DIR, str(ROOT))
        text = re.sub(r"\$\{(\w+)\}", lambda match: env[match.group(1)], text)
        found.append(shlex.split(text))
    return found


def working_directory(unit: str) -> Path:
    [line] = [line for line in (UNITS / unit).read_text().splitlines() if line.startswith("WorkingDirectory=")]
    return Path(line.split("=", 1)[1].replace(INSTALL_DIR, str(ROOT)))
