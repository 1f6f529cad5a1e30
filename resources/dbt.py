"""The dbt project and CLI resource, wired to the same warehouse as the Python assets.

``dbt parse`` costs seconds of start-up. Dagster's ``prepare_if_dev`` runs it on every definitions
load under ``dagster dev``, which includes every run worker. Here the manifest is re-parsed only
when a file that shapes it changed (a fingerprint of the project's sources), so a run does not pay
for a parse that would produce the same manifest.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import subprocess
import sys
from functools import cache, cached_property
from pathlib import Path
from typing import Any, cast

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource, DbtProject
from packaging import version

from compat.dagster_dbt import (
    PARTIAL_PARSE_FILE_NAME,
    DbtManifestParam,
    _get_dbt_target_path,
    extract_runtime_selection_from_args,
    get_updated_cli_invocation_params_for_context,
    validate_manifest,
    validate_opt_translator,
)
from resources.dbt_in_process import DbtThread
from resources.settings import DBT_PROJECT_DIR, Settings

# Everything under these decides the manifest's content.
MANIFEST_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests", "seeds", "snapshots")
FINGERPRINT_FILE = "manifest.fingerprint"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# The dbt installed next to this Python (the project's locked environment), so a process started
# without the venv on PATH (`.venv/bin/dagster dev`, an IDE's test runner) still finds it. It is
# the project's leashed entry point: dbt dies with the process that started it (resources/dbt_leash.py).
_VENV_DBT = Path(sys.executable).with_name("flights-dbt")
DBT_EXECUTABLE = str(_VENV_DBT) if _VENV_DBT.exists() else "flights-dbt"
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
    start-up ``dbt parse`` runs with none of them, so without this every build parsed the whole
    project again (2-3 s). The state of the last build matches the next one; dbt still re-parses
    what changed in the project's files. Returns whether there was state to keep.
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
def dbt_project() -> DbtProject:
    """The dbt project (one per process), its manifest fresh under `dagster dev`.

    In place of ``project.prepare_if_dev()``, which parses on every load (run workers included).
    Outside `dagster dev` the manifest is built beforehand: ``ensure_manifest()`` in tests, CI and
    benchmarks, ``dagster-dbt project prepare-and-package`` in a deploy.
    """
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if project.preparer.using_dagster_dev():
        prepare_manifest(project)
    return project


def ensure_manifest() -> Path:
    """Produce ``target/manifest.json`` if stale, outside `dagster dev` (tests, CI, benchmarks)."""
    return prepare_manifest(dbt_project())


class LockedDbtCliResource(DbtCliResource):
    """``DbtCliResource`` that runs dbt in this process, without the start-up costs of each command.

    - dbt runs in the run worker's own process (resources/dbt_in_process.py), not a new one that
      imports dbt again: ``cli`` builds the invocation as dagster-dbt's does (the run's selection,
      a target folder per invocation seeded with the last parse state) and hands dagster-dbt's
      ``DbtCliInvocation`` a dbt thread in place of its subprocess. ``in_process=False`` runs the
      venv's dbt as a subprocess instead, as dagster-dbt does.
    - Before each invocation dagster-dbt (0.29) runs ``dbt --version`` in a subprocess to learn
      which engine it drives, and builds a dbt adapter in-process for its optional row-count and
      column metadata. Together they cost ~2 s of every build, and ``dbt --version`` also asks PyPI
      for the newest release, which stalls on a host without internet. Here the executable is the
      venv's own dbt, so its version is dbt-core's installed version; and the adapter is never used
      (assets/dbt_assets.py profiles the tables itself).

    These override members of dagster-dbt and use its internals (compat/dagster_dbt.py):
    tests/resources/test_dbt.py fails if an upgrade renames them, rather than letting the costs
    come back unnoticed.
    """

    in_process: bool = True

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Any) -> None:  # type: ignore[override]
        return None

    def cli(
        self,
        args: list[str] | tuple[str, ...],
        *,
        raise_on_error: bool = True,
        manifest: DbtManifestParam | None = None,
        dagster_dbt_translator: DagsterDbtTranslator | None = None,
        context: dg.OpExecutionContext | dg.AssetExecutionContext | None = None,
        target_path: Path | None = None,
    ) -> DbtCliInvocation:
        if not self.in_process:
            return super().cli(
                args,
                raise_on_error=raise_on_error,
                manifest=manifest,
                dagster_dbt_translator=dagster_dbt_translator,
                context=context,
                target_path=target_path,
            )
        translator = validate_opt_translator(dagster_dbt_translator) or DagsterDbtTranslator()
        command, selects, excludes = extract_runtime_selection_from_args(args)
        params = get_updated_cli_invocation_params_for_context(
            context=context,
            manifest=validate_manifest(manifest) if manifest else {},
            dagster_dbt_translator=translator,
            runtime_selects=selects,
            runtime_excludes=excludes,
        )
        project_dir = Path(params.dbt_project.project_dir if params.dbt_project else self.project_dir)
        target_path = target_path or self._get_unique_target_path(context=context)
        if not target_path.is_absolute():
            target_path = project_dir / target_path
        seed_parse_state(project_dir, target_path)
        profile = [
            *(["--profile", self.profile] if self.profile else []),
            *(["--target", self.target] if self.target else []),
        ]
        # What dagster-dbt's subprocess gets as environment variables, as dbt's own flags.
        flags = [
            *("--project-dir", str(project_dir)),
            *(("--profiles-dir", str(self.profiles_dir)) if self.profiles_dir else ()),
            *("--target-path", str(target_path), "--log-path", str(target_path)),
            *("--log-format-file", "json"),  # dbt.log in the invocation's folder, as with DBT_LOG_FORMAT=json
            # dagster-dbt writes each event to the step's stdout itself; dbt.log keeps everything.
            *("--log-level", "none", "--log-level-file", "debug"),
            "--no-send-anonymous-usage-stats",
            *(("--indirect-selection", params.indirect_selection) if params.indirect_selection else ()),
        ]
        dbt = DbtThread([*self.global_config_flags, *command, *profile, *params.selection_args, *flags])
        return DbtCliInvocation(
            process=cast(subprocess.Popen, dbt),
            manifest=params.manifest,
            dagster_dbt_translator=params.dagster_dbt_translator,
            project_dir=project_dir,
            target_path=target_path,
            raise_on_error=raise_on_error,
            context=context,
            adapter=None,
            cli_version=self._cli_version,
            project=params.dbt_project,
        )


def seed_parse_state(project_dir: Path, target_path: Path) -> None:
    """Start an invocation from the project's parse state (``keep_parse_state``), as dagster-dbt does."""
    current = _get_dbt_target_path()
    source = (current if current.is_absolute() else project_dir / current) / PARTIAL_PARSE_FILE_NAME
    destination = target_path / PARTIAL_PARSE_FILE_NAME
    if source.exists() and not destination.exists():
        target_path.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, destination)


def dbt_resource(settings: Settings) -> DbtCliResource:
    return LockedDbtCliResource(
        project_dir=dbt_project(),
        profiles_dir=str(DBT_PROJECT_DIR),
        target=settings.dbt_target,
        dbt_executable=DBT_EXECUTABLE,
    )
