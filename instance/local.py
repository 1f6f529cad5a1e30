"""Opening the local instance (a DAGSTER_HOME laid out with deploy/dagster.dev.yaml) from any process.

The dev config names its storage folder by ``DAGSTER_HOME``, which every process under `dagster dev`
has. A test, benchmark or command that reads another home than its own process's sets it for the
moment the storage is built; the storage keeps the resolved path.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

from instance.home import DEV_CONFIG, ROOT

DEV_INSTANCE_CONFIG = ROOT / "deploy" / DEV_CONFIG


def open_local_instance(home: Path) -> dg.DagsterInstance:
    """The instance in ``home``; a home with no config yet gets the dev config (as `dagster dev` would)."""
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(DEV_INSTANCE_CONFIG, home / "dagster.yaml")
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home.resolve())
    try:
        return dg.DagsterInstance.from_config(str(home))
    finally:
        if before is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = before
