"""The landing-zone sensor: a file lands, its partition is registered and loaded.

One sensor watches every dataset's folder (one toggle in the UI, one cursor). Per tick it starts
one run per dataset and contiguous range of new days: a burst of 60 files is two runs (flights
and weather, each a single-run range), not 120, and every run key names exactly its files'
contents, so a restart never requests the same delivery twice. See landing_plan.py for the rules.
"""

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import dagster as dg

from assets.ingestion_factory import ingestion_check_keys, raw_asset_key
from assets.partitions import partitions_for, partitions_name
from config.datasets import DatasetConfig
from resources.landing import LandingZoneResource
from sensors.landing_plan import Cursor, PlannedRun, plan_tick

if TYPE_CHECKING:  # define_asset_job's return type is not exported; only needed for the hints
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

# Short enough that a dropped file starts loading within seconds in the demo; each tick is a
# directory listing, so polling this often costs nothing measurable.
LANDING_SENSOR_INTERVAL_SECONDS = 5
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def ingest_job_name(dataset_name: str) -> str:
    return f"ingest_{dataset_name}"


def build_ingest_job(dataset: DatasetConfig) -> "UnresolvedAssetJobDefinition":
    """A job per dataset: one sensor can start datasets whose partitions differ (a job cannot)."""
    return dg.define_asset_job(
        ingest_job_name(dataset.name),
        # The asset and the checks it reports itself: the dbt source tests on the raw table are
        # checks of this asset too, but running them costs a dbt start-up per load; they run with
        # the next dbt build instead (assets/dbt_translator.py).
        selection=dg.AssetSelection.assets(raw_asset_key(dataset.name)).without_checks()
        | dg.AssetSelection.checks(*ingestion_check_keys(dataset)),
        description=f"Load landed {dataset.name} files into raw.{dataset.name}.",
    )


def run_request(planned: PlannedRun) -> dg.RunRequest:
    tags = {"dataset": planned.dataset, "trigger": "landing_zone_sensor", "files": ",".join(planned.files)[:1000]}
    keys = planned.partition_keys
    job_name = ingest_job_name(planned.dataset)
    if len(keys) == 1:
        return dg.RunRequest(run_key=planned.run_key, job_name=job_name, partition_key=keys[0], tags=tags)
    if keys:  # a contiguous range, loaded in one run (the asset's single-run backfill policy)
        tags |= {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
    return dg.RunRequest(run_key=planned.run_key, job_name=job_name, tags=tags)


def build_landing_sensor(
    datasets: Mapping[str, DatasetConfig], jobs: list["UnresolvedAssetJobDefinition"]
) -> dg.SensorDefinition:
    partitioned = {name: partitions_for(dataset) for name, dataset in datasets.items() if dataset.kind == "daily"}

    @dg.sensor(
        name="landing_zone_sensor",
        description="Starts a load for every new or changed file in the landing zone "
        "(<landing>/<dataset>/<file>); reports files it cannot use.",
        jobs=jobs,
        minimum_interval_seconds=LANDING_SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def landing_zone_sensor(context: dg.SensorEvaluationContext, landing_zone: LandingZoneResource):
        existing = {name: context.instance.get_dynamic_partitions(partitions_name(name)) for name in partitioned}
        plan = plan_tick(datasets, landing_zone.landing, Cursor.parse(context.cursor), existing, now=time.time())
        for report in plan.reports:
            context.log.warning(f"cannot ingest {report}")
        if plan.waiting:
            context.log.info(f"waiting for {len(plan.waiting)} file(s) to settle: {', '.join(plan.waiting[:5])}")
        requests = [run_request(planned) for planned in plan.runs]
        skip_reason = None
        if not requests:
            skip_reason = "; ".join(plan.reports) or (
                f"{len(plan.waiting)} file(s) still settling" if plan.waiting else "no new files"
            )
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[
                partitioned[name].build_add_request(keys) for name, keys in plan.new_partitions.items()
            ],
            cursor=plan.cursor.serialize(),
            skip_reason=skip_reason,
        )

    return landing_zone_sensor
