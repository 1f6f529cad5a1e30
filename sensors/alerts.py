"""Alerting sensors: a failed run, a failed ERROR-severity check, and a change of a feed's schema.

The first two are both needed: a failed asset check does not fail its run unless it is blocking, so
a run failure sensor alone would not hear about bad data that a non-blocking ERROR check caught.
Schema drift is a WARN (the rows load, without a new column), said once per dataset and change.
"""

import json
from datetime import UTC, datetime

import dagster as dg

from config.names import DRIFT_CHANGES, SCHEMA_DRIFT_CHECK
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
    """The job, and the datasets of a load (its ``datasets`` tag), e.g. ``ingest (orders)``."""
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


# Runs read per tick: a burst of loads is caught up over a few ticks, never all at once.
DRIFT_RUNS_PER_TICK = 100


@dg.sensor(
    name="schema_drift_alerts",
    description="Alerts once per dataset and change when a landed file's columns differ from its contract "
    "(a new column is not loaded until the contract declares it).",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=ALERT_INTERVAL_SECONDS,
)
def schema_drift_alerts(context: dg.SensorEvaluationContext, alerts: AlertsResource) -> dg.SkipReason:
    """Reads the schema_drift checks of the runs finished since its last tick. Its cursor holds where
    it is and each dataset's changes already said, so a new column that arrives every day alerts once."""
    cursor = json.loads(context.cursor) if context.cursor else {"after": datetime.now(UTC).timestamp(), "said": {}}
    said: dict[str, list[str]] = cursor["said"]
    records = context.instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE],
            updated_after=datetime.fromtimestamp(cursor["after"], UTC),
        ),
        limit=DRIFT_RUNS_PER_TICK,
        order_by="update_timestamp",
        ascending=True,
    )
    sent = 0
    for record in records:
        events = context.instance.get_records_for_run(
            record.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        for event in events:
            evaluation = event.event_log_entry.dagster_event.event_specific_data
            if evaluation.check_name != SCHEMA_DRIFT_CHECK or evaluation.passed:
                continue
            asset = evaluation.asset_key.to_user_string()
            dataset = evaluation.asset_key.path[-1]
            changes = evaluation.metadata.get(DRIFT_CHANGES)
            new = [change for change in (changes.value if changes else []) if change not in said.get(asset, [])]
            if not new:
                continue
            alerts.send(
                Alert(
                    kind="schema_drift",
                    title=f"schema drift on {asset}: {len(new)} change(s) from its contract",
                    details="\n".join(new)
                    + "\nRows still load where they can (a new column is left out, kept in the archived file). To "
                    f"take the change: python3 tasks.py profile {dataset} NEW_FILES --update proposes it and "
                    "--write applies it (docs/datasets.md#change-a-dataset).",
                    run_id=record.dagster_run.run_id,
                    asset=asset,
                    check=SCHEMA_DRIFT_CHECK,
                )
            )
            said[asset] = sorted({*said.get(asset, []), *new})
            sent += 1
        cursor["after"] = max(cursor["after"], record.update_timestamp.timestamp())
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    return dg.SkipReason(f"{sent} schema drift alert(s) from {len(records)} finished run(s)")
