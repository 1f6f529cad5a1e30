"""The operations schedules: on by default, each running its one operation with a valid run config."""

from datetime import UTC, datetime

import dagster as dg

from config.settings import Settings
from definitions import build_definitions

SCHEDULED = {
    "warehouse_backup_job": ("0 2 * * *", "operations/warehouse_backup"),
    "lifecycle_cleanup_job": ("0 3 * * 0", "operations/lifecycle_cleanup"),
    "performance_report_job": ("0 6 * * *", "operations/pipeline_performance_report"),
}


def test_each_schedule_runs_its_operation_with_a_valid_config(tmp_path, dbt_manifest):
    settings = Settings(env="test", data_dir=tmp_path / "data")
    defs = build_definitions(settings)
    settings.warehouse.parent.mkdir(parents=True)
    settings.warehouse.touch()  # the backup schedule skips while there is no warehouse
    schedules = {schedule.job_name: schedule for schedule in defs.schedules}
    assert schedules.keys() == SCHEDULED.keys()
    for job_name, (cron, asset) in SCHEDULED.items():
        schedule = schedules[job_name]
        assert (schedule.cron_schedule, schedule.execution_timezone) == (cron, "UTC")
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
        job = defs.resolve_job_def(job_name)
        # One op, which reports the operation's (external) asset.
        assert [node.name for node in job.nodes] == [asset.split("/")[1]]
        context = dg.build_schedule_context(
            scheduled_execution_time=datetime(2026, 11, 22, tzinfo=UTC), resources=defs.resources
        )
        [request] = schedule.evaluate_tick(context).run_requests
        assert dg.validate_run_config(job, request.run_config)


def test_the_scheduled_clean_up_deletes_and_a_manual_one_is_a_dry_run(tmp_path, dbt_manifest):
    defs = build_definitions(Settings(env="test", data_dir=tmp_path / "data"))
    job = defs.resolve_job_def("lifecycle_cleanup_job")
    [schedule] = [s for s in defs.schedules if s.job_name == "lifecycle_cleanup_job"]
    [request] = schedule.evaluate_tick(dg.build_schedule_context()).run_requests
    scheduled = dg.validate_run_config(job, request.run_config)
    manual = dg.validate_run_config(job, {})
    assert scheduled["ops"]["lifecycle_cleanup"]["config"]["dry_run"] is False
    assert manual["ops"]["lifecycle_cleanup"]["config"]["dry_run"] is True


def test_the_backup_skips_a_night_with_no_warehouse_yet(tmp_path, dbt_manifest):
    defs = build_definitions(Settings(env="test", data_dir=tmp_path / "data"))
    [schedule] = [s for s in defs.schedules if s.job_name == "warehouse_backup_job"]
    result = schedule.evaluate_tick(dg.build_schedule_context(resources=defs.resources))
    assert not result.run_requests
    assert "nothing to back up" in result.skip_message
