"""The pipeline's Prometheus metrics: what they are, and how the instance's state becomes them.

Two kinds of figures, read two ways, both through public APIs (observability/dagster_state.py):

- Counts of work done (runs, their durations, rows read, loaded and quarantined, check results)
  come from finished runs. A ledger reads each finished run once, in the background, and keeps
  the totals: a scrape costs nothing more as the history grows, and a restart reads the history
  the instance still keeps (run retention bounds it) once. They are counters; one that drops after
  runs were deleted is a reset to Prometheus, which ``rate()`` and ``increase()`` handle.
- The present state (runs queued and running, pools, freshness, checks' latest results, sensors,
  the landing zone) is read at each scrape: it is bounded by the number of assets, sensors and
  runs in flight, not by the history.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from config.datasets import DatasetConfig
from config.names import ROWS_LOADED, ROWS_QUARANTINED, ROWS_READ, VALIDATION_CHECK, asset_key_string, raw_asset_path
from observability import dagster_state
from observability.dagster_state import FinishedRun
from observability.graphql import DagsterGraphQL, DagsterUnavailableError
from observability.landing_backlog import landing_backlog

logger = logging.getLogger(__name__)

# Every metric, by the name Prometheus stores it under (a counter's with its _total), with its help
# text: the dashboards and alert rules in deploy/ may only use these (tests/observability/).
RUNS = "dataops_runs_total"
RUNS_IN_FLIGHT = "dataops_runs_in_flight"
RUN_DURATION = "dataops_run_duration_seconds"
ROWS_READ_TOTAL = "dataops_rows_read_total"
ROWS_LOADED_TOTAL = "dataops_rows_loaded_total"
ROWS_QUARANTINED_TOTAL = "dataops_rows_quarantined_total"
CHECK_EVALUATIONS = "dataops_check_evaluations_total"
CHECK_FAILING = "dataops_check_failing"
FRESHNESS_LAG = "dataops_asset_freshness_lag_seconds"
FRESHNESS_FAIL_WINDOW = "dataops_asset_freshness_fail_window_seconds"
FRESHNESS_WARN_WINDOW = "dataops_asset_freshness_warn_window_seconds"
FRESHNESS_STATUS = "dataops_asset_freshness_status"
LANDING_FILES = "dataops_landing_files_waiting"
LANDING_OLDEST = "dataops_landing_oldest_file_age_seconds"
SENSOR_RUNNING = "dataops_sensor_running"
SENSOR_LAG = "dataops_sensor_seconds_since_last_ok_tick"
POOL_SLOTS = "dataops_pool_slots"
POOL_QUEUED = "dataops_pool_queued_runs"
POOL_ACTIVE = "dataops_pool_active_runs"
POOL_OLDEST_QUEUED = "dataops_pool_oldest_queued_run_age_seconds"
DAGSTER_UP = "dataops_dagster_up"
RUNS_SEEN = "dataops_exporter_finished_runs_read"

HELP = {
    RUNS: "Finished runs by job and final status (SUCCESS, FAILURE, CANCELED)",
    RUNS_IN_FLIGHT: "Runs not finished yet, by job and status (QUEUED, STARTING, STARTED, ...)",
    RUN_DURATION: "Run duration from start to end, by job",
    ROWS_READ_TOTAL: "Records read from landed files by load runs, by dataset",
    ROWS_LOADED_TOTAL: "Rows loaded into the raw tables, by dataset",
    ROWS_QUARANTINED_TOTAL: "Rows put in quarantine with the reason, by dataset",
    CHECK_EVALUATIONS: "Asset check evaluations by asset, check, severity and outcome (passed, failed)",
    CHECK_FAILING: "1 when the check's evaluation on the asset's latest materialisation failed",
    FRESHNESS_LAG: "Seconds since the asset's last successful materialisation",
    FRESHNESS_FAIL_WINDOW: "The asset's freshness policy: late after this many seconds",
    FRESHNESS_WARN_WINDOW: "The asset's freshness policy: warned after this many seconds",
    FRESHNESS_STATUS: "Dagster's own freshness evaluation: 1 for the asset's current status",
    LANDING_FILES: "Files in the landing zone waiting to be loaded, by dataset",
    LANDING_OLDEST: "Age of the oldest file waiting in the landing zone, by dataset (0 when none)",
    SENSOR_RUNNING: "1 when the sensor is running",
    SENSOR_LAG: "Seconds since the sensor's last tick that did not fail",
    POOL_SLOTS: "Slots of the concurrency pool (writers allowed at once)",
    POOL_QUEUED: "Runs waiting in the queue that need the pool",
    POOL_ACTIVE: "Runs starting or running that hold the pool",
    POOL_OLDEST_QUEUED: "How long the oldest run waiting for the pool has waited, in seconds",
    DAGSTER_UP: "1 when the exporter could read Dagster's GraphQL API at this scrape",
    RUNS_SEEN: "Finished runs the exporter has read (its counters include exactly these)",
}

# Each rows counter, and the validation check's metadata it adds up (config/names.py).
ROW_COUNTS = {ROWS_READ_TOTAL: ROWS_READ, ROWS_LOADED_TOTAL: ROWS_LOADED, ROWS_QUARANTINED_TOTAL: ROWS_QUARANTINED}
# Dagster's job, as a label: not `job`, which Prometheus gives every series (the scrape job's name).
JOB_LABEL = "dagster_job"
# Seconds: from a one-day load (a few seconds) to the run monitor's 6-hour ceiling (dagster.*.yaml).
DURATION_BUCKETS = (1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600)
# A run's update time can be committed a little after a later run's: read back this far.
WATERMARK_MARGIN_SECONDS = 60
IN_FLIGHT_HOLDING_POOL = ("STARTING", "STARTED", "CANCELING")


def _family_name(metric: str) -> str:
    """prometheus_client names a counter family without _total and adds it to the samples."""
    return metric.removesuffix("_total")


@dataclass
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))
    count: int = 0
    total: float = 0.0

    def observe(self, value: float) -> None:
        for index, bound in enumerate(DURATION_BUCKETS):
            if value <= bound:
                self.buckets[index] += 1
        self.count += 1
        self.total += value


class RunLedger:
    """Totals over finished runs, each read once: runs, durations, rows, check results."""

    def __init__(self, raw_datasets: Mapping[str, str]):
        self.raw_datasets = raw_datasets  # raw asset key (raw/orders) -> dataset name
        self.lock = threading.Lock()
        self.watermark: float | None = None
        self.seen: set[str] = set()
        self.runs: Counter[tuple[str, str]] = Counter()
        self.durations: dict[str, _Histogram] = defaultdict(_Histogram)
        self.rows: Counter[tuple[str, str]] = Counter()  # (metric, dataset)
        self.checks: Counter[tuple[str, str, str, str]] = Counter()  # (asset, check, severity, outcome)

    def catch_up(self, client: DagsterGraphQL) -> int:
        """Read the runs that finished since the last time; how many were new."""
        since = None if self.watermark is None else self.watermark - WATERMARK_MARGIN_SECONDS
        newest, read = self.watermark, 0
        for run in dagster_state.finished_runs(client, since):
            newest = max(newest or run.updated, run.updated)
            if run.run_id in self.seen:
                continue
            evaluations = dagster_state.run_check_evaluations(client, run.run_id)
            with self.lock:
                self._add(run, evaluations)
            read += 1
        self.watermark = newest  # only after the whole window was read: a failure reads it again
        return read

    def _add(self, run: FinishedRun, evaluations: list[dagster_state.CheckEvaluation]) -> None:
        self.seen.add(run.run_id)
        self.runs[(run.job, run.status)] += 1
        if run.duration is not None:
            self.durations[run.job].observe(run.duration)
        for evaluation in evaluations:
            outcome = "passed" if evaluation.passed else "failed"
            self.checks[(evaluation.asset, evaluation.check, evaluation.severity, outcome)] += 1
            dataset = self.raw_datasets.get(evaluation.asset)
            if dataset is not None and evaluation.check == VALIDATION_CHECK:
                for metric, key in ROW_COUNTS.items():
                    self.rows[(metric, dataset)] += int(evaluation.numbers.get(key, 0))

    def families(self, datasets: Iterator[str] | list[str]) -> Iterator[Metric]:
        with self.lock:
            runs = CounterMetricFamily(_family_name(RUNS), HELP[RUNS], labels=[JOB_LABEL, "status"])
            for (job, status), count in sorted(self.runs.items()):
                runs.add_metric([job, status], count)
            yield runs
            durations = HistogramMetricFamily(RUN_DURATION, HELP[RUN_DURATION], labels=[JOB_LABEL])
            for job, histogram in sorted(self.durations.items()):
                buckets = [
                    (str(bound), count) for bound, count in zip(DURATION_BUCKETS, histogram.buckets, strict=True)
                ]
                durations.add_metric([job], [*buckets, ("+Inf", histogram.count)], sum_value=histogram.total)
            yield durations
            for metric in ROW_COUNTS:
                family = CounterMetricFamily(_family_name(metric), HELP[metric], labels=["dataset"])
                for dataset in datasets:  # every dataset, 0 until its first load: no gap in the series
                    family.add_metric([dataset], self.rows[(metric, dataset)])
                yield family
            checks = CounterMetricFamily(
                _family_name(CHECK_EVALUATIONS),
                HELP[CHECK_EVALUATIONS],
                labels=["asset", "check", "severity", "outcome"],
            )
            for labels, count in sorted(self.checks.items()):
                checks.add_metric(list(labels), count)
            yield checks
            yield GaugeMetricFamily(RUNS_SEEN, HELP[RUNS_SEEN], value=len(self.seen))


class PipelineCollector(Collector):
    """Collects every metric at scrape time; the ledger's totals are kept up to date beside it."""

    def __init__(
        self,
        client: DagsterGraphQL,
        datasets: Mapping[str, DatasetConfig],
        landing_root: Path,
        clock: Callable[[], float] = time.time,
    ):
        self.client, self.datasets, self.landing_root, self.clock = client, datasets, landing_root, clock
        self.ledger = RunLedger({asset_key_string(raw_asset_path(name)): name for name in datasets})

    def describe(self) -> Iterator[Metric]:
        return iter(())  # nothing at registration: Dagster may not be up yet

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        yield from self.ledger.families(list(self.datasets))
        yield from self._landing(now)
        try:
            live = list(self._live(now))
        except DagsterUnavailableError as error:
            logger.warning("metrics: %s", error)
            yield GaugeMetricFamily(DAGSTER_UP, HELP[DAGSTER_UP], value=0)
            return
        yield GaugeMetricFamily(DAGSTER_UP, HELP[DAGSTER_UP], value=1)
        yield from live

    def _landing(self, now: float) -> Iterator[Metric]:
        files = GaugeMetricFamily(LANDING_FILES, HELP[LANDING_FILES], labels=["dataset"])
        oldest = GaugeMetricFamily(LANDING_OLDEST, HELP[LANDING_OLDEST], labels=["dataset"])
        for backlog in landing_backlog(self.landing_root, self.datasets, now):
            files.add_metric([backlog.dataset], backlog.files)
            oldest.add_metric([backlog.dataset], backlog.oldest_age)
        yield from (files, oldest)

    def _live(self, now: float) -> Iterator[Metric]:
        yield from self._in_flight(now)
        yield from self._assets(now)
        yield from self._sensors(now)

    def _in_flight(self, now: float) -> Iterator[Metric]:
        unfinished = dagster_state.unfinished_runs(self.client)
        in_flight = GaugeMetricFamily(RUNS_IN_FLIGHT, HELP[RUNS_IN_FLIGHT], labels=[JOB_LABEL, "status"])
        for (job, status), count in sorted(Counter((run.job, run.status) for run in unfinished).items()):
            in_flight.add_metric([job, status], count)
        yield in_flight
        slots = dagster_state.pool_limits(self.client)
        families = {
            name: GaugeMetricFamily(name, HELP[name], labels=["pool"])
            for name in (POOL_SLOTS, POOL_QUEUED, POOL_ACTIVE, POOL_OLDEST_QUEUED)
        }
        for pool, limit in sorted(slots.items()):
            holding = [run for run in unfinished if pool in run.pools]
            queued = [run for run in holding if run.status == "QUEUED"]
            families[POOL_SLOTS].add_metric([pool], limit)
            families[POOL_QUEUED].add_metric([pool], len(queued))
            families[POOL_ACTIVE].add_metric([pool], sum(run.status in IN_FLIGHT_HOLDING_POOL for run in holding))
            families[POOL_OLDEST_QUEUED].add_metric([pool], max((now - run.created for run in queued), default=0.0))
        yield from families.values()

    def _assets(self, now: float) -> Iterator[Metric]:
        lag = GaugeMetricFamily(FRESHNESS_LAG, HELP[FRESHNESS_LAG], labels=["asset"])
        fail = GaugeMetricFamily(FRESHNESS_FAIL_WINDOW, HELP[FRESHNESS_FAIL_WINDOW], labels=["asset"])
        warn = GaugeMetricFamily(FRESHNESS_WARN_WINDOW, HELP[FRESHNESS_WARN_WINDOW], labels=["asset"])
        status = GaugeMetricFamily(FRESHNESS_STATUS, HELP[FRESHNESS_STATUS], labels=["asset", "status"])
        failing = GaugeMetricFamily(CHECK_FAILING, HELP[CHECK_FAILING], labels=["asset", "check", "severity"])
        for asset in sorted(dagster_state.assets(self.client), key=lambda state: state.asset):
            if asset.last_materialized is not None:
                lag.add_metric([asset.asset], max(0.0, now - asset.last_materialized))
            if asset.fail_window is not None:
                fail.add_metric([asset.asset], asset.fail_window)
                status.add_metric([asset.asset, asset.dagster_freshness or "UNKNOWN"], 1)
            if asset.warn_window is not None:
                warn.add_metric([asset.asset], asset.warn_window)
            for check in asset.latest_checks:
                if (labelled := check_failing(check)) is not None:  # else never evaluated: no series yet
                    severity, failed = labelled
                    failing.add_metric([asset.asset, check.check, severity], int(failed))
        yield from (lag, fail, warn, status, failing)

    def _sensors(self, now: float) -> Iterator[Metric]:
        running = GaugeMetricFamily(SENSOR_RUNNING, HELP[SENSOR_RUNNING], labels=["sensor"])
        lag = GaugeMetricFamily(SENSOR_LAG, HELP[SENSOR_LAG], labels=["sensor"])
        for sensor in sorted(dagster_state.sensors(self.client), key=lambda state: state.sensor):
            running.add_metric([sensor.sensor], int(sensor.running))
            if sensor.last_ok_tick is not None:
                lag.add_metric([sensor.sensor], max(0.0, now - sensor.last_ok_tick))
        yield from (running, lag)


def check_failing(check: dagster_state.LatestCheck) -> tuple[str, bool] | None:
    """The severity label and whether a check's latest execution failed; None if it never ran.

    Every failure counts, whatever its kind: an execution that failed has no evaluation, so no
    severity of its own. It could not even run, which is as failing as a check gets: ERROR, so
    DataopsCheckFailing fires for it.
    """
    failed = check.status in ("FAILED", "EXECUTION_FAILED")
    severity = check.severity or ("ERROR" if failed else None)
    return None if severity is None else (severity, failed)
