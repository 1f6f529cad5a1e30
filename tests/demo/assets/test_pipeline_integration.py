"""The whole graph on real data: real files, real DuckDB or DuckLake, real dbt, real Dagster runs."""

from datetime import date

import dagster as dg
import polars as pl
import pytest

from definitions import build_definitions
from demo.nycflights import daily_table, source_bytes
from tests.support.warehouse import query

pytestmark = [pytest.mark.integration, pytest.mark.backends]

# Flights per carrier on 2013-01-01, counted straight from the package's flights.csv.
FLIGHTS_2013_01_01 = {
    "9E": 28,
    "AA": 94,
    "AS": 2,
    "B6": 163,
    "DL": 112,
    "EV": 116,
    "F9": 2,
    "FL": 10,
    "HA": 1,
    "MQ": 78,
    "UA": 165,
    "US": 32,
    "VX": 12,
    "WN": 27,
}
FLIGHTS_FIRST_THREE_DAYS = 842 + 943 + 914


@pytest.fixture(scope="module")
def pipeline(built):
    """The session's build (tests/conftest.py), read only: the tests that run more work on a copy."""
    return built.settings, built.instance, built.defs, built.report


@pytest.fixture
def private(built_copy):
    """A copy of the build with an instance of its own."""
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("days", ["2013-01-01", "2013-01-02", "2013-01-03"])
    return built_copy, instance, build_definitions(built_copy)


def test_every_run_succeeds_with_one_load_for_the_days_and_one_for_reference(pipeline):
    _, _, _, report = pipeline
    assert report.success, {label: result.success for label, result in report.results.items()}
    assert set(report.results) == {"flights+weather 2013-01-01..2013-01-03", "reference", "downstream"}


def test_the_marts_hold_the_real_counts(pipeline):
    settings, *_ = pipeline
    rows = query(
        settings,
        "SELECT carrier, flights_scheduled FROM marts.mart_carrier_daily_performance "
        "WHERE flight_date = DATE '2013-01-01'",
    )
    assert dict(rows) == FLIGHTS_2013_01_01
    assert query(settings, "SELECT count(*) FROM marts.fct_flights") == [(FLIGHTS_FIRST_THREE_DAYS,)]
    assert query(settings, "SELECT count(DISTINCT flight_date) FROM marts.mart_origin_daily_performance") == [(3,)]
    # The known gap: tail numbers missing from the registry are kept, not dropped.
    [(missing_plane,)] = query(
        settings, "SELECT count(*) FROM marts.fct_flights WHERE tailnum IS NOT NULL AND plane_model IS NULL"
    )
    assert missing_plane > 0


def test_analytics_are_published_with_metadata(pipeline):
    settings, instance, *_ = pipeline
    flights = daily_table("flights").filter(pl.col("_day") <= date(2013, 1, 3))
    carriers = flights.get_column("carrier").n_unique()
    assert query(settings, "SELECT count(*) FROM analytics.carrier_scorecard") == [(carriers,)]
    ranked = query(
        settings,
        "SELECT rank, on_time_rate, cancellation_rate, flights, carrier FROM analytics.carrier_scorecard ORDER BY rank",
    )
    assert [row[0] for row in ranked] == list(range(1, carriers + 1))
    keys = [(-rate, cancelled, -flights, carrier) for _, rate, cancelled, flights, carrier in ranked]
    assert keys == sorted(keys), "ranked by on-time rate, then cancellations, volume and code"
    event = instance.get_latest_materialization_event(dg.AssetKey(["analytics", "carrier_scorecard"]))
    metadata = event.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == carriers
    assert metadata["on_time_rate_by_carrier"].value.startswith(
        "![On-time arrival rate by carrier](data:image/png;base64,"
    )
    # The scorecard itself is table metadata, which the UI shows inline, a row per carrier.
    assert len(metadata["result"].records) == carriers


def test_raw_materialisations_record_counts_files_and_the_check(pipeline):
    _, instance, *_ = pipeline
    event = instance.get_latest_materialization_event(dg.AssetKey(["raw", "flights"]))
    metadata = event.asset_materialization.metadata
    assert metadata["records_read"].value == FLIGHTS_FIRST_THREE_DAYS
    assert metadata["rows_quarantined"].value == 0
    assert len(metadata["files"].value) == 3
    assert instance.get_materialized_partitions(dg.AssetKey(["raw", "flights"])) == {
        "2013-01-01",
        "2013-01-02",
        "2013-01-03",
    }


