"""The names the pipeline's work is recorded under in Dagster: one home for who writes and who reads.

The assets write under these names (assets/layers.py, assets/ingestion_report.py,
assets/automation.py); the metrics exporter and the lineage sensor read them back
(observability/). The exporter is a small process that reads the instance through GraphQL and
never imports Dagster, Polars or Pandera (tests/observability/test_exporter.py), so this module is
plain data: it imports nothing but other plain data.
"""

from __future__ import annotations

from collections.abc import Sequence

from warehouse.layout import RAW

# The jobs whose runs load the raw layer: the sensors, the automation conditions and the benchmarks
# tell load runs apart by them.
# Loads only: a range of days (a burst, a backfill) or a UI launch; automation refreshes what is
# downstream once every load has ended, as one dbt build.
INGEST_JOB = "ingest"
# Loads one landed day (or reference files) and refreshes everything downstream in the same run:
# the landing sensor's run for a single day, so the day reaches the marts without a second run.
LAND_AND_REFRESH_JOB = "land_and_refresh"
LOAD_JOBS = (INGEST_JOB, LAND_AND_REFRESH_JOB)

# The checks of a raw asset (assets/ingestion_report.py).
VALIDATION_CHECK = "pandera_validation"
SCHEMA_DRIFT_CHECK = "schema_drift"
DRIFT_CHANGES = "changes"  # schema_drift's metadata: each distinct change, without the files' names
VOLUME_CHECK = "volume_anomaly"
# The validation check's counts of its load (one evaluation per load run and dataset): what the
# metrics exporter adds up per dataset (observability/metrics.py).
ROWS_READ = "rows_checked"
ROWS_LOADED = "rows_loaded"
ROWS_QUARANTINED = "rows_quarantined"

# Statuses of a run that has not ended: it may still write what it targets. These are the values
# of Dagster's DagsterRunStatus, which its GraphQL API uses as they are.
UNFINISHED_RUN_STATUS_NAMES = ("QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "CANCELING")


def raw_asset_path(dataset: str) -> tuple[str, str]:
    """The key of a dataset's raw asset, as its parts (assets/layers.py makes it an ``AssetKey``)."""
    return (RAW, dataset)


def asset_key_string(path: Sequence[str]) -> str:
    """An asset key as Dagster's UI and GraphQL API write it (``AssetKey.to_user_string()``): raw/orders."""
    return "/".join(path)
