"""`backfill`, the command the README shows: in a process of its own, as a user runs it."""

import os
import subprocess
import sys

from cli import replay
from resources.settings import PROJECT_ROOT
from resources.warehouse import WarehouseResource


def test_the_command_loads_the_landed_days_and_builds_the_marts(settings, dbt_manifest, tmp_path):
    replay.main(["--reference", "--from", "2013-01-01", "--to", "2013-01-02"], settings=settings)
    environment = {
        **os.environ,
        "DATAOPS_ENV": settings.env,
        "DATAOPS_DATA_DIR": str(settings.data_dir),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    (tmp_path / "dagster_home").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "cli.backfill", "--to", "2013-01-02"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert [line.split()[:2] for line in result.stdout.splitlines() if line.startswith(("ok", "FAILED"))] == [
        ["ok", "reference"],
        ["ok", "flights+weather"],
        ["ok", "downstream"],
    ]
    with WarehouseResource.for_settings(settings).read_only() as connection:
        days = connection.execute("SELECT count(DISTINCT flight_date) FROM marts.fct_flights").fetchall()
    assert days == [(2,)]
