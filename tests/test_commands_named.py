"""Every command the manual or a message names exists, with the options it is named with.

The README, docs/ and bench/README.md, and every string in the product's Python (error messages,
log lines, alerts), are searched for `python3 tasks.py COMMAND ...` and for a project command in
backquotes (`backfill --from ...`). Each command must be one tasks.py runs, and each --option it
is shown with must be one that command's --help lists.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

from config.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

SCRIPTS = set(tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"])
BUILT_IN = {"dev", "test", "prepare", "run", "new", "update"}
NAMED = re.compile(r"python3 tasks\.py ([a-z][a-z-]*)([^`\n\"'()|;]*)")
QUOTED = re.compile(rf"`({'|'.join(sorted(SCRIPTS))})((?: [^`\n]*)?)`")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*)")
# The options of the built-in commands, from tasks.py's own usage text and what `dev` passes on.
# `update` passes its options to `copier update`.
BUILT_IN_OPTIONS = {
    "dev": {"--log-format"},
    "test": {"--fast"},
    "prepare": set(),
    "run": set(),
    "new": {"--name", "--backend", "--demo"},
    "update": {"--vcs-ref"},
}


def sources() -> list[Path]:
    # The template's manual, a made project's (template/README.md), the benchmarks' and the docs.
    readmes = [PROJECT_ROOT / name / "README.md" for name in (".", "template", "bench")]
    docs = [*readmes, *(PROJECT_ROOT / "docs").glob("*.md")]
    code = [
        path
        for path in PROJECT_ROOT.rglob("*.py")
        if not {".venv", "tests", ".uv-bootstrap", "target", "node_modules"} & set(path.relative_to(PROJECT_ROOT).parts)
    ]
    return [path for path in [*docs, *code] if path.is_file()]


def named_commands() -> dict[tuple[str, str], str]:
    """(command, its arguments as written) -> where it is named."""
    found: dict[tuple[str, str], str] = {}
    for path in sources():
        text = path.read_text()
        for pattern in (NAMED, QUOTED):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.setdefault((match.group(1), match.group(2).strip()), f"{path.relative_to(PROJECT_ROOT)}:{line}")
    return found


@cache
def help_text(*command: str) -> str:
    """What ``command --help`` prints: a project script's, or a bench script's (``python FILE``)."""
    program = (
        [sys.executable, command[1]] if command[0] == "python" else [str(Path(sys.executable).with_name(command[0]))]
    )
    done = subprocess.run([*program, "--help"], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)} --help: {done.stderr[-2000:]}"
    return done.stdout


def test_the_search_finds_the_commands_the_readme_shows():
    commands = {command for command, _ in named_commands()}
    assert {"dev", "test", "backfill", "profile"} <= commands


def test_every_named_command_exists_with_the_options_it_is_named_with():
    wrong = []
    for (command, written), where in sorted(named_commands().items()):
        arguments = written.split(" #")[0].split()  # not a shell comment after it
        if command not in SCRIPTS | BUILT_IN:
            wrong.append(f"{where}: `{command}` is not a command of tasks.py")
            continue
        options = set(OPTION.findall(" ".join(arguments)))
        if command == "run":
            if arguments[:1] != ["python"] or len(arguments) < 2 or "<" in arguments[1]:
                continue  # `run COMMAND [ARGS]`: anything in the environment
            if not (PROJECT_ROOT / arguments[1]).is_file():
                wrong.append(f"{where}: `run python {arguments[1]}`: no such file")
                continue
            known = set(OPTION.findall(help_text("python", arguments[1])))
        elif command in BUILT_IN:
            known = BUILT_IN_OPTIONS[command]
        else:
            known = set(OPTION.findall(help_text(command)))
        wrong += [f"{where}: `{command}` has no option {option}" for option in sorted(options - known)]
    assert wrong == []
