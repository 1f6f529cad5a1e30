"""The demo is a pack that `python3 tasks.py new` leaves out: its files are listed in copier.yml, its
lines elsewhere are tagged (the lines template/finish.py drops), and nothing else in the project
mentions it."""

import fnmatch
import re
import subprocess
from pathlib import Path

import yaml

from template.finish import is_pack_line

ROOT = Path(__file__).resolve().parent.parent
PACK_ENTRY = re.compile(r"^\{% if not keep_demo %\}(?P<pattern>.+)\{% endif %\}$")
# The demo's names: the data set's, its datasets', its tables' and its columns'.
DEMO_NAMES = re.compile(r"(?i)(flights|nyc|weather|airline|airport|\bplanes?\b|carrier|tailnum)")
# Not the core: what shows the demo (the tests, the docs, the template's manual, which `new`
# replaces by template/README.md), the pack's list itself, and the lock `new` makes again.
NOT_CORE = ("tests/", "docs/", "README.md", "copier.yml", "uv.lock")


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def pack_patterns() -> list[str]:
    excluded = yaml.safe_load((ROOT / "copier.yml").read_text())["_exclude"]
    return [match.group("pattern") for entry in excluded if (match := PACK_ENTRY.match(entry))]


def in_pack(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) or name.startswith(f"{pattern}/") for pattern in patterns)


def test_nothing_outside_the_demo_pack_mentions_the_demo():
    patterns = pack_patterns()
    mentions = []
    for name in tracked_files():
        if name.startswith(NOT_CORE) or in_pack(name, patterns):
            continue
        try:
            lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(lines, start=1):
            if DEMO_NAMES.search(line) and not is_pack_line(line):
                mentions.append(f"{name}:{number}: {line.strip()}")
    assert mentions == [], "the core mentions the demo (move it into the pack, or tag the line):\n" + "\n".join(
        mentions
    )


def test_every_entry_of_the_pack_names_files_of_the_project():
    files = tracked_files()
    empty = [pattern for pattern in pack_patterns() if not any(in_pack(name, [pattern]) for name in files)]
    assert empty == [], f"copier.yml lists demo pack entries that match no file: {empty}"
