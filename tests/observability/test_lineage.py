"""OpenLineage events from real Dagster runs: valid against the specification, linked as the asset graph.

Small real runs of a three-asset graph (raw -> staging -> mart, checks on each) on a real
instance; the lineage sensor sends their events through its real transports, a file and HTTP.
The demo's chain, from its raw tables to its analytics, is checked end to end under `dagster dev`
(tests/demo/test_dagster_dev.py).
"""

import json

import dagster as dg
import pytest
from openlineage.client.serde import Serde

from observability.lineage import LineageNames, RunTranslator, asset_lineage
from resources.lineage import LineageResource
from sensors.lineage import RUN_EVENTS, LineageDeliveryError, build_lineage_sensor, step_event
from tests.support.json_lines import read_json_lines
from tests.support.openlineage_schema import problems

RAW = dg.AssetKey(["raw", "gates"])
STAGING = dg.AssetKey(["staging", "stg_gates"])
MART = dg.AssetKey(["marts", "gate_counts"])


def build_graph(mart_fails: bool = False) -> list[dg.AssetsDefinition]:
    columns = dg.TableSchema(columns=[dg.TableColumn("gate", "VARCHAR", description="Gate code")])

    @dg.asset(
        key=RAW,
        description="Landed gate events.",
        metadata={"dagster/column_schema": columns},
        check_specs=[dg.AssetCheckSpec("pandera_validation", asset=RAW)],
    )
    def raw_gates():
        yield dg.MaterializeResult(
            metadata={"dagster/row_count": 3},
            check_results=[
                dg.AssetCheckResult(
                    check_name="pandera_validation",
                    passed=False,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"rows_loaded": 2, "rows_quarantined": 1},
                )
            ],
        )

    @dg.asset(key=STAGING, deps=[RAW])
    def stg_gates():
        return dg.MaterializeResult(metadata={"dagster/row_count": 2})

    @dg.asset(key=MART, deps=[STAGING])
    def gate_counts():
        if mart_fails:
            raise dg.Failure(description="gate_counts: the staging view has no gate column")
        return dg.MaterializeResult(metadata={"dagster/row_count": 1})

    return [raw_gates, stg_gates, gate_counts]


def filled(items: list[dict]) -> list[dict]:
    """The items without the empty defaults the client writes (params: {}, fields: [])."""
    return [{key: value for key, value in item.items() if value not in ({}, [])} for item in items]


NAMES = LineageNames(jobs="pipeline-test", datasets="duckdb:///tmp/test.duckdb")


def translate(instance: dg.DagsterInstance, run_id: str, graph) -> list[dict]:
    translator = RunTranslator(asset_lineage(graph), NAMES, run_id, instance.get_run_by_id(run_id).job_name)
    records = instance.get_records_for_run(run_id, of_type=RUN_EVENTS).records
    events = [out for record in records if (event := step_event(record)) for out in translator.feed(event)]
    assert translator.finished
    return [json.loads(Serde.to_json(event)) for event in events]


def test_a_run_is_a_parent_job_with_one_linked_job_per_asset_and_valid_events():
    graph = build_graph()
    with dg.instance_for_test() as instance:
        result = dg.materialize(graph, instance=instance)
        events = translate(instance, result.run_id, graph)
    assert [problem for event in events for problem in problems(event)] == []
    by_job = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], []).append(event)
    assert {job: [e["eventType"] for e in found] for job, found in by_job.items()} == {
        "__ephemeral_asset_job__": ["START", "COMPLETE"],
        "raw/gates": ["START", "COMPLETE"],
        "staging/stg_gates": ["START", "COMPLETE"],
        "marts/gate_counts": ["START", "COMPLETE"],
    }
    raw_done, staging_done, mart_done = (
        by_job[job][1] for job in ("raw/gates", "staging/stg_gates", "marts/gate_counts")
    )
    # Linked by dataset: what one writes, the next reads, under the warehouse's namespace.
    assert [d["name"] for d in raw_done["outputs"]] == ["raw.gates"]
    assert [d["name"] for d in staging_done["inputs"]] == ["raw.gates"]
    assert [d["name"] for d in mart_done["inputs"]] == ["staging.stg_gates"]
    assert {d["namespace"] for e in events for d in e.get("inputs", []) + e.get("outputs", [])} == {NAMES.datasets}
    # The facets: the rows the load wrote (its own count), the schema, the check, the parent run.
    [raw_output] = raw_done["outputs"]
    assert raw_output["outputFacets"]["outputStatistics"]["rowCount"] == 2
    fields = raw_output["facets"]["schema"]["fields"]
    assert [(field["name"], field["type"], field["description"]) for field in fields] == [
        ("gate", "VARCHAR", "Gate code")
    ]
    assert filled(raw_done["run"]["facets"]["test"]["tests"]) == [
        {"name": "pandera_validation", "status": "fail", "severity": "warn"}
    ]
    [raw_input] = staging_done["inputs"]
    assert filled(raw_input["inputFacets"]["dataQualityAssertions"]["assertions"]) == [
        {"assertion": "pandera_validation", "success": False, "severity": "warn"}
    ]
    parent = staging_done["run"]["facets"]["parent"]
    assert (parent["run"]["runId"], parent["job"]["name"]) == (result.run_id, "__ephemeral_asset_job__")
    assert by_job["__ephemeral_asset_job__"][0]["run"]["runId"] == result.run_id


