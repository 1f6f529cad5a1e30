#!/usr/bin/env python3
"""Project commands that work on a fresh machine with only Python 3.11+.

    python3 tasks.py dev     install everything, start `dagster dev` (UI on :3000) and the metrics
                             exporter (/metrics on :9464), with the demo's data seeded where the demo
                             pack is in; `dagster dev`'s options pass through (-p PORT, --log-format json)
    python3 tasks.py test    install everything and run the whole test suite
    python3 tasks.py test --fast
                             the fast tier: everything but the tests that start servers
    python3 tasks.py test ARGS
                             pytest with ARGS, in one session (e.g. `test tests/ingestion -x`)
    python3 tasks.py prepare production install: the locked environment without dev tools, and the
                             dbt manifest (outside `dagster dev` nothing parses the dbt project)
    python3 tasks.py COMMAND [ARGS]
                             one of the project's commands ([project.scripts] in pyproject.toml:
                             profile, backfill, restore, cleanup, impact, contract, ...), in the locked
                             environment and against the UI's Dagster instance (.dagster_home/)
    python3 tasks.py new PATH --name NAME [--backend duckdb|ducklake] [--demo]
                             a project of one's own from this template, in a new git repository at
                             PATH, without the demo unless --demo (copier.yml, docs/template.md)
    python3 tasks.py update [--vcs-ref REF]
                             in a project made with `new`: merge the newest template version (a tag,
                             or REF) into it; the git tree must be clean
    python3 tasks.py run COMMAND [ARGS]
                             anything else in the locked environment, e.g. `run python bench/latency.py`

Standard library only: this file is what installs the rest (uv, then the locked environment).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from instance.home import prepare_dagster_home  # standard library only, like this file

ROOT = Path(__file__).resolve().parent
DAGSTER_HOME = ROOT / ".dagster_home"
BOOTSTRAP_VENV = ROOT / ".uv-bootstrap"


def uv_command() -> list[str]:
    """A working uv: on PATH, as a module of this Python, or installed into a private venv."""
    if shutil.which("uv"):
        return ["uv"]
    if subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True).returncode == 0:
        return [sys.executable, "-m", "uv"]
    bootstrap_python = BOOTSTRAP_VENV / "bin" / "python"
    if not bootstrap_python.exists():
        print("tasks: installing uv into .uv-bootstrap/ ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(BOOTSTRAP_VENV)], check=True)
        subprocess.run([str(bootstrap_python), "-m", "pip", "install", "--quiet", "uv"], check=True)
    # The uv binary itself: run as `python -m uv` from a venv, uv sets VIRTUAL_ENV to that venv and
    # then warns that it is not the project's environment.
    return [str(BOOTSTRAP_VENV / "bin" / "uv")]


def sync(uv: list[str], *extra: str) -> None:
    # --frozen: install exactly what uv.lock says, never re-resolve (reproducible runs).
    # --python: the interpreter running this file, not whichever Python uv happens to find first.
    subprocess.run([*uv, "sync", "--frozen", "--python", sys.executable, *extra], cwd=ROOT, check=True)


def run(uv: list[str], *args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.run([*uv, "run", "--frozen", *args], cwd=ROOT, env=env).returncode


def option(args: list[str], *names: str, default: str) -> str:
    """The value of a command-line option among ``args`` (``-p 3001``, ``--port 3001``, ``--port=3001``)."""
    for index, arg in enumerate(args):
        for name in names:
            if arg == name and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return default


class Stop(Exception):
    """A signal that ends ``until_stopped``: SIGTERM (``kill``, a process manager) or SIGHUP (the
    terminal closed), handled as Ctrl-C is."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum: int, _frame: object) -> None:
    raise Stop(signum)


