"""The code location: everything Dagster loads, built from settings and the dataset config.

Data flows one way: settings -> dataset config -> one factory -> assets, checks and sensors ->
this Definitions object. The same code serves dev, test and prod; only settings differ.
"""

from __future__ import annotations

import json

import dagster as dg

from assets.analytics import build_analytics_assets
from assets.day_coverage import build_day_coverage_checks
from assets.dbt_assets import build_dbt_assets
from assets.ingestion_factory import build_ingestion_assets
from assets.operations import OPERATIONS_SPECS, build_operations_jobs
from assets.readers_copy import build_readers_copy_asset, read_by_readers
from config.datasets import load_datasets
from config.settings import Settings, get_settings
from jobs.landing import build_ingest_job, build_land_and_refresh_job, refresh_targets
from resources.alerts import AlertsResource
from resources.dbt import dbt_project, dbt_resource
from resources.dbt_state import DbtStateResource
from resources.landing import LandingZoneResource
from resources.lineage import LineageResource
from resources.operations import OperationsResource
from resources.warehouse import WarehouseResource
from schedules.operations import build_operations_schedules
from sensors.alerts import check_failure_alerts, run_failure_alerts, schema_drift_alerts
from sensors.automation import automation_sensor
from sensors.freshness import build_freshness_sensor
from sensors.landing import build_landing_sensor
from sensors.lineage import build_lineage_sensor
from sensors.run_watchdog import run_worker_watchdog
from warehouse.environment import PROD


def build_definitions(settings: Settings) -> dg.Definitions:
    datasets = load_datasets(settings.datasets_path)
    warehouse = WarehouseResource.for_settings(settings)
    pools = warehouse.pools()
    project = dbt_project(settings.dbt_project_dir)
    manifest = json.loads(project.manifest_path.read_text())
    # A project's dbt models, once it has any (a new project starts with none).
    has_models = any(node["resource_type"] == "model" for node in manifest["nodes"].values())
    data_assets = [
        *build_ingestion_assets(datasets, pools.load),
        *([build_dbt_assets(project, pools.transform, datasets)] if has_models else []),
        *build_analytics_assets(pools.transform, settings.analytics_package),
    ]
    if warehouse.readers_need_a_copy:
        data_assets.append(build_readers_copy_asset(read_by_readers(data_assets), pools.transform))
    checks = build_day_coverage_checks(manifest, pools.transform)
    # Checks defined on their own, beside the assets they check: they run in the same runs.
    refresh = refresh_targets([*data_assets, *checks], datasets)
    landing_jobs = [build_ingest_job(datasets), build_land_and_refresh_job(datasets, refresh)]
    operations_jobs = build_operations_jobs(data_assets, pools.maintenance)
    return dg.Definitions(
        assets=[*data_assets, *checks, *OPERATIONS_SPECS],
        jobs=[*landing_jobs, *operations_jobs],
        schedules=build_operations_schedules(operations_jobs),
        # Steps run in the run's own process. The default multiprocess executor starts one more
        # Python per step, paying the imports and definition loading (seconds) a second time;
        # parallelism comes from several runs (resources/pools.py), not from steps within one.
        executor=dg.in_process_executor,
        sensors=[
            build_landing_sensor(datasets, landing_jobs, refresh),
            automation_sensor,
            run_failure_alerts,
            check_failure_alerts,
            schema_drift_alerts,
            run_worker_watchdog,
            build_freshness_sensor(datasets, data_assets),
            build_lineage_sensor(data_assets),
        ],
        resources={
            "warehouse": warehouse,
            "landing_zone": LandingZoneResource.for_settings(settings),
            "dbt": dbt_resource(settings),
            "dbt_state": DbtStateResource(state_dir=str(settings.dbt_state), publish=settings.env == PROD),
            "operations": OperationsResource.from_settings(settings),
            "alerts": AlertsResource(
                alerts_file=str(settings.alerts),
                webhook_url=settings.alert_webhook_url,
                webhook_format=settings.alert_webhook_format,
            ),
            "lineage": LineageResource.for_settings(settings, dataset_namespace=warehouse.lineage_namespace),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    # Settings are read here, when Dagster loads the code location, never at import time.
    return build_definitions(get_settings())
