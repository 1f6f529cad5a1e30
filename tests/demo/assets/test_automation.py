"""The automation conditions, evaluated by Dagster's own evaluator against a real instance."""

import threading

import dagster as dg
import pytest

from assets.automation import MATERIALIZED_TAG, REFRESH_ON_UPSTREAM_UPDATE, run_with_model
from assets.layers import raw_asset_key
from assets.partitions import DAYS
from config.names import LAND_AND_REFRESH_JOB
from definitions import build_definitions
from demo import replay
from jobs.landing import ingest_job_for, land_and_refresh_targets, refresh_targets
from tests.demo.support import expected_graph as expected

pytestmark = pytest.mark.integration  # the refreshes it runs are real dbt builds

DATASETS = expected.DATASETS
RAW = [raw_asset_key(name).to_user_string() for name in DATASETS]  # loaded in the config's order
DAILY = expected.DAILY
VIEWS, TABLES, ANALYTICS = expected.STAGING, expected.MARTS, expected.ANALYTICS
READERS_COPY = expected.READERS  # after them, in the same run (file backend)


class Automation:
    """Evaluates the conditions tick by tick, carrying the cursor like the automation sensor does."""

    def __init__(self, defs, instance):
        self.defs, self.instance, self.cursor = defs, instance, None

    def _evaluate(self) -> set[dg.AssetKey | dg.AssetCheckKey]:
        result = dg.evaluate_automation_conditions(defs=self.defs, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        return {evaluation.key for evaluation in result.results if evaluation.true_subset.size}

    def tick(self) -> set[str]:
        """The assets requested by one tick; the checks it requested are kept in ``last_checks``."""
        keys = self._evaluate()
        self.last_checks = {key.name for key in keys if isinstance(key, dg.AssetCheckKey)}
        return {key.to_user_string() for key in keys if isinstance(key, dg.AssetKey)}

    def checks_requested(self) -> set[str]:
        return {key.name for key in self._evaluate() if isinstance(key, dg.AssetCheckKey)}


@pytest.fixture
def world(settings, dbt_manifest):
    replay.main(["--reference", "--days", "2"], settings=settings)
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DAYS.name, ["2013-01-01", "2013-01-02"])
    automation = Automation(defs, instance)
    # The automation sensor starts with `dagster dev`, before any data: its first tick only sets
    # the baseline (conditions "since last handled" start counting there), and requests nothing.
    assert automation.tick() == set()
    return defs, instance, automation


def load(defs, instance, key, partition_key=None):
    """Load a raw asset through its ingest job, as the landing sensor does."""
    dataset = DATASETS[dg.AssetKey.from_user_string(key).path[-1]]
    assert ingest_job_for(defs, [dataset]).execute_in_process(instance=instance, partition_key=partition_key).success


def test_nothing_runs_before_there_is_data(world):
    _, _, automation = world
    assert automation.tick() == set()
    assert automation.checks_requested() == set()


def test_once_every_input_exists_one_tick_builds_views_tables_and_analytics(world):
    defs, instance, automation = world
    for key in RAW:
        load(defs, instance, key, "2013-01-01" if key in DAILY else None)
    assert automation.tick() == VIEWS | TABLES | ANALYTICS | READERS_COPY
    # ...and the raw tables' dbt source tests join that tick: one dbt run in all.
    assert {
        "source_unique_raw_planes_tailnum",
        "unique_key_raw_weather",
    } <= (automation.last_checks)
    assert automation.checks_requested() == set(), "nothing left for a run of its own"


def test_nothing_refreshes_while_a_load_is_running(world):
    """Between two steps of a load run some raw tables are new and others not yet: waiting for the
    loads as a whole is what makes a cold start, or a burst, one dbt build."""
    defs, instance, automation = world
    for key in RAW:
        load(defs, instance, key, "2013-01-01" if key in DAILY else None)
    running = instance.create_run_for_job(defs.resolve_job_def("ingest"), status=dg.DagsterRunStatus.STARTED)
    assert automation.tick() == set()
    assert automation.last_checks == set()
    instance.delete_run(running.run_id)  # the load is over
    assert automation.tick() == VIEWS | TABLES | ANALYTICS | READERS_COPY


def test_a_day_loaded_and_refreshed_in_one_run_leaves_automation_nothing_to_do(world):
    """The landing sensor's run of a single day builds downstream itself (jobs/landing.py): the
    automation sensor must not start a second dbt build for the same day, nor one while it runs."""
    defs, instance, automation = world
    datasets = DATASETS
    refresh = refresh_targets(defs.assets, datasets)
    for key in RAW:
        load(defs, instance, key, "2013-01-01" if key in DAILY else None)
    automation.tick()
    dg.materialize(list(defs.assets), selection=refresh.selection, instance=instance, resources=defs.resources)
    assert automation.tick() == set()

    daily = [dataset for dataset in datasets.values() if dataset.kind == "daily"]
    # The job narrowed to these datasets, exactly as the landing sensor's run of them.
    assets, checks = land_and_refresh_targets(daily, refresh)
    job = defs.resolve_job_def(LAND_AND_REFRESH_JOB).get_subset(
        asset_selection=set(assets), asset_check_selection=set(checks)
    )
    running = instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
    assert automation.tick() == set(), "a land-and-refresh run in flight is a load in flight"
    instance.delete_run(running.run_id)
    result = job.execute_in_process(instance=instance, partition_key="2013-01-02")
    assert result.success
    built = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert built >= set(DAILY) | TABLES | ANALYTICS
    assert automation.tick() == set(), "the run refreshed downstream itself"
    assert automation.last_checks == set()


