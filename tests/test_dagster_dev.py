"""End to end under the real `dagster dev` (webserver, daemon, sensors, automation), as a user runs it.

Files are delivered with `replay`; nothing else is done by hand: the landing sensor loads them,
automation builds the marts. Then a bad file lands and the alert must arrive. Run it alone with
``pytest -m e2e``.
"""

import json
from datetime import date

import polars as pl
import pytest

from cli import dev_server, replay
from cli.nycflights import day_csv
from resources.settings import Settings

pytestmark = pytest.mark.e2e

PIPELINE_TIMEOUT = 600
ALERT_TIMEOUT = 180


def marts_days(settings: Settings) -> set[str]:
    return set(dev_server.flights_per_day(settings.warehouse))


def alerts(settings: Settings) -> list[dict]:
    if not settings.alerts.exists():
        return []
    return [json.loads(line) for line in settings.alerts.read_text().splitlines()]


@pytest.fixture
def dagster_dev(tmp_path, dbt_manifest):
    settings = Settings(env="dev", data_dir=tmp_path / "data")
    with dev_server.dagster_dev(tmp_path, settings.data_dir) as server:
        yield settings, server.log


def test_landed_files_reach_the_marts_and_a_bad_file_raises_an_alert(dagster_dev):
    settings, log = dagster_dev
    replay.main(["--reference", "--days", "2"], settings=settings)
    wanted = {"2013-01-01", "2013-01-02"}
    assert dev_server.wait_for(
        "the replayed days in the marts", lambda: marts_days(settings) >= wanted, PIPELINE_TIMEOUT, every=5
    )

    broken = pl.read_csv(day_csv("flights", date(2013, 1, 3)), infer_schema=False)
    replay.write_atomically(
        settings.landing / "flights" / "flights_2013-01-03.csv", broken.drop("carrier").write_csv().encode()
    )
    found = dev_server.wait_for(
        "the alerts for the bad file",
        lambda: {alert["kind"] for alert in alerts(settings)} >= {"check_failure", "run_failure"},
        ALERT_TIMEOUT,
    )
    assert found, log.read_text()[-3000:]
    check_alert = next(alert for alert in alerts(settings) if alert["kind"] == "check_failure")
    assert check_alert["asset"] == "raw/flights"
    assert "missing column(s) ['carrier']" in check_alert["details"]
    assert marts_days(settings) == {"2013-01-01", "2013-01-02"}, "the bad day was not published"
    assert list(settings.archive.rglob("*__flights_2013-01-03.csv")), "the bad file is kept"
