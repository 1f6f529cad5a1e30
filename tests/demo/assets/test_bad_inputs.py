"""The bad-input catalogue: each damaged file is dropped in the landing zone of a warehouse that
already has published data, and goes through the sensor's plan and the real ingest job.

For every case: a specific message names the file and the problem, the raw file is kept, the
valid rows load where the file is readable, the rejects are in quarantine with their reason, the
sensor does not crash, and an ERROR leaves the published partition exactly as it was. On both
warehouse backends: each case works on a private copy of the published state.
"""

import os
import time
from datetime import date

import dagster as dg
import polars as pl
import pytest

from cli.backfill import run_backfill
from config.settings import Settings
from definitions import build_definitions
from demo.nycflights import day_csv
from jobs.landing import ingest_job_for
from resources.warehouse import WarehouseResource
from sensors.alerts import run_failure_alerts
from sensors.landing_plan import Cursor, plan_tick
from tests.support.alerts import failure_context
from tests.support.warehouse import query

pytestmark = [pytest.mark.integration, pytest.mark.backends]

DAY = "2013-01-02"
FLIGHTS_ON_DAY = 943
NAME = f"flights_{DAY}.csv"


class World:
    """A private copy of the published state, with helpers to land a file and ingest it."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.defs = build_definitions(self.settings)
        self.instance = dg.DagsterInstance.ephemeral()
        self.instance.add_dynamic_partitions("days", ["2013-01-01", "2013-01-02", "2013-01-03"])
        self.before = self.partition()

    def land(self, data: bytes, name: str = NAME, dataset: str = "flights"):
        path = self.settings.landing / dataset / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = time.time() - 60  # settled
        os.utime(path, (stamp, stamp))
        return path

    def plan(self):
        datasets = {name: d for name, d in self._datasets().items()}
        return plan_tick(datasets, self.settings.landing, Cursor(), ["2013-01-01", DAY, "2013-01-03"], now=time.time())

    def _datasets(self):
        from config.datasets import load_datasets

        return load_datasets(self.settings.datasets_path)

    def ingest(self, day: str = DAY) -> dg.ExecuteInProcessResult:
        job = ingest_job_for(self.defs, [self._datasets()["flights"]])  # as the landing sensor's run
        return job.execute_in_process(instance=self.instance, partition_key=day, raise_on_error=False)

    def ingest_bytes(self, data: bytes) -> dg.ExecuteInProcessResult:
        """Land ``data`` as the day's flights file and load it, as the landing sensor's run would."""
        self.land(data)
        return self.ingest()

    def query(self, sql: str):
        return query(self.settings, sql)

    def partition(self, day: str = DAY):
        return self.query(
            f"SELECT count(*), sum(dep_delay), min(_source_file) FROM raw.flights WHERE _partition_date = '{day}'"
        )

    def quarantine(self, day: str = DAY) -> pl.DataFrame:
        with WarehouseResource.for_settings(self.settings).read_only() as connection:
            return connection.sql(f"SELECT * FROM quarantine.flights WHERE _partition_date = '{day}'").pl()

    def archived(self, name: str = NAME) -> list:
        return sorted(self.settings.archive.rglob(f"*__{name}"))

    def check(self, result, name: str) -> dg.AssetCheckEvaluation:
        [evaluation] = [
            event.event_specific_data
            for event in result.all_events
            if event.event_type_value == "ASSET_CHECK_EVALUATION" and event.event_specific_data.check_name == name
        ]
        return evaluation


@pytest.fixture
def world(built_copy):
    return World(built_copy)


def real_day() -> pl.DataFrame:
    return pl.read_csv(day_csv("flights", date.fromisoformat(DAY)), infer_schema=False)


def as_csv(frame: pl.DataFrame) -> bytes:
    return frame.write_csv(null_value="NA").encode()


def failure_text(result) -> str:
    [failure] = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    return failure.step_failure_data.user_failure_data.description


def assert_accounted(world, landed_bytes: bytes):
    """Rows loaded + rows quarantined == records read, from the warehouse's own tables."""
    [(read, loaded, quarantined, source)] = world.query(
        "SELECT records_read, rows_loaded, rows_quarantined, source_file FROM meta.file_loads "
        "ORDER BY loaded_at DESC LIMIT 1"
    )
    assert loaded + quarantined == read
    [(in_raw,)] = world.query(f"SELECT count(*) FROM raw.flights WHERE _source_file = '{source}'")
    [(in_quarantine,)] = world.query(f"SELECT count(*) FROM quarantine.flights WHERE _source_file = '{source}'")
    assert (in_raw, in_quarantine) == (loaded, quarantined)
    assert (world.settings.archive / source).read_bytes() == landed_bytes, "the raw file is kept as delivered"
    return read, loaded, quarantined


