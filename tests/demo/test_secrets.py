"""No secret in anything the project writes or prints, faults included.

One lake whose files are on an S3-compatible store, every secret recognisable: the catalog role's
password, the object store's secret key, the alert webhook's token (in its path, as Slack's is) and
the lineage server's API key. Then the runs that print the most: a load and a build; a dbt build
and a load that each meet a stopped catalog (and are retried); a refused file whose failed run
raises alerts through a webhook that is down; lineage sent to a server that is down. Afterwards
every byte written is searched: the Dagster instance's storage (event log, runs, compute logs),
the data folder (alerts, archive, lineage), the dbt invocations' folders (dbt.log,
run_results.json), and everything the processes printed or logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from config.settings import LAKE_PASSWORD_VARIABLE, OPENLINEAGE_API_KEY_VARIABLE, S3_SECRET_VARIABLE, Settings
from demo.nycflights import day_csv
from resources.alerts import AlertsResource
from resources.dbt import dbt_project
from resources.lineage import LineageResource
from sensors.alerts import check_failure_alerts, run_failure_alerts
from sensors.lineage import LineageDeliveryError, build_lineage_sensor
from tests.demo.support.pipeline import Pipeline
from tests.support import postgres
from tests.support.alerts import failure_context, run_status_context
from tests.support.faults import catalog_down_during_the_next_dbt_build, catalog_down_until

pytestmark = pytest.mark.integration

CATALOG_PASSWORD = "catalog-pw-7f3a9c"
S3_SECRET = "s3-secret-91bd0e"
WEBHOOK_TOKEN = "webhook-token-55c1d2"
LINEAGE_KEY = "lineage-key-2e4b8f"
SECRETS = (CATALOG_PASSWORD, S3_SECRET, WEBHOOK_TOKEN, LINEAGE_KEY)
DOWN = "http://127.0.0.1:9"  # nothing listens on the discard port
DAYS = [date(2013, 6, 3), date(2013, 6, 4), date(2013, 6, 5)]


@pytest.fixture
def settings(own_postgres, object_store, tmp_path, monkeypatch) -> Settings:
    _, dsn = own_postgres
    database = postgres.create_database(dsn, "lake")
    role = f"writer_{database}"
    postgres.psql(dsn, "-c", f"CREATE ROLE {role} LOGIN PASSWORD '{CATALOG_PASSWORD}'")
    postgres.psql(dsn, "-c", f"ALTER DATABASE {database} OWNER TO {role}")
    monkeypatch.setenv(LAKE_PASSWORD_VARIABLE, CATALOG_PASSWORD)
    monkeypatch.setenv(S3_SECRET_VARIABLE, S3_SECRET)  # the local store takes any key
    monkeypatch.setenv(OPENLINEAGE_API_KEY_VARIABLE, LINEAGE_KEY)
    bucket = object_store.create_bucket(f"secrets-{database[-12:]}")
    return Settings(
        env="test",
        data_dir=tmp_path / "data",
        backend="ducklake",
        lake_catalog=postgres.conninfo(dsn, database, user=role),
        **object_store.settings(bucket, "lake"),
        alert_webhook_url=f"{DOWN}/hooks/{WEBHOOK_TOKEN}",
        openlineage_url=DOWN,
        openlineage_api_key=LINEAGE_KEY,
    )


def every_byte_under(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


def retried(instance: dg.DagsterInstance) -> bool:
    return any(
        instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY) for run in instance.get_runs()
    )


def test_no_secret_reaches_any_log_event_alert_or_file(own_postgres, settings, tmp_path, caplog, capfd):
    data_dir, _ = own_postgres
    caplog.set_level(logging.DEBUG)
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        pipeline = Pipeline(settings)
        pipeline.instance = instance
        pipeline.land_real_days(DAYS[:1])
        with catalog_down_during_the_next_dbt_build(data_dir) as happened:
            assert pipeline.run_build().success
        assert happened == ["stopped", "started again"]
        pipeline.deliver("flights", DAYS[1], day_csv("flights", DAYS[1]))
        with catalog_down_until(data_dir, lambda: retried(instance)):
            pipeline.load(["flights"], DAYS[1:2])
        # A refused file: its run fails, and both alert sensors send to a webhook that is down.
        pipeline.deliver("flights", DAYS[2], b"year,month\n2013,6\n")
        result = pipeline.run_load(["flights"], DAYS[2:])
        assert not result.success
        alerts = AlertsResource(alerts_file=str(settings.alerts), webhook_url=settings.alert_webhook_url)
        run_failure_alerts(failure_context(instance, result.run_id, alerts))
        check_failure_alerts(run_status_context(instance, result.run_id, alerts, dg.DagsterEventType.RUN_FAILURE))
        assert settings.alerts.exists()
        # Lineage of every run so far, to a server that is down, with the API key.
        lineage = LineageResource(
            job_namespace=settings.lineage_namespace,
            dataset_namespace="lake",
            file=str(settings.lineage),
            url=settings.openlineage_url,
            api_key=LINEAGE_KEY,
            http_retries=0,
        )
        sensor = build_lineage_sensor(
            [item for item in pipeline.defs.assets or [] if isinstance(item, dg.AssetsDefinition)]
        )
        with pytest.raises(LineageDeliveryError):  # the runs still open when the watch started are sent
            sensor(dg.build_sensor_context(instance=instance, resources={"lineage": lineage}))
        run_ids = {run.run_id for run in instance.get_runs()}

    invocations = [
        folder
        for folder in Path(dbt_project().project_dir, "target").glob("dbt_models-*")
        if any(folder.name.startswith(f"dbt_models-{run_id[:7]}") for run_id in run_ids)
    ]
    assert invocations, "no dbt invocation of this test's runs left to search"
    written = [item for root in (tmp_path, *invocations) for item in every_byte_under(root)]
    printed = capfd.readouterr()
    said = [("printed", (printed.out + printed.err).encode()), ("logged", caplog.text.encode())]
    found = [(str(where), secret) for where, data in [*written, *said] for secret in SECRETS if secret.encode() in data]
    assert found == []
    assert any(path.name == "dbt.log" for path, _ in written)
