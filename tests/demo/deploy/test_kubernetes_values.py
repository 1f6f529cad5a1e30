"""The Kubernetes deployment (deploy/kubernetes/) describes the same instance as deploy/dagster.prod.yaml.

Helm cannot run here; what can drift silently is checked: the queue, pool, retry and monitoring
rules the chart renders must be the ones the PostgreSQL test proves on one machine, and every pod
that touches data must see the same volume, node and settings.
"""

import tomllib
from pathlib import Path

import yaml

from config.settings import (
    LAKE_PASSWORD_VARIABLE,
    PROD_LAKE_PASSWORD_VARIABLE,
    S3_SECRET_VARIABLE,
    Settings,
)

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_the_chart_values_render_the_production_instance_rules():
    instance, values = load(DEPLOY / "dagster.prod.yaml"), load(DEPLOY / "kubernetes" / "values.yaml")
    daemon = values["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]
    assert coordinator["type"] == instance["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert (
        coordinator["config"]["queuedRunCoordinator"]["dequeueIntervalSeconds"]
        == instance["run_coordinator"]["config"]["dequeue_interval_seconds"]
    )
    assert values["concurrency"]["pools"] == {
        "defaultLimit": instance["concurrency"]["pools"]["default_limit"],
        "granularity": instance["concurrency"]["pools"]["granularity"],
    }
    assert values["concurrency"]["pools"]["defaultLimit"] == 1, "one DuckDB writer at a time"
    assert values["concurrency"]["runs"]["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    assert daemon["runRetries"] == {
        "enabled": instance["run_retries"]["enabled"],
        "maxRetries": instance["run_retries"]["max_retries"],
        "retryOnAssetOrOpFailure": instance["run_retries"]["retry_on_asset_or_op_failure"],
    }
    assert daemon["runMonitoring"]["enabled"] is instance["run_monitoring"]["enabled"] is True
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["telemetry"]["enabled"] is instance["telemetry"]["enabled"] is False


def test_every_pod_that_touches_data_shares_one_volume_node_and_settings():
    values = load(DEPLOY / "kubernetes" / "values.yaml")
    [code] = values["dagster-user-deployments"]["deployments"]
    assert code["dagsterApiGrpcArgs"][:2] == ["--module-name", "definitions"]  # as workspace.yaml loads it
    resources = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "project-resources.yaml").read_text()))
    config_map = next(r for r in resources if r["kind"] == "ConfigMap")
    claim = next(r for r in resources if r["kind"] == "PersistentVolumeClaim")
    assert config_map["data"]["DATAOPS_ENV"] == "prod"
    assert {"name": config_map["metadata"]["name"]} in code["envConfigMaps"]
    assert {"name": "DAGSTER_EVENT_BATCH_SIZE", "value": "1000"} in code["env"], "a ranged load's events batched"
    [volume] = code["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"], "DuckDB's lock needs a local filesystem"
    [mount] = code["volumeMounts"]
    assert mount["mountPath"] == config_map["data"]["DATAOPS_DATA_DIR"]
    assert code["nodeSelector"], "ReadWriteOnce: every pod mounting the data must be on one node"