def assert_error_keeps_published(world, result, *expected_in_message):
    assert not result.success
    message = failure_text(result)
    for text in (NAME, *expected_in_message):
        assert text in message
    assert world.partition() == world.before, "the published partition did not change"
    assert world.check(result, "pandera_validation").severity == dg.AssetCheckSeverity.ERROR
    # Every check of the load says something: none is left "execution failed" in the UI.
    volume = world.check(result, "volume_anomaly")
    assert volume.passed and "no day was loaded by this run" in (volume.description or "")


def test_unbalanced_quote_refuses_the_file_as_cut_short(world):
    """An opening quote that never closes swallows the rest of the file, which reads exactly as a file
    cut inside a quoted field: the delivery is refused whole, kept in the archive, never loaded in part."""
    lines = as_csv(real_day()).decode().splitlines()
    fields = lines[-3].split(",")
    fields[9] = '"' + fields[9]  # an opening quote on the carrier that never closes
    lines[-3] = ",".join(fields)
    data = ("\n".join(lines) + "\n").encode()
    world.land(data)
    result = world.ingest()
    assert_error_keeps_published(world, result, "incomplete delivery", f"line {len(lines) - 2:,}")
    assert [copy.read_bytes() for copy in world.archived()][-1] == data, "kept in the archive as delivered"


def test_a_delivery_cut_in_the_middle_of_a_record_is_refused_whole(world):
    """An upload renamed too early: 60% of the day, cut inside a record. Never 560 of 930 flights
    loaded as a success: the file is refused whole, with the reason, and the day stays as published."""
    data = as_csv(real_day())
    cut = data[: int(len(data) * 0.6)]
    assert not cut.endswith(b"\n")
    world.land(cut)
    result = world.ingest()
    assert_error_keeps_published(world, result, "incomplete delivery", "so the file was cut short")
    assert world.check(result, "pandera_validation").severity == dg.AssetCheckSeverity.ERROR


def test_ragged_rows_are_quarantined_and_named(world):
    lines = as_csv(real_day()).decode().splitlines()
    lines[5] += ",extra"
    lines[9] = lines[9].rsplit(",", 2)[0]
    data = ("\n".join(lines) + "\n").encode()
    world.land(data)
    result = world.ingest()
    assert result.success
    assert assert_accounted(world, data)[2] == 2
    reasons = world.quarantine().sort("_row_number").get_column("reason").to_list()
    assert reasons == ["malformed row: 20 fields, the header has 19", "malformed row: 17 fields, the header has 19"]
    assert world.check(result, "pandera_validation").severity == dg.AssetCheckSeverity.WARN


def test_missing_column_is_an_error_that_keeps_the_published_day(world):
    data = as_csv(real_day().drop("arr_delay"))
    world.land(data)
    result = world.ingest()
    assert_error_keeps_published(world, result, "missing column(s) ['arr_delay']")
    assert assert_accounted(world, data) == (FLIGHTS_ON_DAY, 0, FLIGHTS_ON_DAY)
    assert not world.check(result, "schema_drift").passed