def test_views_wait_for_their_input_and_tables_for_all_of_theirs(world):
    defs, instance, automation = world
    load(defs, instance, "raw/flights", "2013-01-01")
    # stg_flights can be built; fct_flights needs every staging input to exist first.
    assert automation.tick() == {"staging/stg_flights"}


def test_new_data_refreshes_tables_but_not_views(world):
    defs, instance, automation = world
    for key in RAW:
        load(defs, instance, key, "2013-01-01" if key in DAILY else None)
    automation.tick()
    downstream = dg.AssetSelection.key_prefixes(["staging"], ["marts"], ["analytics"], ["readers"])
    dg.materialize(list(defs.assets), selection=downstream, instance=instance, resources=defs.resources)
    assert automation.tick() == set(), "nothing changed since the build"

    load(defs, instance, "raw/flights", "2013-01-02")
    # The views are current by construction: only the tables behind them, analytics and the copy refresh.
    assert automation.tick() == TABLES | ANALYTICS | READERS_COPY


def test_the_readers_copy_refreshes_while_it_is_older_than_a_table_it_copies_and_then_stops(world):
    """The copy keeps no "since" state: however the ticks fall across the run that wrote its inputs,
    it is requested exactly while an input is newer than it."""
    defs, instance, automation = world
    for key in RAW:
        load(defs, instance, key, "2013-01-01" if key in DAILY else None)
    automation.tick()
    everything_but_the_copy = dg.AssetSelection.key_prefixes(["staging"], ["marts"], ["analytics"])
    dg.materialize(list(defs.assets), selection=everything_but_the_copy, instance=instance, resources=defs.resources)
    assert automation.tick() == READERS_COPY
    assert automation.tick() == READERS_COPY, "still older than its inputs: asked again until written"
    copy = dg.AssetSelection.key_prefixes(["readers"])
    dg.materialize(list(defs.assets), selection=copy, instance=instance, resources=defs.resources)
    assert automation.tick() == set()
    assert automation.tick() == set()


def test_source_tests_run_after_a_load(world):
    defs, instance, automation = world
    load(defs, instance, "raw/planes")
    assert "source_unique_raw_planes_tailnum" in automation.checks_requested()


def test_a_relationship_test_waits_for_its_table_not_the_view_on_its_other_side(world):
    defs, instance, automation = world
    load(defs, instance, "raw/airlines")
    requested = automation.checks_requested()
    assert "source_unique_raw_airlines_carrier" in requested
    assert not any(name.startswith("relationships_fct_flights") for name in requested)


