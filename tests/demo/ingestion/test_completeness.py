"""The demo's feed marks its files whole as the dataset's completeness rule asks."""

from datetime import date

import pytest

from demo import replay
from ingestion.pipeline import Severity
from tests.ingestion.test_completeness import load, with_rule

DAY = "2013-01-02"
FLIGHTS_ON_DAY = 943


@pytest.mark.parametrize("rule", ["manifest", "trailer"])
def test_replay_delivers_as_the_rule_says_and_the_load_takes_it_whole(settings, datasets, rule):
    """`replay` marks its files whole the way the dataset's rule asks, so a demo feed switched to a
    manifest or a trailer keeps loading every record."""
    flights = with_rule(datasets, "flights", rule=rule)
    replay.land(replay.day_deliveries(settings, {"flights": flights}, [date.fromisoformat(DAY)]))
    report = load(settings, flights, DAY)
    assert (report.severity, report.rows_loaded) == (Severity.OK, FLIGHTS_ON_DAY), report.problems