def test_renamed_column_is_an_error_naming_both_names(world):
    data = as_csv(real_day().rename({"tailnum": "tail_number"}))
    world.land(data)
    result = world.ingest()
    assert_error_keeps_published(world, result, "['tailnum']")
    drift = world.check(result, "schema_drift")
    assert "new column 'tail_number'" in drift.metadata["drift"].value
    assert "missing column 'tailnum'" in drift.metadata["drift"].value


def test_extra_column_is_drift_and_the_rows_still_load(world):
    data = as_csv(real_day().with_columns(gate=pl.lit("B12")))
    world.land(data)
    result = world.ingest()
    assert result.success
    assert assert_accounted(world, data) == (FLIGHTS_ON_DAY, FLIGHTS_ON_DAY, 0)
    drift = world.check(result, "schema_drift")
    assert not drift.passed and drift.severity == dg.AssetCheckSeverity.WARN
    assert "new column 'gate'" in drift.description


def test_text_in_a_numeric_column_quarantines_that_row(world):
    frame = real_day().with_columns(
        dep_time=pl.when(pl.int_range(pl.len()) == 10).then(pl.lit("ten to six")).otherwise(pl.col("dep_time"))
    )
    data = as_csv(frame)
    world.land(data)
    assert world.ingest().success
    assert assert_accounted(world, data)[2] == 1
    row = world.quarantine().row(0, named=True)
    assert (row["_row_number"], row["failed_columns"]) == (11, ["dep_time"])
    assert "ten to six" in row["reason"]


def test_a_column_that_changed_type_is_reported_as_retyped(world):
    # The feed starts sending times as "05:17" instead of 517: every value fails to parse.
    frame = real_day().with_columns(dep_time=pl.col("dep_time").str.zfill(4).str.replace(r"^(\d\d)(\d\d)$", "$1:$2"))
    data = as_csv(frame)
    world.land(data)
    result = world.ingest()
    assert_error_keeps_published(world, result, "over the 5.0% threshold")
    assert "column 'dep_time' retyped" in world.check(result, "schema_drift").description


def test_out_of_range_values_are_quarantined_with_the_check(world):
    frame = real_day().with_columns(
        distance=pl.when(pl.int_range(pl.len()) < 3).then(pl.lit("-5")).otherwise(pl.col("distance"))
    )
    data = as_csv(frame)
    world.land(data)
    result = world.ingest()
    assert result.success
    assert assert_accounted(world, data)[2] == 3
    check = world.check(result, "pandera_validation")
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert "in_range(1, 6000)" in check.metadata["failures_by_check"].value


def test_duplicate_keys_within_a_file_are_all_quarantined(world):
    frame = real_day()
    data = as_csv(pl.concat([frame, frame.slice(0, 2)]))
    world.land(data)
    assert world.ingest().success
    assert assert_accounted(world, data)[2] == 4  # both copies of each duplicated key
    assert all(
        "unique" in checks[0] or "unique" in str(checks) for checks in world.quarantine().get_column("failed_checks")
    )


def test_redelivering_a_day_replaces_it_without_duplicates(world):
    data = as_csv(real_day())
    for _ in range(2):
        world.land(data)
        assert world.ingest().success
    [(rows, distinct)] = world.query(
        f"SELECT count(*), count(DISTINCT (carrier, flight, origin, sched_dep_time)) FROM raw.flights "
        f"WHERE _partition_date = '{DAY}'"
    )
    assert rows == distinct == FLIGHTS_ON_DAY
    assert len(world.archived()) == 3, "the first delivery and both re-deliveries are all kept"


@pytest.mark.parametrize(
    ("data", "problem"), [(b"", "file is empty"), (None, "header only, no records")], ids=["empty", "header-only"]
)
def test_empty_and_header_only_files_are_errors(world, data, problem):
    data = data if data is not None else as_csv(real_day().head(0))
    world.land(data)
    result = world.ingest()
    assert_error_keeps_published(world, result, problem)
    assert world.archived()[-1].read_bytes() == data


