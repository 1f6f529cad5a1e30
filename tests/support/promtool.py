"""Prometheus's promtool, from Debian's `prometheus` package, unpacked rather than installed.

    python3 tests/support/promtool.py DIR      prints the path of a working promtool (fetched into DIR)

Installing the package would start a Prometheus server (its postinst starts the service); the
tests only need the rule and config checker, so the .deb is downloaded and unpacked into DIR.
`.ci/run` does this once and hands the path over in DATAOPS_PROMTOOL; without it the tests' fixture
does the same. A promtool already on PATH is used as it is. Standard library only, like postgres.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

VARIABLE = "DATAOPS_PROMTOOL"
PACKAGE = "prometheus"


class PromtoolNotAvailable(RuntimeError):
    pass


def _works(path: Path) -> bool:
    return path.is_file() and subprocess.run([str(path), "--version"], capture_output=True).returncode == 0


def find_or_fetch(cache: Path) -> Path:
    """A promtool that runs: DATAOPS_PROMTOOL, promtool on PATH, or the one unpacked into ``cache``."""
    for candidate in (os.environ.get(VARIABLE), shutil.which("promtool")):
        if candidate and _works(Path(candidate)):
            return Path(candidate)
    unpacked = cache / "root" / "usr" / "bin" / "promtool"
    if _works(unpacked):
        return unpacked
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise PromtoolNotAvailable(
            "promtool not found and this is not a Debian system to fetch it from: put promtool on PATH "
            f"or set {VARIABLE}"
        )
    cache.mkdir(parents=True, exist_ok=True)
    fetched = subprocess.run(["apt-get", "download", PACKAGE], cwd=cache, capture_output=True, text=True)
    if fetched.returncode != 0:
        raise PromtoolNotAvailable(
            f"`apt-get download {PACKAGE}` failed ({fetched.stderr.strip()}); run `apt-get update` first, "
            f"or set {VARIABLE}"
        )
    [deb] = sorted(cache.glob(f"{PACKAGE}_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(cache / "root")], check=True)
    if not _works(unpacked):
        raise PromtoolNotAvailable(f"{deb.name} holds no working usr/bin/promtool")
    return unpacked


if __name__ == "__main__":
    print(find_or_fetch(Path(sys.argv[1]).resolve()))
