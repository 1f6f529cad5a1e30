"""Run retention on a real instance: old finished runs go, each job's and asset's latest stay."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from operations.lifecycle import CleanupPlan, apply_cleanup, old_dagster_runs
from resources.operations import OperationsResource
from resources.warehouse import WarehouseResource


@dg.asset
def gates() -> int:
    return 1


@dg.asset
def gate_counts() -> int:
    return 2


COUNTS_JOB = dg.define_asset_job("gate_counts_job", selection=[gate_counts])


def test_old_runs_are_deleted_but_each_job_s_and_asset_s_latest_stay(tmp_path, settings):
    home = tmp_path / "dagster_home"
    home.mkdir()
    defs = dg.Definitions(assets=[gates, gate_counts], jobs=[COUNTS_JOB])
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        gates_runs = [dg.materialize([gates], instance=instance).run_id for _ in range(3)]
        count_runs = [
            defs.resolve_job_def("gate_counts_job").execute_in_process(instance=instance).run_id for _ in range(2)
        ]
        # The latest run of the ephemeral job materialises gate_counts: it stays for both reasons.
        last = dg.materialize([gates, gate_counts], instance=instance).run_id
        policy = OperationsResource.from_settings(settings).lifecycle_policy()

        now = datetime.now(UTC)
        within = CleanupPlan()
        old_dagster_runs(policy, instance, now, within)
        assert within.removals == [], "nothing is older than the retention yet"

        later = now + timedelta(days=policy.run_retention_days + 1)
        plan = CleanupPlan()
        old_dagster_runs(policy, instance, later, plan)
        removed = {removal.target for removal in plan.of_kind("dagster run")}
        assert removed == {*gates_runs, count_runs[0]}
        assert any(
            f"run {count_runs[1]} (gate_counts_job): the latest run of gate_counts_job" in kept for kept in plan.kept
        )
        assert any(f"run {last} (__ephemeral_asset_job__)" in kept for kept in plan.kept)

        apply_cleanup(plan, policy, WarehouseResource.for_settings(settings), later, instance)
        left = {record.dagster_run.run_id for record in instance.get_run_records()}
        assert left == {count_runs[1], last}
        assert instance.get_run_by_id(gates_runs[0]) is None
        # The assets' history as the UI and freshness read it is intact.
        assert instance.get_latest_materialization_event(gates.key).run_id == last
        assert instance.get_latest_materialization_event(gate_counts.key).run_id == last
