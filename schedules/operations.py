"""When the day-2 operations run: nightly backup, weekly clean-up, a daily performance report.

On by default in every environment, like the sensors: a fresh production instance is protected
from its first night. Times are UTC; each job runs one operation (assets/operations.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from assets.operations import BACKUP_JOB, CLEANUP_JOB, REPORT_JOB
from resources.warehouse import WarehouseResource

# Every operations schedule: UTC, and on from the start.
ON_FROM_THE_START = {"execution_timezone": "UTC", "default_status": dg.DefaultScheduleStatus.RUNNING}


def _backup_schedule(job: dg.JobDefinition) -> dg.ScheduleDefinition:
    # After midnight's deliveries have usually settled.
    @dg.schedule(job=job, cron_schedule="0 2 * * *", **ON_FROM_THE_START)
    def warehouse_backup_job_schedule(
        context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource
    ) -> dg.RunRequest | dg.SkipReason:
        # A new instance has no warehouse until the first file lands: skip the night, don't fail it.
        if not warehouse.exists():
            return dg.SkipReason(f"no warehouse at {warehouse.location} yet: nothing to back up")
        return dg.RunRequest()

    return warehouse_backup_job_schedule


def build_operations_schedules(jobs: Sequence[dg.JobDefinition]) -> list[dg.ScheduleDefinition]:
    by_name = {job.name: job for job in jobs}
    return [
        _backup_schedule(by_name[BACKUP_JOB]),
        # The scheduled pass deletes for real; a pass launched by hand is a dry run unless told otherwise.
        dg.ScheduleDefinition(
            job=by_name[CLEANUP_JOB],
            cron_schedule="0 3 * * 0",
            run_config={"ops": {"lifecycle_cleanup": {"config": {"dry_run": False}}}},
            **ON_FROM_THE_START,
        ),
        dg.ScheduleDefinition(job=by_name[REPORT_JOB], cron_schedule="0 6 * * *", **ON_FROM_THE_START),
    ]
