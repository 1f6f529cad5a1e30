"""The project's dbt command (``<name>-dbt``): dbt, leashed to the process that started it.

A run worker killed outright (SIGKILL, the OOM killer, a lost node) has no chance to stop its dbt
child, which would go on writing, holding the file's write lock, after Dagster has marked the run
failed. So dbt runs through this entry point. It asks Linux to kill it when its parent dies
(``PR_SET_PDEATHSIG``), then runs dbt in the same interpreter, as the ``dbt`` script does. An
interrupted run still stops dbt the gentle way first: dagster-dbt forwards the interrupt as
SIGINT. Elsewhere than on Linux it is plain dbt.

It answers ``--version`` itself, from the installed dbt-core's metadata. dagster-dbt asks the
executable its version before every invocation, and dbt's own answer imports dbt and asks PyPI
for the newest release: a couple of seconds of every build, and a stall on a host without internet.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def leash_to_parent() -> bool:
    """Have the kernel SIGKILL this process when its parent dies; whether the leash is on."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:  # the parent died before the leash was on: nobody is left to serve
        os._exit(1)
    return True


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        # As dbt prints it (dagster-dbt reads the first version number), without the PyPI check.
        print(f"Core:\n  - installed: {importlib.metadata.version('dbt-core')}")
        return
    leash_to_parent()
    from dbt.cli.main import cli  # after the leash: importing dbt takes a second

    sys.exit(cli())


if __name__ == "__main__":
    main()