def until_stopped(command: list[str], env: dict[str, str]) -> int:
    """Run a server in the foreground until it ends; Ctrl-C asks it to shut down in its own way.

    It runs in a process group of its own, so the terminal's Ctrl-C reaches this process only:
    sent to every process of the group, it would also interrupt the server's children (a run
    worker starting, a code server) mid-way, each printing its own traceback. Here the server alone
    is interrupted, as if Ctrl-C had been pressed for it, and shuts its children down; whatever is
    left of its group afterwards is stopped too, so nothing outlives the command. Being in a group
    of its own, the server would not see the terminal close or this process be killed either: SIGHUP
    and SIGTERM stop it the same way. Returns 128 + the signal's number after a signal.
    """
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        code = process.wait()
    except (KeyboardInterrupt, Stop) as stop:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C does not cut the shutdown short
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait()
        code = 128 + (stop.signum if isinstance(stop, Stop) else signal.SIGINT)
    finally:
        stop_group(process.pid)
    return code


def stop_group(group: int) -> None:
    """Terminate what is left of a process group, then kill what still is after a grace period."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(group, signum)
        except ProcessLookupError:
            return  # nobody left
        deadline = time.monotonic() + GROUP_GRACE_SECONDS
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


# How long a server may take to shut down after Ctrl-C before it is terminated, and what is left
# of its group after it ends before that is killed.
SHUTDOWN_SECONDS = 60
GROUP_GRACE_SECONDS = 10


# The demo pack's feed (demo/), which seeds the demo's data on a fresh checkout.
DEMO_FEED = "replay"
DATASETS_DIR = ROOT / "config" / "datasets"
FIRST_STEPS = """
tasks: no datasets are declared yet (config/datasets/). To add the first one, from a sample file:
    python3 tasks.py profile NAME path/to/sample.csv            what it would write
    python3 tasks.py profile NAME path/to/sample.csv --write    write it (README: "Add a dataset")