def test_dbt_models_record_row_and_null_counts(pipeline):
    _, instance, *_ = pipeline
    event = instance.get_latest_materialization_event(dg.AssetKey(["marts", "fct_flights"]))
    metadata = event.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == FLIGHTS_FIRST_THREE_DAYS  # as published
    # The first build wrote every day; a later one counts the nulls of the days it wrote alone.
    assert metadata["rows_written"].value == FLIGHTS_FIRST_THREE_DAYS
    assert metadata["null_counts_of_rows_written"].value["dep_time"] > 0  # cancelled flights
    assert metadata["audit"].value == "passed" and metadata["published_as"].value == "marts.fct_flights"
    # A view holds no rows of its own: profiling it would scan its raw table on every build.
    view = instance.get_latest_materialization_event(dg.AssetKey(["staging", "stg_flights"]))
    assert "dagster/row_count" not in view.asset_materialization.metadata


def test_files_are_archived_not_deleted(pipeline):
    settings, *_ = pipeline
    assert not list(settings.landing.rglob("*.csv"))
    archived = sorted(path.name.split("__")[1] for path in settings.archive.rglob("*.csv"))
    assert archived.count("flights_2013-01-02.csv") == 1
    assert len(archived) == 3 + 3 + 3


def test_reloading_a_partition_is_idempotent(private):
    settings, instance, defs = private
    before = query(settings, "SELECT count(*), sum(dep_delay) FROM raw.flights")
    for _ in range(2):
        result = dg.materialize(
            list(defs.assets),
            selection=["raw/flights"],
            partition_key="2013-01-02",
            instance=instance,
            resources=defs.resources,
        )
        assert result.success
    assert query(settings, "SELECT count(*), sum(dep_delay) FROM raw.flights") == before
    assert query(settings, "SELECT count(*) FROM raw.flights WHERE _partition_date = '2013-01-02'") == [(943,)]


def test_a_partition_without_a_file_fails_naming_the_expected_file(private):
    settings, instance, defs = private
    instance.add_dynamic_partitions("days", ["2013-06-01"])
    result = dg.materialize(
        list(defs.assets),
        selection=["raw/flights"],
        partition_key="2013-06-01",
        instance=instance,
        resources=defs.resources,
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    assert "flights_2013-06-01.csv" in failure.step_failure_data.user_failure_data.description
    assert query(settings, "SELECT count(*) FROM raw.flights WHERE _partition_date = '2013-06-01'") == [(0,)]


def test_known_gaps_in_the_real_data_are_dbt_warnings_with_counts(pipeline):
    _, instance, *_ = pipeline
    key = dg.AssetCheckKey(
        dg.AssetKey(["marts", "fct_flights"]), "relationships_fct_flights_tailnum__tailnum__ref_stg_planes_"
    )
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    evaluation = record.event.dagster_event.event_specific_data
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    # Flights of the first three days whose tail number is not in planes.csv, counted from the files.
    flights = daily_table("flights").filter(pl.col("_day") <= date(2013, 1, 3), pl.col("tailnum") != "NA")
    planes = pl.read_csv(source_bytes("planes"), infer_schema=False).get_column("tailnum").implode()
    unknown = flights.filter(~pl.col("tailnum").is_in(planes)).height  # dbt counts rows, i.e. flights
    assert evaluation.metadata["dagster_dbt/failed_row_count"].value == unknown


def test_every_loaded_file_is_fully_accounted_for(pipeline):
    """For each partition's current load: rows in raw + rows in quarantine == records read.

    (A reload replaces its partition, so earlier loads of the same day rightly have no rows left.)
    """
    settings, *_ = pipeline
    for dataset in ("flights", "weather", "airlines", "airports", "planes"):
        mismatches = query(
            settings,
            f"""
            SELECT log.source_file, log.records_read, coalesce(r.n, 0), coalesce(q.n, 0)
            FROM (SELECT * FROM meta.file_loads WHERE dataset = '{dataset}'
                  QUALIFY row_number() OVER (PARTITION BY partition_date ORDER BY loaded_at DESC) = 1) AS log
            LEFT JOIN (SELECT _source_file, count(*) AS n FROM raw.{dataset} GROUP BY 1) AS r
                ON r._source_file = log.source_file
            LEFT JOIN (SELECT _source_file, count(*) AS n FROM quarantine.{dataset} GROUP BY 1) AS q
                ON q._source_file = log.source_file
            WHERE log.records_read != coalesce(r.n, 0) + coalesce(q.n, 0)
        """,
        )
        assert mismatches == [], dataset
    assert query(settings, "SELECT count(DISTINCT (dataset, partition_date)) FROM meta.file_loads") == [(9,)]


def test_a_rebuild_of_published_marts_logs_only_the_changed_days(private):
    """Nothing new landed: the build claims no day, and does not call published marts unpublished."""
    _, instance, defs = private
    result = dg.materialize(
        list(defs.assets), selection=["marts/fct_flights"], instance=instance, resources=defs.resources
    )
    assert result.success
    said = [entry.user_message for entry in instance.all_logs(result.run_id) if "to rebuild" in entry.user_message]
    assert "fct_flights: 0 changed day(s) to rebuild" in said, said
    assert not any("not published yet" in line for line in said), said
