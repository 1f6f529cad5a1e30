"""tasks.py: the README's commands work as written right after the quickstart, with no uv on PATH."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The interpreter a user runs tasks.py with: the base Python, not this virtual environment's.
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)


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
