"""`backfill`, the command the README shows: in a process of its own, as a user runs it."""

from demo import replay
from resources.warehouse import WarehouseResource
from tests.support.processes import run_python


def test_the_command_loads_the_landed_days_and_builds_the_marts(settings, dbt_manifest, tmp_path):
    replay.main(["--reference", "--from", "2013-01-01", "--to", "2013-01-02"], settings=settings)
    (tmp_path / "dagster_home").mkdir()
    environment = {
        "DATAOPS_ENV": settings.env,
        "DATAOPS_DATA_DIR": str(settings.data_dir),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    result = run_python(["-m", "cli.backfill", "--to", "2013-01-02"], environment)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert [line.split()[:2] for line in result.stdout.splitlines() if line.startswith(("ok", "FAILED"))] == [
        ["ok", "reference"],
        ["ok", "flights+weather"],
        ["ok", "downstream"],
    ]
    with WarehouseResource.for_settings(settings).read_only() as connection:
        days = connection.execute("SELECT count(DISTINCT flight_date) FROM marts.fct_flights").fetchall()
    assert days == [(2,)]

    # One dataset's history again (after a change of its contract): its files only, then the build.
    again = run_python(["-m", "cli.backfill", "--dataset", "flights"], environment)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert [line.split()[:2] for line in again.stdout.splitlines() if line.startswith(("ok", "FAILED"))] == [
        ["ok", "flights"],
        ["ok", "downstream"],
    ]
    unknown = run_python(["-m", "cli.backfill", "--dataset", "flight"], environment)
    assert unknown.returncode == 2 and "no dataset flight in" in unknown.stderr and "flights" in unknown.stderr