then land its files in data/landing/NAME/: the landing sensor loads them.
"""


def dev() -> int:
    uv = uv_command()
    sync(uv)
    args = sys.argv[2:]  # `dagster dev`'s own options: -p PORT, --log-format json, ...
    # The UI's instance in .dagster_home/, unless DAGSTER_HOME names another (as for the other commands).
    home = Path(os.environ.get("DAGSTER_HOME") or DAGSTER_HOME)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    json_logs = option(args, "--log-format", default="colored") == "json"
    prepare_dagster_home(home, [*uv, "run", "--frozen", "python"], env, json_logs=json_logs)
    # The demo pack's reference data and first days land only on a fresh checkout; later starts
    # keep the data. A project of one's own starts on an empty landing zone.
    if DEMO_FEED in project_scripts() and run(uv, DEMO_FEED, "--seed", env=env) != 0:
        return 1
    if not any(DATASETS_DIR.glob("*.yaml")):
        print(FIRST_STEPS, flush=True)
    # The metrics exporter reads the webserver `dagster dev` starts (its -h/-p, 127.0.0.1:3000 by default).
    host = option(args, "-h", "--host", default="127.0.0.1")
    webserver = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    graphql = f"http://{webserver}:{option(args, '-p', '--port', default='3000')}/graphql"
    exporter_env = {"DATAOPS_DAGSTER_GRAPHQL_URL": graphql, **env}  # a setting of the user's wins
    exporter = subprocess.Popen([*uv, "run", "--frozen", "metrics-exporter"], cwd=ROOT, env=exporter_env)
    try:
        return until_stopped([*uv, "run", "--frozen", "dagster", "dev", "-w", "workspace.yaml", *args], env)
    finally:  # Ctrl-C reached both; otherwise `dagster dev` ended alone
        exporter.terminate()
        try:
            exporter.wait(timeout=30)
        except subprocess.TimeoutExpired:
            exporter.kill()


# The whole suite in two pytest sessions side by side. The tests that start real Dagster processes
# (`dagster dev`, `dagster-daemon` under them) mostly wait on them: sensor ticks, run launches, the
# backfill daemon's fixed 30-second loop. Beside the rest, which keeps the CPUs busy with dbt and
# DuckDB meanwhile, the wall time is the longer session's, not the sum. Each session has two pytest
# workers, a module's tests on one (its servers and fixtures built once). `test --fast` is the fast
# tier: everything but the tests that start servers.
SERVER_TESTS = "e2e"
WORKERS = ["-n", "2", "--dist", "loadfile"]


def test() -> int:
    uv = uv_command()
    sync(uv)
    args = sys.argv[2:]
    fast = args == ["--fast"]
    if args and not fast:  # pytest's own arguments: one session, exactly as asked
        return run(uv, "pytest", *args)
    # Style first, in seconds: ruff owns the formatting (no `fmt: skip` anywhere) and the lint rules.
    if run(uv, "ruff", "check", ".") != 0 or run(uv, "ruff", "format", "--check", ".") != 0:
        return 1
    # The dbt manifest before the sessions start, so they do not all write it.
    if run(uv, "python", "-c", "from resources.dbt import ensure_manifest; ensure_manifest()") != 0:
        return 1
    rest_marker = f"not {SERVER_TESTS}"
    with tempfile.TemporaryDirectory(prefix="dataops-tests-") as scratch:
        if fast:
            rest = run(uv, "pytest", "-m", rest_marker, *WORKERS, "--basetemp", f"{scratch}/rest")
            servers_code = 0
        else:
            log = Path(scratch) / "servers.log"
            with log.open("w") as output:  # a file, not a pipe: nobody reads a pipe until the end
                servers = subprocess.Popen(
                    [*uv, "run", "--frozen", "pytest", "-m", SERVER_TESTS, *WORKERS, "--basetemp", f"{scratch}/e2e"],
                    cwd=ROOT,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            print(f"tasks: the `-m {SERVER_TESTS}` tests run beside these; their report follows", flush=True)
            try:
                rest = run(uv, "pytest", "-m", rest_marker, *WORKERS, "--basetemp", f"{scratch}/rest")
                servers_code = servers.wait()
            finally:
                if servers.poll() is None:  # interrupted: stop that session too (pytest stops its servers)
                    servers.send_signal(signal.SIGINT)
                    servers.wait()
            print(f"\n===== the `-m {SERVER_TESTS}` session =====\n{log.read_text()}", flush=True)
    return rest or servers_code


def prepare() -> int:
    uv = uv_command()
    sync(uv, "--no-dev")
    return run(uv, "--no-dev", "python", "-c", "from resources.dbt import ensure_manifest; ensure_manifest()")


def project_scripts() -> list[str]:
    """The commands the project installs (``[project.scripts]`` in pyproject.toml)."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return list(tomllib.load(handle)["project"]["scripts"])


def forward(*command: str) -> int:
    """Run ``command`` in the locked environment, with the UI's instance unless DAGSTER_HOME says otherwise.

    So the README's commands work as written right after the quickstart, with no uv on PATH: the
    quickstart may have put uv in .uv-bootstrap/ only.
    """
    uv = uv_command()
    env = dict(os.environ)
    if "DAGSTER_HOME" not in env and DAGSTER_HOME.is_dir():  # laid out by `tasks.py dev`
        env["DAGSTER_HOME"] = str(DAGSTER_HOME)
    if not (ROOT / ".venv").is_dir():  # a fresh checkout: install first
        sync(uv)
    # --no-sync: use the environment as installed (by `dev`, `test` or `prepare --no-dev`). Syncing
    # it here, maybe with another interpreter, could rebuild it under a running server.
    return subprocess.run([*uv, "run", "--no-sync", *command], cwd=ROOT, env=env).returncode


