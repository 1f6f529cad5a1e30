"""tasks.py: the README's commands work as written right after the quickstart, with no uv on PATH."""

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.support.dev_server import START_TIMEOUT_SECONDS, wait_for
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
# The interpreter a user runs tasks.py with: the base Python, not this virtual environment's.
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)
# Generous on a busy machine: `dagster dev` stops its webserver, daemon and code server in turn.
STOP_TIMEOUT_SECONDS = 180


def tasks(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        # Only the system's folders: uv is not on PATH, as after `python3 tasks.py dev` on a fresh machine.
        "PATH": "/usr/bin:/bin",
        "DATAOPS_DATA_DIR": str(data_dir),
        "DATAOPS_ENV": "test",
    }
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [BASE_PYTHON, "tasks.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_a_project_command_runs_through_tasks_py_without_uv_on_path(tmp_path):
    result = tasks("replay", "--reference", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "replay: 3 file(s) delivered" in result.stdout
    assert sorted(path.name for path in (tmp_path / "data" / "landing").rglob("*.csv")) == [
        "airlines.csv",
        "airports.csv",
        "planes.csv",
    ]


def test_run_forwards_any_command_into_the_locked_environment(tmp_path):
    result = tasks("run", "python", "-c", "import dagster, polars; print('locked env ok')", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "locked env ok" in result.stdout


def test_an_unknown_command_prints_the_usage_and_fails(tmp_path):
    result = tasks("no-such-command", data_dir=tmp_path)
    assert result.returncode == 2
    assert "python3 tasks.py run COMMAND" in result.stdout


@pytest.mark.e2e
def test_ctrl_c_stops_dev_without_a_traceback_and_leaves_no_process_behind(tmp_path):
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "PATH": "/usr/bin:/bin",
        "DAGSTER_HOME": str(tmp_path / "home"),
        "DATAOPS_DATA_DIR": str(tmp_path / "data"),
        "DATAOPS_ENV": "test",
        "DATAOPS_SEED_DAYS": "1",
        "DATAOPS_METRICS_PORT": str(metrics_port),
    }
    env.pop("VIRTUAL_ENV", None)
    log = tmp_path / "dev.log"
    with log.open("w") as output:
        # A session of its own, as a terminal gives its foreground job, with Ctrl-C's default handling.
        process = subprocess.Popen(
            [BASE_PYTHON, "tasks.py", "dev", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    home = env["DAGSTER_HOME"]
    try:
        wait_for("the UI", lambda: answers(f"http://127.0.0.1:{port}/server_info"), START_TIMEOUT_SECONDS)
        # Pressed while the seeded day's runs launch: the moment most likely to catch a process mid-way.
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert process.wait(timeout=STOP_TIMEOUT_SECONDS) == 130, log.read_text()[-3000:]
        wait_for("every process it started to end", lambda: not started_for(home), STOP_TIMEOUT_SECONDS, every=1)
    finally:
        for leftover in started_for(home):
            with contextlib.suppress(psutil.Error):
                leftover.kill()
    printed = log.read_text()
    assert "Traceback" not in printed, printed[-3000:]


# A server as until_stopped sees one: it says it is up, and shuts down on the SIGINT it is sent.
SERVER = """
import signal, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # whatever the test runner left it as
try:
    print("server: up", flush=True)
    while True:
        time.sleep(1)
except KeyboardInterrupt:
    print("server: asked to stop", flush=True)
"""
# tasks.py's until_stopped running that server, as `tasks.py dev` runs `dagster dev`.
SUPERVISOR = "import sys, tasks; sys.exit(tasks.until_stopped([sys.executable, '-c', sys.argv[1]], {}))"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)], ids=["kill", "hangup"])
def test_kill_or_a_closed_terminal_stops_the_server_as_ctrl_c_does(signum, code):
    """The server runs in a process group of its own (so Ctrl-C reaches tasks.py alone): a SIGTERM or
    SIGHUP to tasks.py must stop it too, or it outlives the command."""
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, SERVER], cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert supervisor.stdout.readline().strip() == "server: up"
        [server] = psutil.Process(supervisor.pid).children()
        supervisor.send_signal(signum)
        assert supervisor.wait(timeout=60) == code
        assert supervisor.stdout.read().strip() == "server: asked to stop"
        assert not server.is_running() or server.status() == psutil.STATUS_ZOMBIE
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(supervisor.pid, signal.SIGKILL)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def started_for(home: str) -> list[psutil.Process]:
    """The live processes started with this Dagster home (every process `tasks.py dev` starts has it)."""
    found = []
    for process in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error):
            if process.info["status"] != psutil.STATUS_ZOMBIE and process.environ().get("DAGSTER_HOME") == home:
                found.append(process)
    return found
