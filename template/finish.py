"""Make a copy of the template a project of its own: copier runs this in the new project's folder after
every copy (copier.yml, `_tasks`), and `copier update` runs it again on both template versions it
merges, so the two are compared as the project would have had them.

- Names: the template's name (``dataops-template``, and ``dataops_template`` where an identifier is
  needed) becomes the project's in every file and file name: distribution, console scripts, code
  location, asset group, dbt project and profile, deploy units, dashboard, lineage namespace.
- The demo pack: unless it is kept, every line tagged ``# demo pack`` goes (its files are left out by
  copier.yml already).
- The backend: production's environment file picks the warehouse asked for.
- The README: the project's own (template/README.md), not the template's manual.
- The lock: uv.lock names the project, so it is re-locked for the new name (the versions stay those
  of the template's lock), and ``uv sync --frozen`` works from it.

Standard library only, and nothing of the project imported: it runs before the project has an
environment.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

TEMPLATE_NAME = "dataops-template"
TEMPLATE_IDENTIFIER = TEMPLATE_NAME.replace("-", "_")
PACK_TAG = "# demo pack"
PROJECT_README = Path(__file__).resolve().parent / "README.md"
ENV_FILE = Path("deploy") / "systemd" / f"{TEMPLATE_NAME}.env.example"
# In the production environment file: the block of each backend, opened by this comment.
BACKEND_BLOCK = re.compile(r"^# The warehouse \(backend (?P<backend>\w+)\)")
SETTING = re.compile(r"^#?[A-Z][A-Z0-9_]*=")
SKIPPED = {".git", ".venv", ".uv-bootstrap", "__pycache__"}


class FinishError(Exception):
    """The copy cannot be made a project; the message says why."""


def project_files(root: Path) -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED)
        found.extend(Path(folder) / name for name in sorted(files))
    return found


def read_text(path: Path) -> str | None:
    """A file's text, or None for a file that is not UTF-8 text (left as it is)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


def rename(root: Path, name: str) -> None:
    identifier = name.replace("-", "_")
    for path in project_files(root):
        text = read_text(path)
        if text is not None and (TEMPLATE_NAME in text or TEMPLATE_IDENTIFIER in text):
            renamed = text.replace(TEMPLATE_NAME, name).replace(TEMPLATE_IDENTIFIER, identifier)
            path.write_text(renamed, encoding="utf-8")
        if TEMPLATE_NAME in path.name:
            path.rename(path.with_name(path.name.replace(TEMPLATE_NAME, name)))


def drop_pack_lines(root: Path) -> None:
    for path in project_files(root):
        text = read_text(path)
        if text is None or PACK_TAG not in text:
            continue
        kept = [line for line in text.splitlines(keepends=True) if not is_pack_line(line)]
        path.write_text("".join(kept), encoding="utf-8")


def is_pack_line(line: str) -> bool:
    """A line of the demo pack: tagged at its end, or a comment that opens with the tag."""
    stripped = line.rstrip()
    return stripped.endswith(PACK_TAG) or f"{PACK_TAG}:" in stripped


def choose_backend(env_file: Path, backend: str) -> None:
    """Make ``backend``'s block of the production environment file the active one: a block opens with
    ``# The warehouse (backend NAME)`` and runs to the next blank line; its settings are written
    ``KEY=value`` when chosen and ``#KEY=value`` when not."""
    chosen, current, found = [], None, False
    for line in env_file.read_text().splitlines(keepends=True):
        opened = BACKEND_BLOCK.match(line)
        if opened:
            current = opened.group("backend")
            found |= current == backend
        elif not line.strip():
            current = None
        elif current is not None and SETTING.match(line):
            setting = line.removeprefix("#")
            line = setting if current == backend else f"#{setting}"
        chosen.append(line)
    if not found:
        raise FinishError(f"{env_file} has no block for the backend {backend!r}")
    env_file.write_text("".join(chosen))


def uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise FinishError("uv is needed to lock the new project: run this through `python3 tasks.py new`")
    return found


def relock(root: Path) -> None:
    """Lock for the new name, preferring the template's versions: offline when the cache has them."""
    for offline in (["--offline"], []):
        done = subprocess.run([uv(), "lock", *offline], cwd=root, capture_output=True, text=True)
        if done.returncode == 0:
            return
    raise FinishError(f"uv lock failed in {root}:\n{done.stderr.strip()}")


def finish(root: Path, name: str, backend: str, keep_demo: bool) -> None:
    if not keep_demo:
        drop_pack_lines(root)
    choose_backend(root / ENV_FILE, backend)
    shutil.copyfile(PROJECT_README, root / "README.md")
    rename(root, name)
    relock(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--backend", choices=["duckdb", "ducklake"], required=True)
    parser.add_argument("--keep-demo", action=argparse.BooleanOptionalAction, required=True)
    args = parser.parse_args(argv)
    try:
        finish(Path.cwd(), args.name, args.backend, args.keep_demo)
    except FinishError as error:
        print(f"finish: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
