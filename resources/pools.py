"""Which runs may write the warehouse at once: Dagster concurrency pools, as the backend declares them.

Each backend says which pools its writers wait in and how many slots each has (``pools()`` in
warehouse/file.py and warehouse/lake.py): a file lets one process write, so every writer shares one
pool of one slot; a lake lets loads commit side by side and keeps only builds and maintenance one at
a time. Pool limits live in the Dagster instance (set by ``tasks.py`` and ``python -m resources.pools``),
pool names in the definitions: both come from the backend.
"""

from __future__ import annotations

import subprocess
import sys

from config.settings import Settings, exits_on_settings_error, get_settings
from resources.warehouse import WarehouseResource
from warehouse.backend import WriterPools


def writer_pools(settings: Settings) -> WriterPools:
    return WarehouseResource.for_settings(settings).pools()


def pool_limits(settings: Settings) -> dict[str, int]:
    """Each pool's number of slots."""
    return writer_pools(settings).limits


def set_pool_limits(settings: Settings, dagster: list[str]) -> None:
    """Set the limits in the instance of DAGSTER_HOME with ``dagster instance concurrency set``.

    Explicitly, not from dagster.yaml's ``default_limit``: a pool created from the default is not
    enforced in the queue daemon's first pass on a fresh instance.
    """
    for pool, limit in pool_limits(settings).items():
        subprocess.run([*dagster, "instance", "concurrency", "set", pool, str(limit)], check=True)


@exits_on_settings_error
def main() -> None:
    """`python -m resources.pools`: the limits for this process's settings, in its DAGSTER_HOME."""
    set_pool_limits(get_settings(), [sys.executable, "-m", "dagster"])


if __name__ == "__main__":
    main()
