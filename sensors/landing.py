"""The landing-zone sensor: a file lands, its partition is registered and loaded.

One sensor watches every dataset's folder (one toggle in the UI, one cursor). Per tick it starts
one run for the reference files and one run per contiguous range of new days, shared by the
datasets that delivered that range: a burst of 60 files (30 days of flights and weather) is one
single-run range, not 60 runs, and a day's two files are one run, not two (each run worker start
costs seconds). Every run key names exactly its files' contents, so a restart never requests the
same delivery twice. See landing_plan.py for the rules.
"""

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import dagster as dg

from assets.ingestion_factory import ingestion_check_keys, raw_asset_key
from assets.partitions import DAYS
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


def ingest_job_name(kind: str) -> str:
    return f"ingest_{kind}"


def ingest_targets(members: Sequence[DatasetConfig]) -> tuple[str, list[dg.AssetKey], list[dg.AssetCheckKey]]:
    """The job, raw assets and checks of a load of ``members`` (datasets of one kind).

    The checks are the ones the loads report themselves, not the dbt source tests on the raw
    tables (checks of these assets too): running those costs a dbt start-up per load; they run
    with the next dbt build instead (assets/dbt_translator.py).
    """
    (kind,) = {dataset.kind for dataset in members}
    assets = [raw_asset_key(dataset.name) for dataset in members]
    return ingest_job_name(kind), assets, [key for dataset in members for key in ingestion_check_keys(dataset)]


def build_ingest_jobs(datasets: Mapping[str, DatasetConfig]) -> list["UnresolvedAssetJobDefinition"]:
    """One job for the daily datasets (they share their days) and one for reference data.

    A run of either loads any subset of its datasets: the sensor selects the ones that landed.
    """
    jobs = []
    for kind, description in (("daily", "Load landed daily files"), ("reference", "Load landed reference files")):
        members = [dataset for dataset in datasets.values() if dataset.kind == kind]
        if members:
            job_name, assets, checks = ingest_targets(members)
            selection = dg.AssetSelection.assets(*assets).without_checks() | dg.AssetSelection.checks(*checks)
            names = ", ".join(dataset.name for dataset in members)
            jobs.append(dg.define_asset_job(job_name, selection=selection,
                                            description=f"{description} ({names}) into the raw schema."))  # fmt: skip
    return jobs


def ingest_job_for(defs: dg.Definitions, members: Sequence[DatasetConfig]) -> dg.JobDefinition:
    """The ingest job narrowed to ``members``, exactly as a sensor run of them: for in-process runs.

    Narrowing by assets alone would add every check on them, the dbt source tests included.
    """
    job_name, assets, checks = ingest_targets(members)
    return defs.resolve_job_def(job_name).get_subset(asset_selection=set(assets), asset_check_selection=set(checks))


def run_request(planned: PlannedRun, datasets: Mapping[str, DatasetConfig]) -> dg.RunRequest:
    job_name, assets, checks = ingest_targets([datasets[name] for name in planned.datasets])
    tags = {
        "datasets": ",".join(planned.datasets),
        "trigger": "landing_zone_sensor",
        "files": ",".join(planned.files)[:1000],
    }
    keys = planned.partition_keys
    if len(keys) > 1:  # a contiguous range, loaded in one run (the assets' single-run backfill policy)
        tags |= {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
    return dg.RunRequest(
        run_key=planned.run_key,
        job_name=job_name,
        asset_selection=assets,
        asset_check_keys=checks,
        partition_key=keys[0] if len(keys) == 1 else None,
        tags=tags,
    )


def build_landing_sensor(
    datasets: Mapping[str, DatasetConfig], jobs: list["UnresolvedAssetJobDefinition"]
) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_zone_sensor",
        description="Starts a load for every new or changed file in the landing zone "
        "(<landing>/<dataset>/<file>); reports files it cannot use.",
        jobs=jobs,
        minimum_interval_seconds=LANDING_SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def landing_zone_sensor(context: dg.SensorEvaluationContext, landing_zone: LandingZoneResource):
        existing = context.instance.get_dynamic_partitions(DAYS.name)
        plan = plan_tick(datasets, landing_zone.landing, Cursor.parse(context.cursor), existing, now=time.time())
        for report in plan.reports:
            context.log.warning(f"cannot ingest {report}")
        if plan.waiting:
            context.log.info(f"waiting for {len(plan.waiting)} file(s) to settle: {', '.join(plan.waiting[:5])}")
        requests = [run_request(planned, datasets) for planned in plan.runs]
        skip_reason = None
        if not requests:
            skip_reason = "; ".join(plan.reports) or (
                f"{len(plan.waiting)} file(s) still settling" if plan.waiting else "no new files"
            )
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[DAYS.build_add_request(plan.new_partitions)] if plan.new_partitions else [],
            cursor=plan.cursor.serialize(),
            skip_reason=skip_reason,
        )

    return landing_zone_sensor
