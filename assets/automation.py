"""Declarative automation: when derived assets refresh by themselves, and why.

Raw assets are started by the landing sensor. Everything downstream refreshes on its own through
the automation sensor (sensors/automation.py). Labels show in the UI's automation view.

Two kinds of dbt model behave differently:
- A *view* (staging) is a stored query over its input: it is current the moment its input changes,
  so it is rebuilt only when it is missing or its SQL changed, never for new data.
- A *table* (marts) holds a copy: it is rebuilt when an input changed, looking through views to
  the raw tables behind them. It waits while any of those inputs is still loading, so a burst of
  landed files (many raw loads) becomes one dbt build at the end, not one per load.

Why not ``AutomationCondition.eager()``: it waits while *any* partition of an input is missing. A
day whose file failed validation stays missing until it is re-delivered, and eager would then hold
back every later day. Here an input only has to exist; the bad day never reached its raw table.

Every refresh also waits while any load run is queued or running (``LOADS_IDLE``). A load run is a
sequence of steps, one per dataset: with only "my inputs are not loading", the tick that falls
between two steps would build the views of the datasets already loaded in a dbt run of their own,
and the rest in another. Waiting for the loads as a whole makes a cold start, or a burst, one build.
It waits for a backfill in progress too: a backfill builds downstream of its loads itself.
"""

import functools
from datetime import datetime

import dagster as dg

from config.names import LOAD_JOBS, UNFINISHED_RUN_STATUS_NAMES

AC = dg.AutomationCondition
# Statuses of a run that has not ended: it may still write what it targets.
UNFINISHED_RUN_STATUSES = [dg.DagsterRunStatus(status) for status in UNFINISHED_RUN_STATUS_NAMES]


# Statuses of a backfill that the daemon is still working on (their values: the status enum is not
# part of dagster's exported API).
UNFINISHED_BACKFILL_STATUSES = ("REQUESTED", "CANCELING")
# The newest backfills are the ones that can still be in progress.
BACKFILLS_LOOKED_AT = 50


@functools.lru_cache(maxsize=1)
def _loads_in_flight(instance: dg.DagsterInstance, evaluation_time: datetime) -> int:
    """Unfinished load runs and backfills, counted once per tick (a tick's assets share its time).

    A backfill ("Materialize all") loads and builds by itself, a step each 30-second loop of the
    backfill daemon, in runs of its own job. Between its load and its dbt run, the raw tables are
    fresh and no `ingest` run is going: without this, automation would start the dbt source tests the
    backfill is about to run (tests/test_dagster_dev.py).
    """
    backfills = instance.get_backfills(limit=BACKFILLS_LOOKED_AT)
    # A load that ended after this tick began counts too: the tick reads the assets' state as of its
    # start, which may miss the load's last writes (a table it loaded would look missing), and would
    # build part of what the load feeds now and the rest a tick later. The next tick sees it all.
    ended_during_tick = sum(
        instance.get_runs_count(filters=dg.RunsFilter(job_name=job, updated_after=evaluation_time)) for job in LOAD_JOBS
    )
    return (
        unfinished_load_runs(instance)
        + ended_during_tick
        + sum(backfill.status.value in UNFINISHED_BACKFILL_STATUSES for backfill in backfills)
    )


def unfinished_load_runs(instance: dg.DagsterInstance) -> int:
    """Load runs queued, starting or going (what the landing sensor and automation wait on)."""
    return sum(
        instance.get_runs_count(filters=dg.RunsFilter(job_name=job, statuses=UNFINISHED_RUN_STATUSES))
        for job in LOAD_JOBS
    )


class NoLoadInFlight(dg.AutomationCondition):
    """True while no run of a load job is queued or running, and no backfill is in progress: the raw
    layer is settled.

    Dagster's operands see one asset at a time; whether *any* load is still going on is a question
    for the instance, so this condition is Python (evaluated in the code server: see
    sensors/automation.py). The answer is asked once per tick, not once per asset.
    """

    @property
    def name(self) -> str:
        return "no_load_in_flight"

    @property
    def description(self) -> str:
        jobs = " or ".join(f"`{job}`" for job in LOAD_JOBS)
        return f"no {jobs} run is queued or running, and no backfill is in progress"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        loads = _loads_in_flight(context.asset_graph_view.instance, context.evaluation_time)
        return dg.AutomationResult(
            context, true_subset=context.get_empty_subset() if loads else context.candidate_subset
        )


