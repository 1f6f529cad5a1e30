"""Python of this project in a process of its own: for what must not touch the test process (a
setting of the whole process, a command's main as a user runs it); and a free port for a server
a test starts."""

import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence

from config.settings import PROJECT_ROOT


def run_python(args: Sequence[str], env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` from the project root, with this environment and ``env`` on top; output kept."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,  # a generous ceiling: each use finishes in seconds
        check=False,
    )


def free_port() -> int:
    """A local TCP port nobody listens on now (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
