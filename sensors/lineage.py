"""Sends every run's OpenLineage events (START, COMPLETE, FAIL) as the run goes (observability/lineage.py).

Each tick reads only what is new: the runs whose status changed since the last tick, and the new
events of the runs still open, from where the last tick stopped. The cursor keeps each open run's
place and its translation state (a few assets and checks), so the cost follows the runs in
flight, not the history. Events are sent before the cursor moves: if the lineage server is down,
the tick fails, names it, and the next one sends the tick's events again (at least once; their run
ids are derived, so a resend names the same runs).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from observability.lineage import RunTranslator, StepEvent, asset_lineage
from resources.lineage import LineageResource

LINEAGE_INTERVAL_SECONDS = 10
# Look back this far for status changes: a run's update can be committed after a later one's.
WATERMARK_MARGIN_SECONDS = 60
RUN_EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    dg.DagsterEventType.RUN_START,
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
}


class LineageDeliveryError(RuntimeError):
    """The lineage file or server did not take the events."""


def _numbers(metadata: dict) -> dict[str, float]:
    found = {}
    for label, value in metadata.items():
        raw = getattr(value, "value", value)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            found[label] = float(raw)
    return found


def step_event(record: dg.EventLogRecord) -> StepEvent | None:
    """The parts of a Dagster event record the translation reads."""
    event = record.event_log_entry.dagster_event
    if event is None:
        return None
    kind, at, step = event.event_type_value, record.timestamp, event.step_key
    if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
        return StepEvent(kind, at, step, asset=event.asset_key.to_user_string() if event.asset_key else None)
    if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
        materialization = event.step_materialization_data.materialization
        return StepEvent(
            kind, at, step, asset=materialization.asset_key.to_user_string(), numbers=_numbers(materialization.metadata)
        )
    if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
        evaluation = event.event_specific_data
        return StepEvent(
            kind,
            at,
            step,
            asset=evaluation.asset_key.to_user_string(),
            check=evaluation.check_name,
            passed=evaluation.passed,
            severity=evaluation.severity.value,
            numbers=_numbers(evaluation.metadata),
        )
    if event.event_type == dg.DagsterEventType.STEP_FAILURE:
        data = event.step_failure_data
        described = data.user_failure_data.description if data.user_failure_data else None
        return StepEvent(kind, at, step, message=described or (data.error.message.strip() if data.error else None))
    if event.event_type == dg.DagsterEventType.RUN_FAILURE:
        return StepEvent(kind, at, message=event.message)
    return StepEvent(kind, at, step)


def build_lineage_sensor(data_assets: Sequence[dg.AssetsDefinition]) -> dg.SensorDefinition:
    graph = asset_lineage(data_assets)

    @dg.sensor(
        name="openlineage_events",
        description="Sends each run's OpenLineage events (a job per asset, datasets as the asset keys) to the "
        "lineage file or server of the settings.",
        minimum_interval_seconds=LINEAGE_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def openlineage_events(context: dg.SensorEvaluationContext, lineage: LineageResource) -> dg.SkipReason:
        instance = context.instance
        cursor = json.loads(context.cursor) if context.cursor else {}
        # The first tick starts from now: a deployment's history is not replayed to a new server.
        since = cursor.get("since", datetime.now(UTC).timestamp())
        open_runs: dict[str, dict] = cursor.get("open", {})
        changed = instance.get_run_records(
            filters=dg.RunsFilter(updated_after=datetime.fromtimestamp(since - WATERMARK_MARGIN_SECONDS, UTC))
        )
        newest = max([since, *(record.update_timestamp.timestamp() for record in changed)])
        done = set(cursor.get("done", []))
        for record in changed:
            if record.dagster_run.run_id not in open_runs and record.dagster_run.run_id not in done:
                open_runs[record.dagster_run.run_id] = {"job": record.dagster_run.job_name}
        sent = 0
        for run_id, place in list(open_runs.items()):
            translator = RunTranslator(graph, lineage.names, run_id, place["job"], place.get("state"))
            connection = instance.get_records_for_run(run_id, cursor=place.get("cursor"), of_type=RUN_EVENTS)
            if not connection.records and instance.get_run_record_by_id(run_id) is None:
                del open_runs[run_id]  # deleted meanwhile (run retention): nothing more will come
                continue
            events = [out for record in connection.records if (ev := step_event(record)) for out in translator.feed(ev)]
            try:
                sent += lineage.emit(events)
            except Exception as error:  # the transport's own errors (HTTP, file): the tick fails, saying so
                raise LineageDeliveryError(
                    f"could not send run {run_id}'s OpenLineage events to {lineage.destination}: {error}; "
                    "the next tick sends them again"
                ) from error
            if translator.finished:
                del open_runs[run_id]
                done.add(run_id)
            else:
                open_runs[run_id] = {"job": place["job"], "cursor": connection.cursor, "state": translator.state}
        # A finished run is remembered only while it can come back in the look-back window.
        recent = {record.dagster_run.run_id for record in changed}
        context.update_cursor(json.dumps({"since": newest, "open": open_runs, "done": sorted(done & recent)}))
        return dg.SkipReason(f"sent {sent} OpenLineage event(s) to {lineage.destination}; {len(open_runs)} run(s) open")

    return openlineage_events