def test_non_utf8_bytes_quarantine_their_rows(world):
    text = as_csv(real_day())
    data = (
        text.replace(b",N14228,", b",N1\xe94228,", 1) if b",N14228," in text else text.replace(b",UA,", b",U\xc1,", 1)
    )
    world.land(data)
    result = world.ingest()
    assert result.success
    assert assert_accounted(world, data)[2] == 1
    assert "not valid UTF-8" in world.check(result, "pandera_validation").metadata["problems"].value


def test_a_compressed_file_under_a_csv_name_is_refused_as_what_it_is(world):
    import gzip

    data = gzip.compress(as_csv(real_day()))
    world.land(data)
    result = world.ingest()
    assert_error_keeps_published(world, result, f"{NAME} is gzip-compressed; expected plain CSV")
    assert world.quarantine().is_empty(), "no garbage records in quarantine"
    assert world.archived()[-1].read_bytes() == data, "kept as delivered"


def test_a_backfill_over_a_junk_partition_key_loads_the_real_days(world):
    from jobs.landing import RANGE_END_TAG, RANGE_START_TAG

    world.instance.add_dynamic_partitions("days", ["../../x"])  # typed into the UI, after the real days
    job = ingest_job_for(world.defs, [world._datasets()["flights"]])
    result = job.execute_in_process(
        instance=world.instance,
        tags={RANGE_START_TAG: "2013-01-03", RANGE_END_TAG: "../../x"},
        raise_on_error=False,
    )
    assert result.success
    loaded = {event.partition for event in result.get_asset_materialization_events()}
    assert loaded == {"2013-01-03"}


def test_a_day_outside_the_bounds_in_landing_never_becomes_a_partition_through_backfill(world):
    world.land(as_csv(real_day()), name="flights_2031-01-02.csv")
    report = run_backfill(world.settings, world.instance, defs=world.defs)
    assert report.success
    assert "2031-01-02" not in world.instance.get_dynamic_partitions("days")


def test_a_date_that_does_not_exist_in_the_name_is_rejected_with_its_reason(world):
    world.land(as_csv(real_day()), name="flights_2013-02-30.csv")
    plan = world.plan()
    assert plan.runs == [] and plan.new_partitions == []
    # The sensor moves it to the rejected folder with this reason (tests/sensors/test_landing_sensor.py).
    assert plan.reports == [
        "flights/flights_2013-02-30.csv: date '2013-02-30' in the name is not a real date in format '%Y-%m-%d'"
    ]


def test_a_name_that_matches_no_dataset_is_rejected_with_its_reason(world):
    world.land(b"a,b\n1,2\n", name="delays_2013-01-02.csv")
    world.land(b"a,b\n1,2\n", name="tickets.csv", dataset="tickets")
    plan = world.plan()
    assert plan.runs == []
    assert len(plan.reports) == 2
    assert "does not match flights's file_pattern 'flights_{date}.csv'" in plan.reports[0]
    assert "'tickets' is not a dataset" in plan.reports[1]


def test_a_bad_day_publishes_nothing_and_the_others_still_refresh(world):
    """ERROR on one day in a backfill: the marts rebuild from the other days, the bad day keeps
    its previous published rows, and nothing of the bad file reaches them."""
    before = world.query("SELECT flight_date, count(*) FROM marts.fct_flights GROUP BY 1 ORDER BY 1")
    world.land(as_csv(real_day().drop("carrier")))
    report = run_backfill(world.settings, world.instance, defs=world.defs)
    days = report.results["flights+weather 2013-01-01..2013-01-03"]
    assert not days.success
    # flights and weather share the run, in separate steps: the bad flights file does not stop weather.
    loaded = {event.asset_key.to_user_string() for event in days.get_asset_materialization_events()}
    assert "raw/weather" in loaded
    assert report.results["downstream"].success
    assert world.query("SELECT flight_date, count(*) FROM marts.fct_flights GROUP BY 1 ORDER BY 1") == before


