"""The instance's state as the metrics need it, read through the webserver's GraphQL API (public).

Each function is one question with one query, and returns plain records: the exporter turns them
into metrics (observability/metrics.py), tests compare them with what the instance recorded.
What is read follows the work, not the history: finished runs since a watermark, each new run's
check results once, the assets' and sensors' latest state, the runs still queued or running.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from config.names import UNFINISHED_RUN_STATUS_NAMES, asset_key_string
from observability.graphql import DagsterGraphQL, unwrap

FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
UNFINISHED = UNFINISHED_RUN_STATUS_NAMES
RUN_PAGE = 200
EVENT_PAGE = 1000


@dataclass(frozen=True)
class FinishedRun:
    run_id: str
    job: str
    status: str
    started: float | None  # epoch seconds; None for a run that never started (canceled in the queue)
    ended: float | None
    updated: float

    @property
    def duration(self) -> float | None:
        return self.ended - self.started if self.started is not None and self.ended is not None else None


@dataclass(frozen=True)
class UnfinishedRun:
    run_id: str
    job: str
    status: str
    created: float
    pools: tuple[str, ...]


@dataclass(frozen=True)
class CheckEvaluation:
    asset: str  # the asset key as the UI writes it: raw/orders
    check: str
    severity: str  # WARN | ERROR
    passed: bool
    numbers: dict[str, float]  # the evaluation's numeric metadata (rows_loaded, rows_quarantined, ...)


@dataclass(frozen=True)
class AssetState:
    asset: str
    last_materialized: float | None  # epoch seconds
    fail_window: float | None  # the freshness policy's windows, in seconds; None without a policy
    warn_window: float | None
    dagster_freshness: str | None  # Dagster's own evaluation: HEALTHY, WARNING, DEGRADED, UNKNOWN
    latest_checks: tuple[LatestCheck, ...]


@dataclass(frozen=True)
class LatestCheck:
    check: str
    status: str  # of the check's execution on the latest materialisation: SUCCEEDED, FAILED, ...
    severity: str | None  # None until it has been evaluated


@dataclass(frozen=True)
class SensorState:
    sensor: str
    running: bool
    last_ok_tick: float | None  # the last tick that did not fail (a skip is a good tick)
    last_failed_tick: float | None


_RUN_FIELDS = "runId jobName status creationTime startTime endTime updateTime allPools"

FINISHED_RUNS = f"""
query FinishedRuns($filter: RunsFilter, $cursor: String, $limit: Int) {{
  runsOrError(filter: $filter, cursor: $cursor, limit: $limit) {{
    __typename
    ... on Runs {{ results {{ {_RUN_FIELDS} }} }}
    ... on PythonError {{ message }}
  }}
}}"""

RUN_CHECKS = """
query RunChecks($runId: ID!, $cursor: String, $limit: Int) {
  logsForRun(runId: $runId, afterCursor: $cursor, limit: $limit) {
    __typename
    ... on EventConnection {
      cursor hasMore
      events {
        __typename
        ... on AssetCheckEvaluationEvent {
          evaluation {
            assetKey { path } checkName severity success
            metadataEntries {
              label
              ... on IntMetadataEntry { intRepr }
              ... on FloatMetadataEntry { floatValue }
            }
          }
        }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}"""

ASSETS = """
query Assets {
  assetNodes {
    assetKey { path }
    internalFreshnessPolicy {
      __typename
      ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds }
    }
    freshnessStatusInfo { freshnessStatus }
    assetChecksOrError {
      __typename
      ... on AssetChecks {
        checks { name executionForLatestMaterialization { status evaluation { severity } } }
      }
    }
  }
  assetsOrError {
    __typename
    ... on AssetConnection { nodes { key { path } latestMaterializationTimestamp } }
    ... on PythonError { message }
  }
}"""

SENSORS = """
query Sensors {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        locationOrLoadError {
          __typename
          ... on RepositoryLocation {
            repositories {
              sensors {
                name
                sensorState {
                  status
                  ok: ticks(limit: 1, statuses: [SUCCESS, SKIPPED]) { timestamp }
                  failed: ticks(limit: 1, statuses: [FAILURE]) { timestamp }
                }
              }
            }
          }
        }
      }
    }
    ... on PythonError { message }
  }
}"""

POOL_LIMITS = """
query PoolLimits { instance { concurrencyLimits { concurrencyKey limit slotCount } } }
"""


def _finished(row: dict) -> FinishedRun:
    return FinishedRun(row["runId"], row["jobName"], row["status"], row["startTime"], row["endTime"], row["updateTime"])


def finished_runs(client: DagsterGraphQL, updated_after: float | None) -> Iterator[FinishedRun]:
    """Runs that finished (or changed after finishing) since ``updated_after``; all of them when None."""
    run_filter: dict = {"statuses": list(FINISHED)}
    if updated_after is not None:
        run_filter["updatedAfter"] = updated_after
    cursor = None
    while True:
        page = client.query(FINISHED_RUNS, {"filter": run_filter, "cursor": cursor, "limit": RUN_PAGE})
        results = unwrap(page["runsOrError"], "Runs")["results"]
        yield from (_finished(row) for row in results)
        if len(results) < RUN_PAGE:
            return
        cursor = results[-1]["runId"]  # newest first: the next page is older than this run


def unfinished_runs(client: DagsterGraphQL) -> list[UnfinishedRun]:
    """Runs queued, starting or running: bounded by the queue, whatever the history."""
    page = client.query(FINISHED_RUNS, {"filter": {"statuses": list(UNFINISHED)}, "cursor": None, "limit": None})
    return [
        UnfinishedRun(row["runId"], row["jobName"], row["status"], row["creationTime"], tuple(row["allPools"] or ()))
        for row in unwrap(page["runsOrError"], "Runs")["results"]
    ]


def _number(entry: dict) -> float | None:
    if "intRepr" in entry:
        return float(entry["intRepr"])
    if entry.get("floatValue") is not None:
        return float(entry["floatValue"])
    return None


def run_check_evaluations(client: DagsterGraphQL, run_id: str) -> list[CheckEvaluation]:
    """Every check evaluated in the run, with its numeric metadata."""
    found, cursor = [], None
    while True:
        page = client.query(RUN_CHECKS, {"runId": run_id, "cursor": cursor, "limit": EVENT_PAGE})
        connection = unwrap(page["logsForRun"], "EventConnection")
        for event in connection["events"]:
            if event["__typename"] != "AssetCheckEvaluationEvent":
                continue
            evaluation = event["evaluation"]
            numbers = {entry["label"]: _number(entry) for entry in evaluation["metadataEntries"]}
            found.append(
                CheckEvaluation(
                    asset=asset_key_string(evaluation["assetKey"]["path"]),
                    check=evaluation["checkName"],
                    severity=evaluation["severity"],
                    passed=evaluation["success"],
                    numbers={label: value for label, value in numbers.items() if value is not None},
                )
            )
        if not connection["hasMore"]:
            return found
        cursor = connection["cursor"]


def assets(client: DagsterGraphQL) -> list[AssetState]:
    """Every asset with its last materialisation, freshness policy and latest check results."""
    answer = client.query(ASSETS)
    latest = {
        asset_key_string(node["key"]["path"]): node["latestMaterializationTimestamp"]
        for node in unwrap(answer["assetsOrError"], "AssetConnection")["nodes"]
    }
    states = []
    for node in answer["assetNodes"]:
        asset = asset_key_string(node["assetKey"]["path"])
        policy = node["internalFreshnessPolicy"] or {}
        timestamp_ms = latest.get(asset)
        checks = node["assetChecksOrError"].get("checks", [])
        states.append(
            AssetState(
                asset=asset,
                last_materialized=timestamp_ms / 1000 if timestamp_ms else None,  # GraphQL gives milliseconds here
                fail_window=policy.get("failWindowSeconds"),
                warn_window=policy.get("warnWindowSeconds"),
                dagster_freshness=(node["freshnessStatusInfo"] or {}).get("freshnessStatus"),
                latest_checks=tuple(
                    LatestCheck(
                        check["name"],
                        (check["executionForLatestMaterialization"] or {}).get("status", "NOT_EVALUATED"),
                        (((check["executionForLatestMaterialization"] or {}).get("evaluation")) or {}).get("severity"),
                    )
                    for check in checks
                ),
            )
        )
    return states


def sensors(client: DagsterGraphQL) -> list[SensorState]:
    """Every sensor of every loaded code location, with its last good and last failed tick."""
    workspace = unwrap(client.query(SENSORS)["workspaceOrError"], "Workspace")
    found = []
    for entry in workspace["locationEntries"]:
        location = entry["locationOrLoadError"] or {}
        for repository in location.get("repositories", []):
            for sensor in repository["sensors"]:
                state = sensor["sensorState"]
                found.append(
                    SensorState(
                        sensor=sensor["name"],
                        running=state["status"] == "RUNNING",
                        last_ok_tick=state["ok"][0]["timestamp"] if state["ok"] else None,
                        last_failed_tick=state["failed"][0]["timestamp"] if state["failed"] else None,
                    )
                )
    return found


def pool_limits(client: DagsterGraphQL) -> dict[str, int]:
    """Each concurrency pool's number of slots, as the instance enforces it."""
    limits = client.query(POOL_LIMITS)["instance"]["concurrencyLimits"]
    return {
        pool["concurrencyKey"]: pool["limit"] if pool["limit"] is not None else pool["slotCount"] for pool in limits
    }
