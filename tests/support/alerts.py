"""The run-status alert sensors driven by a finished run, as the daemon would call them."""

import dagster as dg

from resources.alerts import AlertsResource


def run_status_context(
    instance: dg.DagsterInstance, run_id: str, alerts: AlertsResource, status: dg.DagsterEventType
) -> dg.RunStatusSensorContext:
    """The context a run-status sensor gets for run ``run_id``'s ``status`` event."""
    [record] = instance.get_records_for_run(run_id, of_type=status).records
    return dg.build_run_status_sensor_context(
        sensor_name="alerts",
        dagster_event=record.event_log_entry.dagster_event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
        resources={"alerts": alerts},
    )


def failure_context(instance: dg.DagsterInstance, run_id: str, alerts: AlertsResource) -> dg.RunFailureSensorContext:
    return run_status_context(instance, run_id, alerts, dg.DagsterEventType.RUN_FAILURE).for_run_failure()
