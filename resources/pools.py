"""Which runs may write the warehouse at once: Dagster concurrency pools, per backend.

The file backend lets one process write, so every writer shares one pool of one slot. The lake
lets many write at once; only what DuckLake cannot do concurrently stays serialised, each in a
narrower pool of one slot:

- loads: N at once (``lake_writers``). Loads of different days commit side by side; two that
  replace the same table's rows conflict at commit and one is redone (warehouse/transactions.py).
- transforms (dbt builds, analytics): one at a time. Two builds of the same models would replace
  the same views and tables and fail each other's commit, and a build already covers every model.
- maintenance (backup, clean-up with snapshot expiry and file removal): one at a time.

Pool limits live in the Dagster instance (set by ``tasks.py`` and ``python -m resources.pools``),
pool names in the definitions: both come from here.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from config.settings import Settings, get_settings

FILE_WRITER_POOL = "duckdb_writer"
LAKE_LOAD_POOL = "lake_load"
LAKE_TRANSFORM_POOL = "lake_transform"
LAKE_MAINTENANCE_POOL = "lake_maintenance"


@dataclass(frozen=True)
class WriterPools:
    load: str
    transform: str
    maintenance: str


FILE_POOLS = WriterPools(FILE_WRITER_POOL, FILE_WRITER_POOL, FILE_WRITER_POOL)
LAKE_POOLS = WriterPools(LAKE_LOAD_POOL, LAKE_TRANSFORM_POOL, LAKE_MAINTENANCE_POOL)


def writer_pools(settings: Settings) -> WriterPools:
    return LAKE_POOLS if settings.uses_lake else FILE_POOLS


def pool_limits(settings: Settings) -> dict[str, int]:
    """Each pool's number of slots."""
    if settings.uses_lake:
        return {LAKE_LOAD_POOL: settings.lake_writers, LAKE_TRANSFORM_POOL: 1, LAKE_MAINTENANCE_POOL: 1}
    return {FILE_WRITER_POOL: 1}


def set_pool_limits(settings: Settings, dagster: list[str]) -> None:
    """Set the limits in the instance of DAGSTER_HOME with ``dagster instance concurrency set``.

    Explicitly, not from dagster.yaml's ``default_limit``: a pool created from the default is not
    enforced in the queue daemon's first pass on a fresh instance.
    """
    for pool, limit in pool_limits(settings).items():
        subprocess.run([*dagster, "instance", "concurrency", "set", pool, str(limit)], check=True)


if __name__ == "__main__":
    # `python -m resources.pools`: the limits for this process's settings, in its DAGSTER_HOME.
    set_pool_limits(get_settings(), [sys.executable, "-m", "dagster"])