# The UI shows it by its description (a Python condition carries no label).
LOADS_IDLE = NoLoadInFlight()
MATERIALIZED_TAG = "dbt_materialized"  # set on every dbt asset by assets/dbt_translator.py
VIEWS = dg.AssetSelection.tag(MATERIALIZED_TAG, "view")


def through_views(condition: dg.AutomationCondition) -> dg.AutomationCondition:
    """True if ``condition`` holds for an input, where a view input stands for the inputs behind it."""
    direct = AC.any_deps_match(condition).ignore(VIEWS)
    behind_views = AC.any_deps_match(AC.any_deps_match(condition)).allow(VIEWS)
    return direct | behind_views


INPUTS_EXIST = AC.all_deps_match(~AC.missing() | AC.will_be_requested()).with_label("every input exists")
NOT_RUNNING = (~AC.in_progress()).with_label("not already running")

REFRESH_VIEW = (
    (AC.missing() | AC.code_version_changed()).since_last_handled().with_label("missing, or its SQL changed")
    & INPUTS_EXIST
    & (~AC.any_deps_in_progress()).with_label("its input is not loading")
    & LOADS_IDLE
    & NOT_RUNNING
).with_label("build the view when missing or changed")


@functools.lru_cache(maxsize=1)
def _asset_runs(
    instance: dg.DagsterInstance, evaluation_time: datetime
) -> dict[dg.AssetKey, tuple[str | None, tuple[str, float] | None]]:
    """Per asset, read in one query once per tick: the run that last targeted it (planned, whether it
    then wrote or failed) and (run id, time) of its latest materialisation."""
    found = {}
    for record in instance.get_asset_records():
        entry = record.asset_entry
        written = entry.last_materialization_record
        latest = (written.run_id, written.timestamp) if written else None
        found[entry.asset_key] = (entry.last_run_id, latest)
    return found


@functools.lru_cache(maxsize=512)
def _run_start(instance: dg.DagsterInstance, run_id: str, evaluation_time: datetime) -> float | None:
    record = instance.get_run_record_by_id(run_id)
    return record.start_time if record else None


def _inputs_through_views(context: dg.AutomationContext, key: dg.AssetKey) -> set[dg.AssetKey]:
    """The asset's inputs, a view input replaced by the inputs behind it (a view holds no data)."""
    graph = context.asset_graph
    found = set()
    for parent in graph.get(key).parent_keys:
        if graph.get(parent).tags.get(MATERIALIZED_TAG) == "view":
            found |= _inputs_through_views(context, parent)
        else:
            found.add(parent)
    return found


class InputWrittenDuringLastBuild(dg.AutomationCondition):
    """True for a table whose last build started before another run wrote one of its inputs.

    On the lake, a load and a dbt build run side by side (their pools differ: warehouse/lake.py).
    A build that started just before a load committed may have read the input without it; its
    materialisation lands after the load's, so for Dagster the update is handled ("since last
    handled" resets) and nothing would rebuild the days the load brought (after a restart, the
    landing sensor may re-request the lost loads a second after automation starts the build).
    This compares times instead: the input's latest write, by another run, after the build began.
    """

    @property
    def name(self) -> str:
        return "input_written_during_last_build"

    @property
    def description(self) -> str:
        return "another run wrote an input (or the table behind a view input) after its last build began"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        instance, at = context.asset_graph_view.instance, context.evaluation_time
        runs = _asset_runs(instance, at)
        # The table's last run, not its last success: a build that failed has handled the load
        # before it (as a request resets "since last handled"), or every tick would start it again.
        last_run = runs.get(context.key, (None, None))[0]
        started = _run_start(instance, last_run, at) if last_run else None
        if started is None:
            return dg.AutomationResult(context, true_subset=context.get_empty_subset())
        for source in _inputs_through_views(context, context.key):
            written = runs.get(source, (None, None))[1]
            if written is not None and written[0] != last_run and written[1] > started:
                return dg.AutomationResult(context, true_subset=context.candidate_subset)
        return dg.AutomationResult(context, true_subset=context.get_empty_subset())


INPUT_WRITTEN_DURING_BUILD = InputWrittenDuringLastBuild()

