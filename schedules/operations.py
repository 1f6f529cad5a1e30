"""When the day-2 operations run: nightly backup, weekly clean-up, a daily performance report.

On by default in every environment, like the sensors: a fresh production instance is protected
from its first night. Times are UTC; each job runs only its asset.
"""

from __future__ import annotations

import dagster as dg

from assets.operations import BACKUP, CLEANUP, REPORT
from resources.warehouse import WarehouseResource

backup_job = dg.define_asset_job("warehouse_backup_job", selection=[BACKUP])
cleanup_job = dg.define_asset_job("lifecycle_cleanup_job", selection=[CLEANUP])
report_job = dg.define_asset_job("performance_report_job", selection=[REPORT])


# Every operations schedule: UTC, and on from the start.
ON_FROM_THE_START = {"execution_timezone": "UTC", "default_status": dg.DefaultScheduleStatus.RUNNING}


def _on_schedule(job: dg.UnresolvedAssetJobDefinition, cron: str, **kwargs: object) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(job=job, cron_schedule=cron, **ON_FROM_THE_START, **kwargs)


# After midnight's deliveries have usually settled.
@dg.schedule(job=backup_job, cron_schedule="0 2 * * *", **ON_FROM_THE_START)
def warehouse_backup_job_schedule(
    context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource
) -> dg.RunRequest | dg.SkipReason:
    # A new instance has no warehouse until the first file lands: skip the night, don't fail it.
    if not warehouse.file.exists():
        return dg.SkipReason(f"no warehouse at {warehouse.path} yet: nothing to back up")
    return dg.RunRequest()


OPERATIONS_JOBS = [backup_job, cleanup_job, report_job]
OPERATIONS_SCHEDULES = [
    warehouse_backup_job_schedule,
    # The scheduled pass deletes for real; a pass launched by hand is a dry run unless told otherwise.
    _on_schedule(
        cleanup_job, "0 3 * * 0", run_config={"ops": {"operations__lifecycle_cleanup": {"config": {"dry_run": False}}}}
    ),
    _on_schedule(report_job, "0 6 * * *"),
]
