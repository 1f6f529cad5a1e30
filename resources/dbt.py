"""The dbt project and CLI resource, wired to the same warehouse as the Python assets.

``dbt parse`` costs seconds of start-up. Dagster's ``prepare_if_dev`` runs it on every definitions
load under ``dagster dev``, which includes every run worker. Here the manifest is re-parsed only
when a file that shapes it changed (a fingerprint of the project's sources), so a run does not pay
for a parse that would produce the same manifest.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from config.project import DBT_SCRIPT
from config.settings import DBT_PROJECT_DIR, Settings

# Everything under these decides the manifest's content.
MANIFEST_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests", "seeds", "snapshots")
FINGERPRINT_FILE = "manifest.fingerprint"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# The dbt installed next to this Python (the project's locked environment), so a process started
# without the venv on PATH (`.venv/bin/dagster dev`, an IDE's test runner) still finds it. It is
# the project's leashed entry point: dbt dies with the process that started it (resources/dbt_leash.py).
_VENV_DBT = Path(sys.executable).with_name(DBT_SCRIPT)
DBT_EXECUTABLE = str(_VENV_DBT) if _VENV_DBT.exists() else DBT_SCRIPT
# dagster-dbt gives every invocation its own target folder (named after the asset definition);
# the newest few are kept for debugging (compiled SQL, run_results.json), the rest removed.
INVOCATION_PREFIX = "dbt_models-"
INVOCATIONS_KEPT = 10


def project_fingerprint(project_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in MANIFEST_INPUTS:
        root = project_dir / name
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.is_file():
                digest.update(path.relative_to(project_dir).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def prepare_manifest(project: DbtProject) -> Path:
    """Run ``dbt parse`` if the manifest is missing or older than the project's files."""
    fingerprint = project_fingerprint(Path(project.project_dir))
    stamp = Path(project.project_dir, project.target_path, FINGERPRINT_FILE)
    if not (project.manifest_path.exists() and stamp.exists() and stamp.read_text() == fingerprint):
        # Parsing never connects to the warehouse: the profile's default path is only a placeholder.
        subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", str(project.profiles_dir)],
            cwd=project.project_dir,
            check=True,
        )
        stamp.write_text(fingerprint)
    return project.manifest_path


def keep_parse_state(target_dir: Path, invocation_dir: Path) -> bool:
    """Make an invocation's parse state the one the next invocation starts from.

    dagster-dbt seeds each invocation with ``target/partial_parse.msgpack``. dbt discards that
    state when the target, the profile or ``--vars`` differ from the run that wrote it, and the
    start-up ``dbt parse`` runs with none of them, so without this every build would parse the whole
    project again. The state of the last build matches the next one; dbt still re-parses what
    changed in the project's files. Returns whether there was state to keep.
    """
    source = invocation_dir / PARTIAL_PARSE_FILE
    if not source.exists():
        return False
    staged = target_dir / f".{PARTIAL_PARSE_FILE}.tmp"
    shutil.copyfile(source, staged)
    staged.replace(target_dir / PARTIAL_PARSE_FILE)  # atomic: a reader sees old or new, never half
    return True


def prune_invocations(target_dir: Path, keep: int = INVOCATIONS_KEPT) -> list[Path]:
    """Remove all but the ``keep`` newest invocation folders; returns the removed ones."""
    folders = [path for path in target_dir.glob(f"{INVOCATION_PREFIX}*") if path.is_dir()]
    folders.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    for folder in folders[keep:]:
        shutil.rmtree(folder, ignore_errors=True)
    return folders[keep:]


@cache
def dbt_project(project_dir: Path = DBT_PROJECT_DIR) -> DbtProject:
    """The dbt project at ``project_dir`` (the settings' ``dbt_project_dir``; one object per process),
    its manifest fresh under `dagster dev`.

    In place of ``project.prepare_if_dev()``, which parses on every load (run workers included).
    Outside `dagster dev` the manifest is built beforehand: ``ensure_manifest()`` in tests, CI and
    benchmarks, ``dagster-dbt project prepare-and-package`` in a deploy.
    """
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    if project.preparer.using_dagster_dev():
        prepare_manifest(project)
    return project


def ensure_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Produce ``target/manifest.json`` if stale, outside `dagster dev` (tests, CI, benchmarks)."""
    return prepare_manifest(dbt_project(project_dir))


def dbt_resource(settings: Settings) -> DbtCliResource:
    return DbtCliResource(
        project_dir=dbt_project(settings.dbt_project_dir),
        profiles_dir=str(settings.dbt_project_dir),
        target=settings.dbt_target,
        dbt_executable=DBT_EXECUTABLE,
    )
