"""Dagster runs as OpenLineage run events: one job per asset, datasets named as the asset keys.

Each Dagster run is an OpenLineage run of a job named after the Dagster job. Each asset the run
materialises is a run of its own, of a job named after the asset key (``marts/fct_orders``), with
the Dagster run as its parent: its inputs are the asset's upstream assets, its output the asset,
each dataset named after its key (``marts.fct_orders``: the schema and table in the warehouse)
in the warehouse's namespace. So a lineage server links raw.orders -> stg_orders -> fct_orders
-> the analytics by dataset, the way the asset graph does.

Facets: the output's schema (the asset's column schema) and documentation, the rows written
(``outputStatistics``), the checks evaluated on it (``test`` on the asset's run), the checks of its
inputs evaluated earlier in the same run (``dataQualityAssertions`` on the input, as the spec puts
them: assertions on what a job read), the error of a failed step or run, and the engine.

The translation is pure: :class:`RunTranslator` takes a run's events in order, possibly over
several sensor ticks (its state is JSON, kept in the sensor's cursor), and returns the events to
send. Identifiers are derived, not random, so sending again after a crash names the same runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState, set_producer
from openlineage.client.facet_v2 import (
    data_quality_assertions_dataset,
    documentation_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    processing_engine_run,
    schema_dataset,
    test_run,
)

from config.names import ROWS_LOADED
from config.project import NAME

# Who wrote the events (a URI, as the spec asks): this project's lineage sensor.
PRODUCER = f"urn:{NAME}:dagster-lineage-sensor"
INTEGRATION = "DAGSTER"
ROW_COUNT = "dagster/row_count"
# Derives an asset's OpenLineage run id from the Dagster run's and the asset key (uuid5).
ASSET_RUN_NAMESPACE = uuid.UUID("8a5c1f0e-3b0c-4a3f-9a43-3f6d2c3e1b7a")
ERROR_TEXT_LIMIT = 4000

set_producer(PRODUCER)  # facets take their _producer from here when they are built


@dataclass(frozen=True)
class AssetLineage:
    """What the asset graph says about one asset: its upstream assets, columns and description."""

    inputs: tuple[str, ...]
    columns: tuple[tuple[str, str | None, str | None], ...]  # (name, type, description)
    description: str | None


def asset_lineage(assets: Sequence[dg.AssetsDefinition]) -> dict[str, AssetLineage]:
    """Every asset of the definitions, by its key as the UI writes it (``raw/orders``)."""
    found = {}
    for assets_def in assets:
        for spec in assets_def.specs:
            schema = spec.metadata.get("dagster/column_schema")
            if isinstance(schema, dg.TableSchemaMetadataValue):
                schema = schema.schema
            columns = tuple(
                (column.name, column.type, column.description)
                for column in (schema.columns if isinstance(schema, dg.TableSchema) else ())
            )
            found[spec.key.to_user_string()] = AssetLineage(
                inputs=tuple(sorted(dep.asset_key.to_user_string() for dep in spec.deps)),
                columns=columns,
                description=spec.description,
            )
    return found


def dataset_name(asset: str) -> str:
    """The dataset an asset writes, named as its key: schema.table in the warehouse."""
    return asset.replace("/", ".")


@dataclass(frozen=True)
class LineageNames:
    jobs: str  # the namespace of the jobs: this deployment (the project's name and env, e.g. <name>-prod)
    datasets: str  # the namespace of the datasets: the warehouse (duckdb:///..., ducklake://...)


@dataclass(frozen=True)
class StepEvent:
    """What the translation needs of one Dagster event (the sensor builds these from event records)."""

    kind: str  # a DagsterEventType value: ASSET_MATERIALIZATION_PLANNED, RUN_START, STEP_START, ...
    timestamp: float
    step: str | None = None
    asset: str | None = None
    check: str | None = None
    passed: bool | None = None
    severity: str | None = None
    numbers: Mapping[str, float] = field(default_factory=dict)
    message: str | None = None


@dataclass
class _OpenStep:
    started: float
    rows: dict[str, int] = field(default_factory=dict)  # asset -> rows written
    checks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # asset -> its checks in the step


class RunTranslator:
    """One Dagster run's events -> OpenLineage events, fed in order; resumable from :attr:`state`."""

    def __init__(
        self,
        graph: Mapping[str, AssetLineage],
        names: LineageNames,
        run_id: str,
        job: str,
        state: Mapping[str, Any] | None = None,
    ):
        self.graph, self.names, self.run_id, self.job = graph, names, run_id, job
        state = state or {}
        self.steps: dict[str, list[str]] = {step: list(assets) for step, assets in state.get("steps", {}).items()}
        self.open: dict[str, _OpenStep] = {
            step: _OpenStep(value["started"], dict(value["rows"]), {a: list(c) for a, c in value["checks"].items()})
            for step, value in state.get("open", {}).items()
        }
        self.assertions: dict[str, list[dict[str, Any]]] = {a: list(c) for a, c in state.get("assertions", {}).items()}
        self.finished: bool = state.get("finished", False)

    @property
    def state(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "open": {
                step: {"started": value.started, "rows": value.rows, "checks": value.checks}
                for step, value in self.open.items()
            },
            "assertions": self.assertions,
            "finished": self.finished,
        }

    def feed(self, event: StepEvent) -> list[RunEvent]:
        handler = getattr(self, f"_on_{event.kind.lower()}", None)
        return handler(event) if handler else []

    # The run itself.

    def _on_asset_materialization_planned(self, event: StepEvent) -> list[RunEvent]:
        if event.step and event.asset:
            planned = self.steps.setdefault(event.step, [])
            if event.asset not in planned:
                planned.append(event.asset)
        return []

    def _on_pipeline_start(self, event: StepEvent) -> list[RunEvent]:
        return [self._run_event(RunState.START, event.timestamp)]

    def _on_pipeline_success(self, event: StepEvent) -> list[RunEvent]:
        self.finished = True
        return [self._run_event(RunState.COMPLETE, event.timestamp)]

    def _on_pipeline_failure(self, event: StepEvent) -> list[RunEvent]:
        self.finished = True
        ended = self._close_open_steps(RunState.FAIL, event)
        return [*ended, self._run_event(RunState.FAIL, event.timestamp, event.message)]

    def _on_pipeline_canceled(self, event: StepEvent) -> list[RunEvent]:
        self.finished = True
        ended = self._close_open_steps(RunState.ABORT, event)
        return [*ended, self._run_event(RunState.ABORT, event.timestamp, event.message)]

    # Steps, and the assets they materialise.

    def _on_step_start(self, event: StepEvent) -> list[RunEvent]:
        assert event.step is not None
        self.open[event.step] = _OpenStep(started=event.timestamp)
        return [self._asset_event(RunState.START, asset, event.timestamp) for asset in self.steps.get(event.step, [])]

    def _on_asset_materialization(self, event: StepEvent) -> list[RunEvent]:
        step = self.open.get(event.step or "")
        if step is not None and event.asset and ROW_COUNT in event.numbers:
            step.rows[event.asset] = int(event.numbers[ROW_COUNT])
        return []

    def _on_asset_check_evaluation(self, event: StepEvent) -> list[RunEvent]:
        assert event.asset is not None and event.check is not None
        result = {"name": event.check, "passed": bool(event.passed), "severity": (event.severity or "").lower()}
        self.assertions.setdefault(event.asset, []).append(result)
        step = self.open.get(event.step or "")
        if step is not None:
            step.checks.setdefault(event.asset, []).append(result)
            if ROWS_LOADED in event.numbers:  # a load's own count of what it wrote, whatever its days
                step.rows[event.asset] = int(event.numbers[ROWS_LOADED])
        return []

    def _on_step_success(self, event: StepEvent) -> list[RunEvent]:
        return self._close_step(event.step, RunState.COMPLETE, event.timestamp)

    def _on_step_failure(self, event: StepEvent) -> list[RunEvent]:
        return self._close_step(event.step, RunState.FAIL, event.timestamp, event.message)

    def _close_step(self, step_key: str | None, state: RunState, at: float, error: str | None = None) -> list[RunEvent]:
        step = self.open.pop(step_key or "", None)
        if step is None:
            return []
        return [
            self._asset_event(state, asset, at, step.rows.get(asset), step.checks.get(asset, []), error)
            for asset in self.steps.get(step_key or "", [])
        ]

    def _close_open_steps(self, state: RunState, event: StepEvent) -> list[RunEvent]:
        reason = event.message or "the run ended before the step did"
        return [ended for step in list(self.open) for ended in self._close_step(step, state, event.timestamp, reason)]

    # Building the events.

    def _run_event(self, state: RunState, at: float, error: str | None = None) -> RunEvent:
        facets: dict[str, Any] = {"processing_engine": _engine()}
        if error:
            facets["errorMessage"] = _error(error)
        return RunEvent(
            eventType=state,
            eventTime=_iso(at),
            run=Run(runId=self.run_id, facets=facets),
            job=Job(namespace=self.names.jobs, name=self.job, facets={"jobType": _job_type("JOB")}),
            producer=PRODUCER,
        )

    def asset_run_id(self, asset: str) -> str:
        return str(uuid.uuid5(ASSET_RUN_NAMESPACE, f"{self.run_id}/{asset}"))

    def _asset_event(
        self,
        state: RunState,
        asset: str,
        at: float,
        rows: int | None = None,
        checks: Sequence[Mapping[str, Any]] = (),
        error: str | None = None,
    ) -> RunEvent:
        lineage = self.graph.get(asset, AssetLineage((), (), None))
        run_facets: dict[str, Any] = {
            "parent": parent_run.ParentRunFacet(
                run=parent_run.Run(runId=self.run_id), job=parent_run.Job(namespace=self.names.jobs, name=self.job)
            ),
            "processing_engine": _engine(),
        }
        if checks:
            run_facets["test"] = test_run.TestRunFacet(
                tests=[
                    test_run.TestExecution(
                        name=check["name"], status="pass" if check["passed"] else "fail", severity=check["severity"]
                    )
                    for check in checks
                ]
            )
        if error:
            run_facets["errorMessage"] = _error(error)
        return RunEvent(
            eventType=state,
            eventTime=_iso(at),
            run=Run(runId=self.asset_run_id(asset), facets=run_facets),
            job=Job(namespace=self.names.jobs, name=asset, facets={"jobType": _job_type("ASSET")}),
            inputs=[self._input(upstream) for upstream in lineage.inputs],
            outputs=[self._output(asset, lineage, rows)],
            producer=PRODUCER,
        )

    def _input(self, asset: str) -> InputDataset:
        checks = self.assertions.get(asset, [])
        facets = {}
        if checks:
            facets["dataQualityAssertions"] = data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                assertions=[
                    data_quality_assertions_dataset.Assertion(
                        assertion=check["name"], success=check["passed"], severity=check["severity"]
                    )
                    for check in checks
                ]
            )
        return InputDataset(namespace=self.names.datasets, name=dataset_name(asset), inputFacets=facets)

    def _output(self, asset: str, lineage: AssetLineage, rows: int | None) -> OutputDataset:
        facets: dict[str, Any] = {}
        if lineage.columns:
            facets["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name=name, type=kind, description=description)
                    for name, kind, description in lineage.columns
                ]
            )
        if lineage.description:
            facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(description=lineage.description)
        output_facets = {}
        if rows is not None:
            output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=rows
            )
        return OutputDataset(
            namespace=self.names.datasets, name=dataset_name(asset), facets=facets, outputFacets=output_facets
        )


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _engine() -> processing_engine_run.ProcessingEngineRunFacet:
    return processing_engine_run.ProcessingEngineRunFacet(version=dg.__version__, name="Dagster")


def _job_type(kind: str) -> job_type_job.JobTypeJobFacet:
    return job_type_job.JobTypeJobFacet(processingType="BATCH", integration=INTEGRATION, jobType=kind)


def _error(message: str) -> error_message_run.ErrorMessageRunFacet:
    return error_message_run.ErrorMessageRunFacet(message=message[:ERROR_TEXT_LIMIT], programmingLanguage="PYTHON")