def test_a_refresh_of_the_tables_alone_runs_their_relationship_tests(world):
    """Automation rebuilds the marts without the views: fct_flights' relationship tests (against
    the views) must still run, or the real gaps in the data would silently stop being reported."""
    defs, instance, _ = world
    for key in RAW:
        load(defs, instance, key, "2013-01-01" if key in DAILY else None)
    everything = dg.AssetSelection.key_prefixes(["staging"], ["marts"])
    assert dg.materialize(list(defs.assets), selection=everything, instance=instance, resources=defs.resources).success
    load(defs, instance, "raw/flights", "2013-01-02")
    result = dg.materialize(
        list(defs.assets),
        selection=dg.AssetSelection.key_prefixes(["marts"]),
        instance=instance,
        resources=defs.resources,
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    relationships = {name for name in evaluations if name.startswith("relationships_fct_flights")}
    assert len(relationships) == 4, sorted(evaluations)
    tailnum = evaluations["relationships_fct_flights_tailnum__tailnum__ref_stg_planes_"]
    # A real gap: tail numbers flown on those days that the FAA registry file does not have.
    assert not tailnum.passed and tailnum.severity == dg.AssetCheckSeverity.WARN


def summary_with_its_test(counts: dg.AssetsDefinition, *other_inputs: dg.AssetsDefinition):
    """A table over ``counts`` and a test of it that reads ``counts`` too, like the route window test
    (on mart_route_delays, reading fct_flights): the test's trigger is its own table."""

    @dg.asset(
        key=["marts", "gate_summary"], deps=[counts, *other_inputs], automation_condition=REFRESH_ON_UPSTREAM_UPDATE
    )
    def gate_summary() -> None:
        return None

    @dg.asset_check(asset=gate_summary, additional_deps=[counts], automation_condition=run_with_model(gate_summary.key))
    def summary_covers_counts() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    return gate_summary, summary_covers_counts


def test_a_table_built_while_a_load_wrote_its_input_is_built_again_with_what_is_downstream(tmp_path):
    """On the lake a load and a build overlap: the build began, a load wrote its input, the build
    ended (so Dagster counts the update as handled). The next tick must build the table again, and
    the tables downstream of it in the same run, with their tests: the tick where the build's own
    update arrives is also their "handled" (seen as a build of fct_flights alone whose route window
    test then failed against the published route profile, in the fault-recovery test on the lake)."""
    build_began, load_done = threading.Event(), threading.Event()
    blocking = {"on": False}

    @dg.asset(key=["raw", "gates"])
    def gates() -> None:
        return None

    @dg.asset(key=["staging", "stg_gates"], deps=[gates], tags={MATERIALIZED_TAG: "view"})
    def stg_gates() -> None:
        return None

    @dg.asset(key=["marts", "gate_counts"], deps=[stg_gates], automation_condition=REFRESH_ON_UPSTREAM_UPDATE)
    def gate_counts() -> None:
        if blocking["on"]:  # the build has read its input; a load now writes it before the build ends
            build_began.set()
            assert load_done.wait(120)

    gate_summary, summary_covers_counts = summary_with_its_test(gate_counts)
    tables = [gate_counts, gate_summary]
    defs = dg.Definitions(assets=[gates, stg_gates, *tables], asset_checks=[summary_covers_counts])
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        assert dg.materialize([gates, stg_gates, *tables], instance=instance).success
        automation = Automation(defs, instance)
        automation.tick()  # the baseline
        assert automation.tick() == set()
        blocking["on"] = True
        built = []  # the overlapping build's outcome: it must succeed, or the tick below proves nothing
        build = threading.Thread(target=lambda: built.append(dg.materialize(tables, instance=instance).success))
        build.start()
        assert build_began.wait(120)
        assert dg.materialize([gates], instance=instance, selection=[gates.key]).success
        load_done.set()
        build.join(timeout=120)
        assert built == [True]
        assert automation.tick() == {"marts/gate_counts", "marts/gate_summary"}, "the days the load brought are built"
        assert automation.last_checks == {"summary_covers_counts"}
        blocking["on"] = False
        assert dg.materialize(tables, instance=instance).success
        assert automation.tick() == set(), "once built after the load, nothing more"


def test_a_test_of_a_table_runs_with_its_table_not_with_the_other_model_it_reads(tmp_path):
    @dg.asset(key=["raw", "gates"])
    def gates() -> None:
        return None

    @dg.asset(key=["raw", "doors"])
    def doors() -> None:
        return None

    @dg.asset(key=["marts", "gate_counts"], deps=[gates], automation_condition=REFRESH_ON_UPSTREAM_UPDATE)
    def gate_counts() -> None:
        return None

    gate_summary, summary_covers_counts = summary_with_its_test(gate_counts, doors)
    defs = dg.Definitions(assets=[gates, doors, gate_counts, gate_summary], asset_checks=[summary_covers_counts])
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        assert dg.materialize([gates], instance=instance).success
        automation = Automation(defs, instance)
        automation.tick()  # the baseline
        assert dg.materialize([gates], instance=instance).success
        # The summary waits for its other input; the test of the summary waits with it.
        assert automation.tick() == {"marts/gate_counts"}
        assert automation.last_checks == set()
        assert dg.materialize([gates, doors, gate_counts], instance=instance).success
        assert automation.tick() == {"marts/gate_summary"}
        assert automation.last_checks == {"summary_covers_counts"}


def test_a_build_that_failed_after_a_load_is_not_requested_again_until_new_data(tmp_path):
    """A failed build waits for new data, as Dagster's own "since last handled" makes it: the
    catch-up for a load that overlapped a build looks at the table's last run, not at its last
    success, or every tick would start the failing build again (and alert on each)."""
    failing = {"on": False}

    @dg.asset(key=["raw", "gates"])
    def gates() -> None:
        return None

    @dg.asset(key=["marts", "gate_counts"], deps=[gates], automation_condition=REFRESH_ON_UPSTREAM_UPDATE)
    def gate_counts() -> None:
        if failing["on"]:
            raise ValueError("a build that fails")

    defs = dg.Definitions(assets=[gates, gate_counts])
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        assert dg.materialize([gates, gate_counts], instance=instance).success
        automation = Automation(defs, instance)
        automation.tick()  # the baseline
        assert dg.materialize([gates], instance=instance).success
        assert automation.tick() == {"marts/gate_counts"}
        failing["on"] = True
        assert not dg.materialize([gate_counts], instance=instance, raise_on_error=False).success
        assert automation.tick() == set(), "the failed build is not started again"
        assert automation.tick() == set()
        assert dg.materialize([gates], instance=instance).success
        assert automation.tick() == {"marts/gate_counts"}, "new data is built"
