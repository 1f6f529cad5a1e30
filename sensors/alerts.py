"""Alerting sensors: a failed run, and a failed ERROR-severity check.

Both are needed: a failed asset check does not fail its run (a WARN never should), so a run
failure sensor alone never hears about bad data that an ERROR check caught.
"""

import dagster as dg

from resources.alerts import Alert, AlertsResource

ALERT_INTERVAL_SECONDS = 10
MAX_EVENTS_PER_TICK = 200


def _why(event: dg.DagsterEvent) -> str:
    """The reason a step failed: the Failure's description, else the exception's message."""
    data = event.step_failure_data
    if data.user_failure_data and data.user_failure_data.description:
        return f"{event.step_key}: {data.user_failure_data.description}"
    return f"{event.step_key}: {data.error.message.strip() if data.error else event.message}"


@dg.run_failure_sensor(
    name="run_failure_alerts",
    description="Sends an alert for every failed run, with the error.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=ALERT_INTERVAL_SECONDS,
    monitor_all_code_locations=True,
)
def run_failure_alerts(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> None:
    run = context.dagster_run
    error = context.failure_event.message or "no message"
    step_failures = [_why(event) for event in context.get_step_failure_events()]
    alerts.send(
        Alert(
            kind="run_failure",
            title=f"run of {run.job_name} failed",
            details="\n".join([error, *step_failures])[:4000],
            run_id=run.run_id,
        )
    )


@dg.sensor(
    name="check_failure_alerts",
    description="Sends an alert for every asset check that fails with ERROR severity.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=ALERT_INTERVAL_SECONDS,
)
def check_failure_alerts(context: dg.SensorEvaluationContext, alerts: AlertsResource) -> dg.SkipReason | None:
    after = int(context.cursor) if context.cursor else None
    if after is None:
        # First tick: start from now; history before the sensor existed is not news.
        latest = context.instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=1, ascending=False
        )
        context.update_cursor(str(latest[0].storage_id if latest else 0))
        return dg.SkipReason("started watching check evaluations")
    records = context.instance.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=after),
        limit=MAX_EVENTS_PER_TICK,
        ascending=True,
    )
    sent = 0
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            asset = evaluation.asset_key.to_user_string()
            alerts.send(
                Alert(
                    kind="check_failure",
                    title=f"check {evaluation.check_name} failed on {asset}",
                    details=(evaluation.description or "")[:4000],
                    run_id=record.run_id,
                    asset=asset,
                    check=evaluation.check_name,
                )
            )
            sent += 1
        after = record.storage_id
    context.update_cursor(str(after))
    return None if sent else dg.SkipReason(f"{len(records)} check evaluation(s), none failed with ERROR")