def test_a_failed_blocking_dbt_test_stops_the_python_analytics(world):
    """Valid-looking reference data that breaks a relationship: airlines.csv without United."""
    from demo.nycflights import source_bytes
    from jobs.landing import refresh_targets

    airlines = pl.read_csv(source_bytes("airlines"), infer_schema=False).filter(pl.col("carrier") != "UA")
    world.land(airlines.write_csv().encode(), name="airlines.csv", dataset="airlines")
    airlines = ingest_job_for(world.defs, [world._datasets()["airlines"]])
    assert airlines.execute_in_process(instance=world.instance).success
    scorecard_before = world.query("SELECT * FROM analytics.carrier_scorecard ORDER BY rank")

    result = dg.materialize(
        list(world.defs.assets),
        selection=refresh_targets(world.defs.assets, world._datasets()).selection,
        instance=world.instance,
        resources=world.defs.resources,
        raise_on_error=False,
    )
    assert not result.success
    relationship = world.check(result, "relationships_fct_flights_carrier__carrier__ref_stg_airlines_")
    assert not relationship.passed and relationship.severity == dg.AssetCheckSeverity.ERROR
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert "marts/fct_flights" in materialized
    assert not {"analytics/carrier_scorecard", "analytics/weather_delay_impact"} & materialized
    assert world.query("SELECT * FROM analytics.carrier_scorecard ORDER BY rank") == scorecard_before


def evaluate_landing_sensor(world):
    """One tick of the real landing sensor on the world's landing zone: it plans, moves rejected
    entries to rejected/ and raises their alerts."""
    sensor = world.defs.resolve_sensor_def("landing_zone_sensor")
    context = dg.build_sensor_context(
        instance=world.instance,
        definitions=world.defs,
        resources={key: world.defs.resources[key] for key in ("landing_zone", "alerts")},
    )
    return sensor(context)


def test_links_pipes_devices_and_folders_in_landing_are_rejected_unread(world, tmp_path):
    """Whoever can write the landing zone cannot make the pipeline read anything else: each hostile
    entry named like a day is moved to rejected/ as it is (the link stays a link), and nothing of
    what it points at reaches the archive, quarantine, the alerts or the sensor's messages."""
    secret = tmp_path / "elsewhere" / "secret.csv"
    secret.parent.mkdir()
    secret.write_bytes(as_csv(real_day()))  # a real day file, kept outside the landing zone
    hostile = {
        "flights_2013-01-20.csv": lambda path: path.symlink_to("/etc/passwd"),
        "flights_2013-01-21.csv": lambda path: path.symlink_to(secret),
        "flights_2013-01-22.csv": lambda path: os.link(secret, path),
        "flights_2013-01-23.csv": os.mkfifo,
        "flights_2013-01-24.csv": lambda path: path.mkdir(),
    }
    folder = world.settings.landing / "flights"
    folder.mkdir(parents=True, exist_ok=True)
    for name, make in hostile.items():
        make(folder / name)
    linked = tmp_path / "elsewhere" / "weather"
    linked.mkdir()
    (linked / "weather_2013-01-02.csv").write_bytes(as_csv(real_day()))
    weather = world.settings.landing / "weather"
    if weather.exists():
        weather.rmdir()  # empty since the build's load took its files
    weather.symlink_to(linked, target_is_directory=True)
    quarantined_before = world.query("SELECT count(*) FROM quarantine.flights")

    result = evaluate_landing_sensor(world)

    assert not result.run_requests
    assert not list(folder.iterdir()), "every hostile entry left landing"
    assert not (world.settings.landing / "weather").exists()
    rejected = {
        path.name.split("__")[-1]: path
        for path in world.settings.rejected.rglob("*__*")
        if not path.name.endswith(".reason.txt")
    }
    assert set(rejected) == {*hostile, "weather"}
    assert rejected["flights_2013-01-20.csv"].is_symlink(), "moved as a link, not copied through it"
    assert rejected["weather"].is_symlink()
    reasons = {
        note.name.split("__")[-1].removesuffix(".reason.txt"): note.read_text()
        for note in world.settings.rejected.rglob("*.reason.txt")
    }
    assert "a symbolic link" in reasons["flights_2013-01-20.csv"]
    assert "a symbolic link" in reasons["flights_2013-01-21.csv"]
    assert "a hard link (the file has 2 names)" in reasons["flights_2013-01-22.csv"]
    assert "a FIFO (named pipe)" in reasons["flights_2013-01-23.csv"]
    assert "a folder, not a file" in reasons["flights_2013-01-24.csv"]
    assert "the landing folder of weather is a symbolic link" in reasons["weather"]
    assert not [path for path in world.settings.archive.rglob("*") if path.name.split("__")[-1] in hostile]
    assert world.query("SELECT count(*) FROM quarantine.flights") == quarantined_before
    alerts = world.settings.alerts.read_text()
    secret_line = secret.read_text().splitlines()[1]
    for text in ("root:", secret_line):
        assert text not in alerts
        assert not any(text in reason for reason in reasons.values())


