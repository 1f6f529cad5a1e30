"""Alerting sensors: a failed run, and a failed ERROR-severity check.

Both are needed: a failed asset check does not fail its run unless it is blocking, so a run
failure sensor alone would not hear about bad data that a non-blocking ERROR check caught.
"""

import dagster as dg

from observability.alerts import Alert
from resources.alerts import AlertsResource

ALERT_INTERVAL_SECONDS = 10


def _why(event: dg.DagsterEvent) -> str:
    """The reason a step failed: the Failure's description, else the exception's message."""
    data = event.step_failure_data
    if data.user_failure_data and data.user_failure_data.description:
        return f"{event.step_key}: {data.user_failure_data.description}"
    return f"{event.step_key}: {data.error.message.strip() if data.error else event.message}"


def _failed_error_checks(instance: dg.DagsterInstance, run_id: str) -> list[Alert]:
    """An alert for each check of the run that failed with ERROR severity."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    found = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        asset = evaluation.asset_key.to_user_string()
        found.append(
            Alert(
                kind="check_failure",
                title=f"check {evaluation.check_name} failed on {asset}",
                details=(evaluation.description or "")[:4000],
                run_id=run_id,
                asset=asset,
                check=evaluation.check_name,
            )
        )
    return found


def _job_label(run: dg.DagsterRun) -> str:
    """The job, and the datasets of a load (its ``datasets`` tag), e.g. ``ingest (flights)``."""
    datasets = run.tags.get("datasets")
    return f"{run.job_name} ({datasets})" if datasets else run.job_name


# Checks are read per finished run, not by scanning the event log: Dagster's default SQLite event
# storage is sharded by run, and refuses a global cursor. Run-status sensors keep their own place.
@dg.run_failure_sensor(
    name="run_failure_alerts",
    description="Alerts on every failed run, with each step's reason, and on the ERROR checks that failed in it.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=ALERT_INTERVAL_SECONDS,
)
def run_failure_alerts(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> None:
    run = context.dagster_run
    error = context.failure_event.message or "no message"
    step_failures = [_why(event) for event in context.get_step_failure_events()]
    alerts.send(
        Alert(
            kind="run_failure",
            title=f"run of {_job_label(run)} failed",
            details="\n".join([error, *step_failures])[:4000],
            run_id=run.run_id,
        )
    )
    for alert in _failed_error_checks(context.instance, run.run_id):
        alerts.send(alert)


@dg.run_status_sensor(
    name="check_failure_alerts",
    run_status=dg.DagsterRunStatus.SUCCESS,
    description="Alerts on ERROR checks that failed in a run that still succeeded (a non-blocking check).",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=ALERT_INTERVAL_SECONDS,
)
def check_failure_alerts(context: dg.RunStatusSensorContext, alerts: AlertsResource) -> None:
    for alert in _failed_error_checks(context.instance, context.dagster_run.run_id):
        alerts.send(alert)
