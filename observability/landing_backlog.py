"""How much waits in the landing zone: per dataset, the files not loaded yet and the oldest one's age.

A file leaves the landing zone once its load archived it (ingestion/landing.py), so what is still
there and matches a dataset's pattern is waiting. Files that match nothing are the landing
sensor's to reject; they are not backlog.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from config.datasets import DatasetConfig
from ingestion.landing import scan_landing


@dataclass(frozen=True)
class Backlog:
    dataset: str
    files: int
    oldest_age: float  # seconds since the oldest waiting file was last written; 0 when none waits


def landing_backlog(landing_root: Path, datasets: Mapping[str, DatasetConfig], now: float) -> list[Backlog]:
    found = []
    for name, dataset in datasets.items():
        modified = []
        for landed in scan_landing(landing_root, dataset)[0]:
            try:
                modified.append(landed.path.stat().st_mtime)
            except FileNotFoundError:  # loaded and archived between the listing and now
                continue
        found.append(Backlog(name, len(modified), max(0.0, now - min(modified)) if modified else 0.0))
    return found