def uv_binary(uv: list[str]) -> str:
    """The uv executable itself, for a program that runs it without this file (template/finish.py)."""
    if len(uv) == 1:
        return shutil.which(uv[0]) or uv[0]
    # [python, -m, uv]: the uv package of that Python knows where its binary is.
    found = subprocess.run([uv[0], "-c", "import uv; print(uv.find_uv_bin())"], capture_output=True, text=True)
    return found.stdout.strip()


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def template_address() -> str:
    """Where a made project pulls later template versions from: this clone's origin (the template's
    public address), or this folder when the clone has none."""
    found = subprocess.run(["git", "remote", "get-url", "origin"], cwd=ROOT, capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else str(ROOT)


def copier(uv: list[str], *args: str) -> int:
    """copier from the locked environment; template/finish.py, which it runs, locks with this uv."""
    return run(uv, "python", "-m", "copier", *args, env={**os.environ, "UV": uv_binary(uv)})


def new() -> int:
    parser = argparse.ArgumentParser(prog="python3 tasks.py new", description="A project from this template.")
    parser.add_argument("path", type=Path, help="the new project's folder (must not exist, or be empty)")
    parser.add_argument("--name", required=True, help="lower-case words joined by '-', e.g. sales-pipeline")
    parser.add_argument("--backend", choices=["duckdb", "ducklake"], default="duckdb", help="production's warehouse")
    parser.add_argument("--demo", action="store_true", help="keep the demo pack (demo/ and what copier.yml lists)")
    args = parser.parse_args(sys.argv[2:])
    if not (ROOT / "copier.yml").exists():
        parser.error("this project is not the template (it has no copier.yml): make new projects from the template")
    target = args.path.resolve()
    if target.exists() and any(target.iterdir()):
        parser.error(f"{target} exists and is not empty")
    uv = uv_command()
    sync(uv)
    commit = git("rev-parse", "HEAD", cwd=ROOT)
    if git("status", "--porcelain", cwd=ROOT):
        print(f"tasks: the template's uncommitted changes are not included (it is made from {commit[:12]})")
    answers = {"name": args.name, "backend": args.backend, "keep_demo": "true" if args.demo else "false"}
    data = [f"--data={key}={value}" for key, value in answers.items()]
    options = ["--trust", "--defaults", "--quiet", f"--vcs-ref={commit}", *data]
    code = copier(uv, "copy", *options, str(ROOT), str(target))
    if code != 0:
        return code
    # The template's address, not the clone it happened to be made from: what `update` pulls from.
    answers_file = target / ".copier-answers.yml"
    lines = answers_file.read_text().splitlines(keepends=True)
    address = f"_src_path: {json.dumps(template_address())}\n"
    answers_file.write_text("".join(address if line.startswith("_src_path:") else line for line in lines))
    git("init", "--quiet", "--initial-branch=main", cwd=target)
    git("add", "--all", cwd=target)
    identity = [] if git_identity(target) else ["-c", "user.name=tasks.py new", "-c", "user.email=new@localhost"]
    message = f"A new project, {args.name}, from the template at {commit[:12]}"
    git(*identity, "commit", "--quiet", "-m", message, cwd=target)
    print(f"tasks: made {target} ({args.name}). Next:\n    cd {target}\n    python3 tasks.py dev")
    return 0


def git_identity(cwd: Path) -> bool:
    found = subprocess.run(["git", "config", "user.email"], cwd=cwd, capture_output=True, text=True)
    return bool(found.stdout.strip())


def update() -> int:
    if not (ROOT / ".copier-answers.yml").exists():
        print("tasks: update is for a project made with `python3 tasks.py new` (it has no .copier-answers.yml)")
        return 2
    uv = uv_command()
    sync(uv)
    code = copier(uv, "update", "--trust", "--defaults", "--skip-answered", *sys.argv[2:])
    if code == 0:
        print("tasks: merged; review `git diff`, resolve any conflict markers, run `python3 tasks.py test`, commit")
    return code


COMMANDS = {"dev": dev, "test": test, "prepare": prepare, "new": new, "update": update}


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name in COMMANDS:
        return COMMANDS[name]()
    if name == "run" and len(sys.argv) > 2:
        return forward(*sys.argv[2:])
    if name and name in project_scripts():
        return forward(*sys.argv[1:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Ctrl-C: the command it ran got it too and has stopped; there is nothing to report.
        sys.exit(130)
