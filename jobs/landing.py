"""The jobs the landing sensor and `backfill` start, and what each of their runs targets.

A load targets the raw assets of the datasets that delivered, with only the checks those loads
report themselves. A refresh targets everything downstream of the raw layer: the dbt models, the
analytics, and the dbt source tests on the raw tables (checks of the raw assets, run by dbt).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from assets.ingestion_factory import ingestion_check_keys
from assets.layers import ANALYTICS, MARTS, READERS, STAGING, raw_asset_key
from config.datasets import DatasetConfig
from config.names import INGEST_JOB, LAND_AND_REFRESH_JOB

if TYPE_CHECKING:  # define_asset_job's return type is not exported; only needed for the hints
    from compat.dagster import UnresolvedAssetJobDefinition

# Dagster's tags for a run over a range of partitions (the raw assets' single-run backfill policy).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
DOWNSTREAM_LAYERS = (STAGING, MARTS, ANALYTICS, READERS)


def ingest_targets(members: Sequence[DatasetConfig]) -> tuple[list[dg.AssetKey], list[dg.AssetCheckKey]]:
    """The raw assets and checks of a load of ``members``.

    The checks are the ones the loads report themselves, not the dbt source tests on the raw
    tables (checks of these assets too): running those costs a dbt start-up per load; they run
    with the next dbt build instead (assets/dbt_translator.py).
    """
    assets = [raw_asset_key(dataset.name) for dataset in members]
    return assets, [key for dataset in members for key in ingestion_check_keys(dataset)]


def _selection(assets: Iterable[dg.AssetKey], checks: Iterable[dg.AssetCheckKey]) -> dg.AssetSelection:
    """Exactly these assets and these checks (selecting an asset alone would add all its checks)."""
    return dg.AssetSelection.assets(*assets).without_checks() | dg.AssetSelection.checks(*checks)


@dataclass(frozen=True)
class RefreshTargets:
    """Everything a refresh builds: downstream assets and their checks, and dbt's tests of the raw tables."""

    assets: tuple[dg.AssetKey, ...]
    checks: tuple[dg.AssetCheckKey, ...]

    @property
    def selection(self) -> dg.AssetSelection:
        return _selection(self.assets, self.checks)


def refresh_targets(
    assets_defs: Iterable[dg.AssetsDefinition | dg.AssetSpec], datasets: Mapping[str, DatasetConfig]
) -> RefreshTargets:
    definitions = [item for item in assets_defs if isinstance(item, dg.AssetsDefinition)]
    raw = {raw_asset_key(name) for name in datasets}
    loads_report = {key for dataset in datasets.values() for key in ingestion_check_keys(dataset)}
    assets = tuple(key for item in definitions for key in item.keys if key.path[0] in DOWNSTREAM_LAYERS)
    downstream = set(assets)
    checks = tuple(
        key
        for item in definitions
        for key in item.check_keys
        if key.asset_key in downstream or (key.asset_key in raw and key not in loads_report)
    )
    return RefreshTargets(assets, checks)


def build_ingest_job(datasets: Mapping[str, DatasetConfig]) -> UnresolvedAssetJobDefinition:
    """The load job: a run of it loads any subset of the datasets (the sensor selects those that
    landed), a range of days for the daily ones and the reference files alongside, as one run."""
    return dg.define_asset_job(
        INGEST_JOB,
        selection=_selection(*ingest_targets(list(datasets.values()))),
        description=f"Load landed files ({', '.join(datasets)}) into the raw schema.",
    )


def build_land_and_refresh_job(
    datasets: Mapping[str, DatasetConfig], refresh: RefreshTargets
) -> UnresolvedAssetJobDefinition:
    """Load and refresh in one run: the landing sensor's run for a single landed day.

    A day that lands alone reaches the marts one run launch sooner than through the automation
    sensor, which would wait a tick for the load to end and then start a run of its own (each run
    start pays seconds of imports and definition loading).
    """
    return dg.define_asset_job(
        LAND_AND_REFRESH_JOB,
        selection=_selection(*land_and_refresh_targets(list(datasets.values()), refresh)),
        description="Load a landed day (or reference files) and refresh the dbt models and analytics in the same run.",
    )


def land_and_refresh_targets(
    members: Sequence[DatasetConfig], refresh: RefreshTargets
) -> tuple[list[dg.AssetKey], list[dg.AssetCheckKey]]:
    """The assets and checks of a land-and-refresh run of ``members``: their loads, then the refresh."""
    assets, checks = ingest_targets(members)
    return [*assets, *refresh.assets], [*checks, *refresh.checks]


def ingest_job_for(defs: dg.Definitions, members: Sequence[DatasetConfig]) -> dg.JobDefinition:
    """The ingest job narrowed to ``members``, exactly as a sensor run of them: for in-process runs.

    Narrowing by assets alone would add every check on them, the dbt source tests included.
    """
    assets, checks = ingest_targets(members)
    return defs.resolve_job_def(INGEST_JOB).get_subset(asset_selection=set(assets), asset_check_selection=set(checks))
