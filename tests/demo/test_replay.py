from datetime import date

import polars as pl

from demo import replay
from demo.nycflights import daily_table


def landed_names(settings, dataset):
    folder = settings.landing / dataset
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def test_days_continue_the_stream_from_what_was_delivered(settings):
    assert replay.main(["--days", "2"], settings=settings) == 0
    assert landed_names(settings, "flights") == ["flights_2013-01-01.csv", "flights_2013-01-02.csv"]
    assert landed_names(settings, "weather") == ["weather_2013-01-01.csv", "weather_2013-01-02.csv"]
    # An archived day counts as delivered too.
    archived = settings.archive / "flights" / "2013-01-03"
    archived.mkdir(parents=True)
    replay.main(["--days", "1"], settings=settings)
    assert landed_names(settings, "flights")[-1] == "flights_2013-01-04.csv"


def test_a_delivered_day_is_exactly_the_real_data_of_that_day(settings):
    replay.main(["--from", "2013-02-03", "--to", "2013-02-03"], settings=settings)
    delivered = pl.read_csv(settings.landing / "flights" / "flights_2013-02-03.csv", infer_schema=False)
    expected = daily_table("flights").filter(pl.col("_day") == date(2013, 2, 3)).drop("_day")
    assert delivered.equals(expected.with_columns(pl.all().fill_null("NA")))
    assert not list((settings.landing / "flights").glob(".*")), "no temporary file is left behind"


def test_a_day_without_weather_is_not_delivered_as_an_empty_file(settings):
    replay.main(["--from", "2013-12-31", "--to", "2013-12-31"], settings=settings)
    assert landed_names(settings, "flights") == ["flights_2013-12-31.csv"]
    assert landed_names(settings, "weather") == []


def test_seed_delivers_reference_data_and_first_days_only_once(settings, capsys):
    replay.main(["--seed"], settings=settings)
    assert landed_names(settings, "planes") == ["planes.csv"]
    assert len(landed_names(settings, "flights")) == settings.seed_days
    (settings.landing / "flights" / "flights_2013-01-01.csv").unlink()
    replay.main(["--seed"], settings=settings)
    assert "nothing to do" in capsys.readouterr().out
    assert len(landed_names(settings, "flights")) == settings.seed_days - 1


def test_bad_arguments_are_refused(settings, capsys):
    import pytest

    for argv in (
        ["--days", "1", "--from", "2013-01-01", "--to", "2013-01-02"],
        ["--from", "2013-01-01"],
        [],
        ["--from", "2014-01-01", "--to", "2014-01-02"],
    ):
        with pytest.raises(SystemExit):
            replay.main(argv, settings=settings)
    assert "replay" in capsys.readouterr().err
