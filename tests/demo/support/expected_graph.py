"""The asset graph the README describes, layer by layer: what the tests expect the definitions to hold."""

from assets.layers import raw_asset_key
from config.datasets import load_datasets
from config.settings import Settings

DATASETS = load_datasets(Settings().datasets_path)
RAW = {raw_asset_key(name).to_user_string() for name in DATASETS}
DAILY = {raw_asset_key(dataset.name).to_user_string() for dataset in DATASETS.values() if dataset.kind == "daily"}
STAGING = {f"staging/stg_{name}" for name in DATASETS}  # a staging view per dataset
MARTS = {
    "marts/fct_flights",
    "marts/mart_carrier_daily_performance",
    "marts/mart_origin_daily_performance",
    "marts/mart_route_delays",
    "marts/mart_weather_daily_impact",
}
ANALYTICS = {"analytics/carrier_scorecard", "analytics/weather_delay_impact"}
READERS = {"readers/warehouse_copy"}  # the file backend's copy for readers
OPERATIONS = {"operations/warehouse_backup", "operations/lifecycle_cleanup", "operations/pipeline_performance_report"}