def test_a_failed_step_is_a_failed_run_of_its_asset_with_the_reason():
    graph = build_graph(mart_fails=True)
    with dg.instance_for_test() as instance:
        result = dg.materialize(graph, instance=instance, raise_on_error=False)
        events = translate(instance, result.run_id, graph)
    assert [problem for event in events for problem in problems(event)] == []
    last = {event["job"]["name"]: event for event in events}
    assert last["marts/gate_counts"]["eventType"] == "FAIL"
    message = last["marts/gate_counts"]["run"]["facets"]["errorMessage"]["message"]
    assert message == "gate_counts: the staging view has no gate column"
    assert last["__ephemeral_asset_job__"]["eventType"] == "FAIL"
    assert last["raw/gates"]["eventType"] == "COMPLETE"


def test_the_validator_catches_what_breaks_the_specification():
    graph = build_graph()
    with dg.instance_for_test() as instance:
        result = dg.materialize(graph, instance=instance)
        [event, *_] = translate(instance, result.run_id, graph)
    broken = {**event, "eventType": "DONE", "run": {**event["run"], "runId": "not-a-uuid"}}
    found = problems(broken)
    assert any("'DONE' is not one of" in problem for problem in found)
    assert any("'not-a-uuid' is not a 'uuid'" in problem for problem in found)


@pytest.fixture
def lineage_sensor_run(tmp_path):
    graph = build_graph()
    sensor = build_lineage_sensor(graph)
    (tmp_path / "home").mkdir()  # a real SQLite instance, as `dagster dev` uses: sharded by run
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:

        def tick(resource: LineageResource, cursor: str | None) -> str | None:
            context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"lineage": resource})
            sensor(context)
            return context.cursor

        yield graph, instance, tick


def test_the_sensor_sends_each_event_once_to_the_file(lineage_sensor_run, tmp_path):
    graph, instance, tick = lineage_sensor_run
    resource = LineageResource(job_namespace="ns", dataset_namespace="duckdb:///w", file=str(tmp_path / "ol.jsonl"))
    cursor = tick(resource, None)  # the watch starts: history before it is not sent
    dg.materialize(graph, instance=instance)
    cursor = tick(resource, cursor)
    cursor = tick(resource, cursor)  # nothing new: nothing sent again
    lines = read_json_lines(tmp_path / "ol.jsonl")
    assert len(lines) == 8, "a START and a COMPLETE for the run and for each of its three assets"
    assert [problem for event in lines for problem in problems(event)] == []
    assert json.loads(cursor)["open"] == {}, "a finished run is no longer followed"


def test_the_sensor_sends_to_a_lineage_server_over_http(lineage_sensor_run, webhook_server, tmp_path):
    graph, instance, tick = lineage_sensor_run
    url, received = webhook_server
    resource = LineageResource(
        job_namespace="ns",
        dataset_namespace="duckdb:///w",
        file=str(tmp_path / "unused.jsonl"),
        url=url.rsplit("/", 1)[0],
    )
    cursor = tick(resource, None)
    dg.materialize(graph, instance=instance)
    tick(resource, cursor)
    assert sorted((event["job"]["name"], event["eventType"]) for event in received) == sorted(
        (job, state)
        for job in ("__ephemeral_asset_job__", "raw/gates", "staging/stg_gates", "marts/gate_counts")
        for state in ("START", "COMPLETE")
    )
    assert not (tmp_path / "unused.jsonl").exists()


def test_a_lineage_server_that_is_down_fails_the_tick_and_keeps_the_events(lineage_sensor_run, tmp_path):
    graph, instance, tick = lineage_sensor_run
    down = LineageResource(
        job_namespace="ns", dataset_namespace="duckdb:///w", file="unused", url="http://127.0.0.1:9", http_retries=0
    )
    cursor = tick(down, None)
    dg.materialize(graph, instance=instance)
    with pytest.raises(LineageDeliveryError, match=r"could not send run .* to http://127.0.0.1:9/api/v1/lineage"):
        tick(down, cursor)
    up = LineageResource(job_namespace="ns", dataset_namespace="duckdb:///w", file=str(tmp_path / "ol.jsonl"))
    tick(up, cursor)  # the same cursor: the failed tick moved nothing
    assert len((tmp_path / "ol.jsonl").read_text().splitlines()) == 8
