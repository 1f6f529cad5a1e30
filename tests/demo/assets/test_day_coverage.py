"""Each per-day model holds every day of its input (assets/day_coverage.py), checked after every build."""

import dagster as dg
import pytest

from assets.day_coverage import DAY_COVERAGE_CHECK
from resources.warehouse import WarehouseResource
from tests.demo.support.pipeline import Pipeline
from tests.support.warehouse import query

pytestmark = pytest.mark.integration

PER_DAY = {
    "fct_flights",
    "mart_carrier_daily_performance",
    "mart_origin_daily_performance",
    "mart_weather_daily_impact",
}


def coverage(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        evaluation.asset_key.path[-1]: evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == DAY_COVERAGE_CHECK
    }


def test_every_build_checks_that_each_per_day_model_holds_every_day_of_its_input(built_copy):
    pipeline = Pipeline(built_copy)
    result = pipeline.run_build(full_refresh=True)

    assert result.success
    checked = coverage(result)
    assert set(checked) == PER_DAY
    assert all(evaluation.passed for evaluation in checked.values())
    assert checked["fct_flights"].metadata["days_expected"].value == 3  # the three days of the shared build


def test_a_mart_missing_a_day_fails_its_check_naming_the_day_and_the_fix(built_copy):
    pipeline = Pipeline(built_copy)
    with WarehouseResource.for_settings(built_copy).writer() as connection:  # a day lost by hand
        connection.execute("DELETE FROM marts.mart_carrier_daily_performance WHERE flight_date = '2013-01-02'")
    mart = dg.AssetKey(["marts", "mart_carrier_daily_performance"])

    result = dg.materialize(
        list(pipeline.defs.assets or []),
        selection=dg.AssetSelection.checks(dg.AssetCheckKey(mart, DAY_COVERAGE_CHECK)),
        instance=pipeline.instance,
        resources=pipeline.defs.resources,
        raise_on_error=False,
    )

    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "1 of 3 day(s) of fct_flights are missing" in evaluation.description
    assert "2013-01-02" in evaluation.description and "full_refresh" in evaluation.description
    assert query(built_copy, "SELECT count(DISTINCT flight_date) FROM marts.fct_flights") == [(3,)]
