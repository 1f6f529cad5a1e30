"""The landing-zone sensor: a file lands, its partition is registered and loaded.

One sensor watches every dataset's folder (one toggle in the UI, one cursor). Per tick it starts
one run per contiguous range of new days, shared by the datasets that delivered that range, with
the tick's reference files in the first: a burst of 60 files (30 days of two daily feeds) is
one single-run range, not 60 runs, and a cold start (reference data and the first days) is one
run, not two (each run worker start costs seconds). A run of a single day, or of reference files
only, also refreshes everything downstream (the land-and-refresh job, jobs/landing.py): the day is in
the marts without waiting for the automation sensor to start a dbt run of its own. Every run key
names exactly its files' contents, so a restart never requests the same delivery twice. See
landing_plan.py for the rules.
"""

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from assets.automation import UNFINISHED_RUN_STATUSES, unfinished_load_runs
from assets.layers import raw_asset_key
from assets.partitions import DAYS
from config.datasets import DatasetConfig
from config.names import INGEST_JOB, LAND_AND_REFRESH_JOB
from ingestion.rejection import RejectedFile, reject_file
from jobs.landing import RANGE_END_TAG, RANGE_START_TAG, RefreshTargets, ingest_targets, land_and_refresh_targets
from observability.alerts import Alert
from resources.alerts import AlertsResource
from resources.landing import LandingZoneResource
from sensors.landing_plan import (
    DEFAULT_SETTLE_SECONDS,
    Cursor,
    PlannedRun,
    Rejection,
    RunInfo,
    RunState,
    TickPlan,
    plan_tick,
    requested_run_keys,
)

if TYPE_CHECKING:  # define_asset_job's return type is not exported; only needed for the hints
    from compat.dagster import UnresolvedAssetJobDefinition

# Short enough that a dropped file starts loading within seconds (file-to-mart latency,
# bench/latency.py); each tick is a directory listing and a few instance queries. Dagster's sensor
# daemon starts ticks every 5 s at best whatever this says: a tick watches meanwhile (watch_landing).
LANDING_SENSOR_INTERVAL_SECONDS = 2
# How often a watching tick looks again: a directory listing and a stat per landed file.
WATCH_POLL_SECONDS = 0.2


def watch_landing(plan_at: Callable[[float], TickPlan], watch_seconds: float) -> tuple[float, TickPlan]:
    """Plan the tick; while it has nothing to do, look again for up to ``watch_seconds``.

    A file that lands during the watch is taken once it has settled, in this tick, instead of
    waiting for the next one (the daemon's 5-second loop: 2.5 s on average, bench/latency.py). A
    file still settling is waited for even without a watch (under a second): the next tick is far.
    Returns when the plan was made and the plan.
    """
    started = time.monotonic()
    while True:
        now = time.time()
        plan = plan_at(now)
        if plan.runs or plan.rejections:
            return now, plan
        elapsed = time.monotonic() - started
        if plan.settles_in and elapsed + plan.settles_in <= max(watch_seconds, DEFAULT_SETTLE_SECONDS):
            time.sleep(plan.settles_in)  # a file about to settle (one still being written goes past the bound)
        elif elapsed < watch_seconds:
            time.sleep(min(WATCH_POLL_SECONDS, watch_seconds - elapsed))
        else:
            return now, plan


def run_request(
    planned: PlannedRun, datasets: Mapping[str, DatasetConfig], refresh: RefreshTargets, alone: bool = True
) -> dg.RunRequest:
    """A load run; a run of one day (or of reference files only) refreshes downstream too, when it
    is the only load (``alone``: the tick's only run, and no other load queued or going).

    A range (a burst, a cold start) only loads, and so does a run beside other loads: each refresh
    would need the one transform slot, and a run waits in the queue for every pool it needs, so
    the loads would go one at a time instead of side by side. The automation sensor builds once
    when every load has ended, instead of a dbt build per run.
    """
    members = [datasets[name] for name in planned.datasets]
    keys = planned.partition_keys
    job_name, (assets, checks) = INGEST_JOB, ingest_targets(members)
    if len(keys) <= 1 and alone:
        job_name, (assets, checks) = LAND_AND_REFRESH_JOB, land_and_refresh_targets(members, refresh)
    tags = {
        "datasets": ",".join(planned.datasets),
        "trigger": "landing_zone_sensor",
        "files": ",".join(planned.files)[:1000],
        "attempt": str(planned.attempt),
    }
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


RUN_KEY_TAG = "dagster/run_key"
# Set by Dagster on a failed run that its run-retry policy will launch again.
WILL_RETRY_TAG = "dagster/will_retry"


def run_states(instance: dg.DagsterInstance, run_keys: Sequence[str]) -> dict[str, RunInfo]:
    """The state of the newest run of each run key (a retried run shares its parent's key)."""
    if not run_keys:
        return {}
    states: dict[str, RunInfo] = {}
    # Newest first: the first run seen for a key is its latest attempt.
    for record in instance.get_run_records(filters=dg.RunsFilter(tags={RUN_KEY_TAG: list(run_keys)})):
        run = record.dagster_run
        key = run.tags.get(RUN_KEY_TAG)
        if key is None or key in states:
            continue
        if run.status in UNFINISHED_RUN_STATUSES or run.tags.get(WILL_RETRY_TAG) == "true":
            state = RunState.IN_PROGRESS
        elif run.status == dg.DagsterRunStatus.SUCCESS:
            state = RunState.SUCCESS
        elif run.status == dg.DagsterRunStatus.CANCELED:
            state = RunState.CANCELED
        else:
            state = RunState.FAILURE
        states[key] = RunInfo(state, record.end_time)
    return states