def test_a_day_file_swapped_for_a_link_before_its_load_is_not_read(world):
    """The sensor saw a regular file; by the time the load opens it, it is a link to /etc/passwd.
    The load refuses it without reading it, names it in the step's error and the failed validation
    check, and the published day stays as it was."""
    path = world.land(as_csv(real_day()))
    path.unlink()
    path.symlink_to("/etc/passwd")
    result = world.ingest()
    assert_error_keeps_published(world, result, "not read, a symbolic link")
    assert "not read, a symbolic link" in (world.check(result, "pandera_validation").description or "")
    assert path.is_symlink(), "left for the landing sensor to move to rejected/"
    assert not [copy for copy in world.archived() if copy.is_symlink() or b"root:" in copy.read_bytes()]
    [(quarantined,)] = world.query("SELECT count(*) FROM quarantine.flights WHERE raw_record LIKE '%root:%'")
    assert quarantined == 0
    logged = " ".join(str(event.message) for event in result.all_events)
    assert "root:" not in logged


PASSWD = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


def test_a_files_contents_reach_quarantine_only_never_messages_alerts_or_lineage(world):
    """A regular file named like a day whose lines are a system file's: refused as not the expected
    header, its records kept in quarantine, and not one of its lines in the step's error, the checks,
    the run's events, the alert or the lineage events."""

    def sensor(name: str, cursor: str | None = None) -> str | None:
        context = dg.build_sensor_context(
            instance=world.instance, cursor=cursor, definitions=world.defs, resources=world.defs.resources
        )
        world.defs.resolve_sensor_def(name)(context)
        return context.cursor

    lineage = sensor("openlineage_events")  # the watch starts here
    world.land(PASSWD)
    result = world.ingest()
    assert_error_keeps_published(world, result, "not the expected header")
    [(kept,)] = world.query("SELECT count(*) FROM quarantine.flights WHERE raw_record LIKE '%root:x:0:0%'")
    assert kept == 1, "the contents are kept where only the pipeline's owners read them"

    run_failure_alerts(failure_context(world.instance, result.run_id, world.defs.resources["alerts"]))
    sensor("openlineage_events", lineage)

    said = {
        "events": " ".join(str(event.message) for event in result.all_events),
        "checks": str([(e.description, e.metadata) for e in result.get_asset_check_evaluations()]),
        "alerts": world.settings.alerts.read_text(),
        "lineage": world.settings.lineage.read_text(),
    }
    assert "not the expected header" in said["alerts"]
    for where, text in said.items():
        for line in PASSWD.decode().splitlines():
            assert line not in text and "root:x" not in text, where


