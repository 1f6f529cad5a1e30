"""The JSON-lines files the pipeline writes (alerts, lineage events), read back by the tests."""

from __future__ import annotations

import json
from pathlib import Path


def read_json_lines(path: Path) -> list[dict]:
    """Each line of ``path`` as a record; none while nothing has been written yet."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]