def _rejection_events(
    rejected: Sequence[tuple[Rejection, RejectedFile]], datasets: Mapping[str, DatasetConfig]
) -> list[dg.AssetObservation]:
    """An observation on the dataset's raw asset for each file rejected from its folder: shown in its events."""
    return [
        dg.AssetObservation(
            asset_key=raw_asset_key(rejection.dataset),
            description=f"rejected {rejection.relative}: {rejection.reason}",
            metadata={
                "rejected_file": dg.MetadataValue.path(str(moved.path)),
                "note": dg.MetadataValue.path(str(moved.note)),
                "reason": rejection.reason,
            },
        )
        for rejection, moved in rejected
        if rejection.dataset in datasets
    ]


def _reject_files(
    context: dg.SensorEvaluationContext,
    rejections: Sequence[Rejection],
    landing_zone: LandingZoneResource,
    alerts: AlertsResource,
    now: datetime,
) -> list[tuple[Rejection, RejectedFile]]:
    """Move each rejected file out of landing with its note, and alert once per file."""
    rejected = []
    for rejection in rejections:
        try:
            moved = reject_file(rejection, landing_zone.rejected, landing_zone.landing, now)
        except OSError as error:  # said once (the cursor remembers the file); it stays where it is
            context.log.error(f"cannot move {rejection.relative} to {landing_zone.rejected}: {error}")
            continue
        rejected.append((rejection, moved))
        context.log.warning(f"rejected {rejection.relative}: {rejection.reason} (now {moved.path})")
        asset = raw_asset_key(rejection.dataset).to_user_string() if rejection.dataset else None
        alerts.send(
            Alert(
                kind="rejected_file",
                title=f"file {rejection.relative} rejected",
                details=f"{rejection.reason}\nmoved to {moved.path}, note in {moved.note}",
                asset=asset,
            )
        )
    return rejected


def build_landing_sensor(
    datasets: Mapping[str, DatasetConfig],
    jobs: Sequence["UnresolvedAssetJobDefinition"],
    refresh: RefreshTargets,
) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_zone_sensor",
        description="Starts a load for every new or changed file in the landing zone "
        "(<landing>/<dataset>/<file>), starts it again if its run ended without loading it, and moves "
        "files it cannot use to the rejected folder with a note and an alert.",
        jobs=list(jobs),
        minimum_interval_seconds=LANDING_SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def landing_zone_sensor(
        context: dg.SensorEvaluationContext, landing_zone: LandingZoneResource, alerts: AlertsResource
    ) -> dg.SensorResult:
        cursor = Cursor.parse(context.cursor)
        states = run_states(context.instance, requested_run_keys(landing_zone.landing, cursor))
        existing = context.instance.get_dynamic_partitions(DAYS.name)
        now, plan = watch_landing(
            lambda at: plan_tick(datasets, landing_zone.landing, cursor, existing, now=at, run_states=states),
            landing_zone.watch_seconds,
        )

        rejected = _reject_files(context, plan.rejections, landing_zone, alerts, datetime.fromtimestamp(now, UTC))
        for invalid in plan.invalid_partitions:
            context.log.warning(f"removed partition {invalid}")
            alerts.send(
                Alert(
                    kind="invalid_partition",
                    title=f"partition key removed from {DAYS.name}",
                    details=f"{invalid}: not a day of any daily dataset (typed into the UI or the API, or outside "
                    "the `dates` bounds now in the config); its loaded rows, if any, stay in the warehouse",
                )
            )
        for retry in plan.retries:
            context.log.warning(retry)
        if plan.waiting:
            context.log.info(f"{len(plan.waiting)} file(s) waiting: " + "; ".join(plan.waiting[:5]))
        alone = len(plan.runs) == 1 and not unfinished_load_runs(context.instance)
        requests = [run_request(planned, datasets, refresh, alone) for planned in plan.runs]
        partition_requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
        # A late day is put in date order by deleting the later days and adding them back after it.
        # Dagster refuses a result that deletes and adds the same key, so those are deleted here,
        # before the result adds them back (if the tick failed after this, the next tick re-adds them).
        readded = set(plan.removed_partitions) & set(plan.new_partitions)
        for key in plan.removed_partitions:
            if key in readded:
                context.instance.delete_dynamic_partition(DAYS.name, key)
        if junk := [key for key in plan.removed_partitions if key not in readded]:
            partition_requests.append(DAYS.build_delete_request(junk))
        if plan.new_partitions:
            partition_requests.append(DAYS.build_add_request(plan.new_partitions))
        skip_reason = None
        if not requests:
            said = [*plan.reports, *plan.waiting[:5]]
            skip_reason = "; ".join(said) if said else "no new files"
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=partition_requests,
            asset_events=_rejection_events(rejected, datasets),
            cursor=plan.cursor.serialize(),
            skip_reason=skip_reason,
        )

    return landing_zone_sensor