REFRESH_ON_UPSTREAM_UPDATE = (
    (
        through_views(AC.newly_updated())
        .since_last_handled()
        .with_label("an input (or the table behind a view input) was updated")
        # Outside "since": in the tick where a build's own update arrives (its "handled"), an input
        # may be requested again (INPUT_WRITTEN_DURING_BUILD) and this table must go with it.
        | through_views(AC.will_be_requested()).with_label("an input is being built")
        | INPUT_WRITTEN_DURING_BUILD
    )
    & INPUTS_EXIST
    & (~through_views(AC.in_progress())).with_label("no input is loading (a burst ends first)")
    & LOADS_IDLE
    & NOT_RUNNING
).with_label("refresh when inputs update")


class InputNewerThanItself(dg.AutomationCondition):
    """True for an asset never written while its inputs exist, or older than one of its inputs.

    A comparison of the latest materialisation times, read fresh each tick: it carries no state from
    one tick to the next, so where a tick falls within the run that wrote the inputs and the asset
    together cannot matter (the asset is written last, so it is never older once that run ends).
    """

    @property
    def name(self) -> str:
        return "input_newer_than_itself"

    @property
    def description(self) -> str:
        return "an input was written after it last was (or it was never written)"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        runs = _asset_runs(context.asset_graph_view.instance, context.evaluation_time)
        own = runs.get(context.key, (None, None))[1]
        inputs = [runs.get(source, (None, None))[1] for source in _inputs_through_views(context, context.key)]
        newest_input = max((written[1] for written in inputs if written is not None), default=None)
        older = newest_input is not None and (own is None or newest_input > own[1])
        true_subset = context.candidate_subset if older else context.get_empty_subset()
        return dg.AutomationResult(context, true_subset=true_subset)


# For assets downstream of dbt: additionally, no error-severity dbt test (a blocking check) failed.
# WARN-severity tests are not blocking, so the known gaps in the real data do not stop analytics.
REFRESH_AFTER_CHECKS_PASS = (
    REFRESH_ON_UPSTREAM_UPDATE & AC.all_deps_blocking_checks_passed().with_label("blocking checks of inputs passed")
).with_label("refresh when inputs update and their blocking checks pass")

# For a copy of what its inputs hold (the readers' copy of the warehouse): refresh with them, or
# whenever it is older than one of them. No "since last handled" state: the copy is last in the run
# that writes its inputs, and a tick that reads that run half-way must not request it again.
REFRESH_COPY_WHEN_OLDER = (
    (through_views(AC.will_be_requested()).with_label("an input is being built") | InputNewerThanItself())
    & INPUTS_EXIST
    & (~through_views(AC.in_progress())).with_label("no input is being written")
    & LOADS_IDLE
    & NOT_RUNNING
    & AC.all_deps_blocking_checks_passed().with_label("blocking checks of inputs passed")
).with_label("refresh the copy when its inputs are newer and their blocking checks pass")

# dbt source tests are checks on the raw assets, run by dbt. They run once a load has finished, in
# the same tick (and so the same dbt run) as the table refresh that the load triggers. A backfill
# ("Materialize all") runs them itself, with the loads it makes, so they are handled by it.
#
# "Or it never ran" keys a first run on the same state as the views' (missing, not a fresh update):
# Dagster can see a table's update one tick later than the end of its run, and the first load's
# source tests would then miss the tick that builds the views and marts, costing a dbt run of their own.
RUN_SOURCE_TESTS = (
    (AC.any_deps_match(AC.newly_updated()) | AC.missing())
    .since_last_handled()
    .with_label("the raw table was loaded, or the test never ran")
    & AC.all_deps_match(~AC.missing()).with_label("the raw table exists")
    & (~AC.any_deps_in_progress()).with_label("the load has finished")
    & LOADS_IDLE
).with_label("test the raw table after each load")


def run_with_model(table: dg.AssetKey) -> dg.AutomationCondition:
    """For a dbt model test on ``table``: run whenever the table is built (dbt build does that).

    Saying so lets the blocking-check condition above see the tests coming, so analytics join the
    same tick as the marts. A test that also reads another model (a relationship test's staging
    view, a window test's other table) depends on it too, but only its own table is its
    trigger: run with the other model alone, it would check the new version of one against the
    published version of its own table, and fail.
    """
    return (
        AC.any_deps_match(AC.will_be_requested())
        .allow(dg.AssetSelection.assets(table))
        .with_label("its table is being built")
    )