def test_the_image_installs_the_locked_environment_with_the_run_launcher():
    dockerfile = (DEPLOY / "kubernetes" / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev --extra k8s" in dockerfile
    assert "ensure_manifest()" in dockerfile, "the dbt manifest is built into the image"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = dict(requirement.split("==") for requirement in project["dependencies"] if "==" in requirement)
    [k8s] = project["optional-dependencies"]["k8s"]
    # Dagster's integrations are released together: dagster-k8s pinned with dagster-postgres.
    assert k8s == f"dagster-k8s=={pins['dagster-postgres']}"
    assert f'name = "dagster-k8s"\nversion = "{pins["dagster-postgres"]}"' in (ROOT / "uv.lock").read_text()


def test_on_the_lake_no_pod_is_pinned_and_secrets_come_from_a_secret():
    overrides = load(DEPLOY / "kubernetes" / "values-ducklake.yaml")
    [code] = overrides["dagster-user-deployments"]["deployments"]
    assert "nodeSelector" not in code, "any node runs any run"
    resources = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "project-resources-ducklake.yaml").read_text()))
    config_map = next(r for r in resources if r["kind"] == "ConfigMap")
    settings = config_map["data"]
    assert settings["DATAOPS_BACKEND"] == "ducklake" and settings["DATAOPS_LAKE_DATA_PATH"].startswith("s3://")
    # Every setting is one the project reads; no secret sits in the ConfigMap.
    fields = {f"DATAOPS_{name.upper()}" for name in Settings.model_fields}
    assert set(settings) <= fields
    assert not {LAKE_PASSWORD_VARIABLE, S3_SECRET_VARIABLE, PROD_LAKE_PASSWORD_VARIABLE} & set(settings)
    assert {"name": config_map["metadata"]["name"]} in code["envConfigMaps"]
    assert {"name": "DAGSTER_EVENT_BATCH_SIZE", "value": "1000"} in code["env"], "a ranged load's events batched"
    assert code["envSecrets"], "the catalog's password and the object store's key come from a Secret"
    # The only volume holds plain files (landing, archive), never the warehouse: many nodes mount it.
    claim = next(r for r in resources if r["kind"] == "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert "DATAOPS_WAREHOUSE_PATH" not in settings


def test_the_chart_keeps_ticks_as_long_as_the_production_instance_does():
    instance, values = load(DEPLOY / "dagster.prod.yaml"), load(DEPLOY / "kubernetes" / "values.yaml")
    retention = values["retention"]
    assert retention["enabled"] is True
    assert retention["sensor"]["purgeAfterDays"] == instance["retention"]["sensor"]["purge_after_days"]
    assert retention["schedule"]["purgeAfterDays"] == instance["retention"]["schedule"]["purge_after_days"]
    assert instance["retention"]["sensor"]["purge_after_days"]["skipped"] == 1, "a day of the landing sensor's skips"


def test_the_metrics_exporter_runs_beside_the_webserver_with_the_landing_zone():
    values = load(DEPLOY / "kubernetes" / "values.yaml")
    webserver = values["dagsterWebserver"]
    [exporter] = webserver["extraContainers"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert exporter["command"][0] in project["scripts"], "the project's own command"
    graphql = exporter["command"][exporter["command"].index("--graphql-url") + 1]
    assert graphql == "http://127.0.0.1:80/graphql", "the webserver in the same pod (the chart's port 80)"
    port = int(exporter["command"][exporter["command"].index("--port") + 1])
    assert exporter["ports"] == [{"name": "metrics", "containerPort": port}]
    assert webserver["annotations"]["prometheus.io/port"] == str(port)
    [mount] = exporter["volumeMounts"]
    [volume] = webserver["volumes"]
    assert mount["name"] == volume["name"] and mount["readOnly"] is True and mount["mountPath"] == "/data"
    [code] = values["dagster-user-deployments"]["deployments"]
    assert volume["persistentVolumeClaim"] == code["volumes"][0]["persistentVolumeClaim"], "the code server's data"
    assert webserver["nodeSelector"] == code["nodeSelector"], "ReadWriteOnce: on the data node"
    # On the lake: the same container, the files volume, no pinning.
    lake = load(DEPLOY / "kubernetes" / "values-ducklake.yaml")
    [lake_volume] = lake["dagsterWebserver"]["volumes"]
    [lake_code] = lake["dagster-user-deployments"]["deployments"]
    assert lake_volume["name"] == volume["name"]
    assert lake_volume["persistentVolumeClaim"] == lake_code["volumes"][0]["persistentVolumeClaim"]
    assert lake["dagsterWebserver"]["nodeSelector"] is None
    monitor = load(DEPLOY / "kubernetes" / "podmonitor.yaml")
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == exporter["ports"][0]["name"]