@pytest.mark.parametrize(
    ("data", "said"),
    [
        # Megabytes in one line with no newline, 40,000 fields: a header check quadratic in them stalls.
        (b",".join(b"f%d" % n for n in range(40_000)).ljust(5 << 20, b"x"), "the header has 40,000 fields"),
        # A real header, then one line of megabytes.
        (b"year,month,day\n" + b"9" * (5 << 20), "line 2 is 5,242,880 bytes"),
    ],
    ids=["huge-header", "long-line"],
)
def test_a_header_or_line_past_the_limits_is_refused_at_once(world, data, said):
    result = world.ingest_bytes(data)
    assert_error_keeps_published(world, result, said, "over the limit of")


def test_binary_noise_is_refused_as_what_it_is(world):
    noise = bytes(range(256)) * 4096  # every byte value, 1 MB: no text, no header
    result = world.ingest_bytes(noise)
    assert not result.success
    assert NAME in failure_text(result)
    assert world.partition() == world.before, "the published partition did not change"


def test_a_refused_redelivery_never_replaces_the_good_one_on_reload_or_in_the_clean_up(world):
    """A day's re-delivery cut short is refused and archived. Reloading the day from the archive (as
    every backfill does) loads the good delivery again, not the refused newest; and the clean-up,
    with its clock past the archive's retention, keeps the good delivery the published rows came from."""
    from datetime import UTC, datetime, timedelta

    from operations.lifecycle import plan_cleanup
    from resources.operations import OperationsResource

    [good] = world.archived()
    data = as_csv(real_day())
    world.land(data[: int(len(data) * 0.6)])
    assert not world.ingest().success  # refused whole, archived beside the good one
    assert len(world.archived()) == 2
    reload = world.ingest()  # nothing in landing: the archive's deliveries, the newest first
    assert reload.success
    assert world.partition() == world.before, "the day holds the good delivery's rows, loaded again"
    [(source,)] = world.query(f"SELECT DISTINCT _source_file FROM raw.flights WHERE _partition_date = '{DAY}'")
    assert source == good.relative_to(world.settings.archive).as_posix()

    policy = OperationsResource.from_settings(world.settings).lifecycle_policy()
    later = datetime.now(UTC) + timedelta(days=policy.archive_retention_days + 1)
    plan = plan_cleanup(policy, WarehouseResource.for_settings(world.settings), later)
    assert str(good) not in {removal.target for removal in plan.of_kind("archived file")}
    assert any(str(good) in kept for kept in plan.kept)


def test_a_file_rewritten_during_its_load_is_loaded_as_read_and_the_new_version_stays(world, monkeypatch):
    """A feed that rewrites a file after its rename: the load keeps the bytes it read (archived; the
    rows name that copy), and the new version, changed after the load had read the file, is not
    removed with it: it stays in landing, and the next tick takes it as a delivery of its own."""
    import ingestion.load

    day = real_day()
    first, second = as_csv(day.head(900)), as_csv(day)
    landed = world.land(first)
    original = ingestion.load.ingest_files

    def rewritten_meanwhile(*args, **kwargs):  # after the archive copy, before the commit
        landed.write_bytes(second)
        return original(*args, **kwargs)

    monkeypatch.setattr(ingestion.load, "ingest_files", rewritten_meanwhile)
    result = world.ingest()
    monkeypatch.undo()
    assert result.success
    [(rows, source)] = world.query(
        f"SELECT count(*), any_value(_source_file) FROM raw.flights WHERE _partition_date = '{DAY}'"
    )
    assert rows == 900, "the version that was read and archived"
    assert (world.settings.archive / source).read_bytes() == first
    assert landed.read_bytes() == second, "the rewritten version is still in landing"
    os.utime(landed, (time.time() - 60, time.time() - 60))  # settled
    assert len(world.plan().runs) == 1, "the next tick takes it"
    assert world.ingest().success
    assert world.partition()[0][0] == FLIGHTS_ON_DAY
