"""The file backend's copy of the warehouse for readers, published once per run that wrote it.

DuckDB lets one process write a file and then no other process may open it, readers included: a
notebook, a BI tool or the DuckDB CLI on the warehouse file would lock the pipeline out. Readers
open this copy instead (``<env>.reader.duckdb`` beside the warehouse); it is written beside and
renamed into place, so a reader keeps the version it opened and the next one opens the new.

It is an asset downstream of every mart and analytics table, so a run that builds them ends by
publishing the copy once: a copy of the whole file costs time that grows with the history, and
publishing it after each writing step would pay it three times per refresh. A build
whose audit failed publishes nothing, so readers keep the last published version whole.

The lake needs none (its readers never block writers): the asset exists on the file backend only.
"""

import time
from collections.abc import Sequence

import dagster as dg

from assets.automation import REFRESH_COPY_WHEN_OLDER
from assets.layers import ANALYTICS, MARTS, PIPELINE_GROUP, READERS
from resources.warehouse import WarehouseResource, retry_only_transient

READERS_COPY = dg.AssetKey([READERS, "warehouse_copy"])
# The tables readers read: what the copy waits for. (Raw and staging change only with a refresh of these.)
READ_LAYERS = (MARTS, ANALYTICS)


def read_by_readers(assets_defs: Sequence[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    return [key for item in assets_defs for key in item.keys if key.path[0] in READ_LAYERS]


def build_readers_copy_asset(upstream: Sequence[dg.AssetKey], pool: str) -> dg.AssetsDefinition:
    """The readers' copy, after ``upstream`` (every table readers read); ``pool``: the transforms' pool."""

    @dg.asset(
        key=READERS_COPY,
        deps=list(upstream),
        group_name=PIPELINE_GROUP,
        tags={"layer": READERS},
        description="The warehouse file as readers see it: a read-only copy beside it, replaced whole once a "
        "run has written the marts and analytics, so a reader never locks the pipeline out.",
        kinds={"duckdb"},
        pool=pool,
        automation_condition=REFRESH_COPY_WHEN_OLDER,
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        started = time.perf_counter()
        with retry_only_transient(context.retry_number):
            published = warehouse.publish_reader_copy()
        if published is None:  # built only where readers need a copy (definitions.py)
            raise dg.Failure(f"the warehouse at {warehouse.location} gives its readers no copy: they read it directly")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(published)),
                "size_mb": round(published.stat().st_size / 2**20, 1),
                "copy_seconds": round(time.perf_counter() - started, 3),
            }
        )

    return _asset
