"""A contract that changes (config/changes.py): every delivery, older ones too, loads under the current one.

Real flights days, on both backends. From a day D the feed adds a column, renames one or widens a
type; the contract declares the change; the days before and after D then load under the new
contract, archived files of the old shape included, and the raw table follows the contract in the
load's own transaction. A file that lacks a column no change explains is still refused.
"""

from __future__ import annotations

import io
import sys
import types
from datetime import date

import pandera.polars as pa
import polars as pl
import pytest

from config.changes import ColumnChange, check_changes
from config.datasets import DatasetConfig, load_datasets
from config.settings import Settings
from demo.nycflights import day_csv
from ingestion.changes import claim_changes, record_consumed
from ingestion.landing import dataset_landing_dir, write_atomically
from ingestion.load import load_partitions
from ingestion.storage import align_raw_tables
from resources.warehouse import WarehouseResource
from schemas._base import DailyDatasetModel
from schemas.flights import Flights
from tests.support.warehouse import query
from warehouse.transactions import transaction

pytestmark = [pytest.mark.integration, pytest.mark.backends]

DAYS = [date(2013, 1, 1), date(2013, 1, 2), date(2013, 1, 3), date(2013, 1, 4)]
CHANGED_ON = DAYS[2]  # the first day the feed delivers in its new shape
FLIGHTS = {"2013-01-01": 842, "2013-01-02": 943, "2013-01-03": 914, "2013-01-04": 915}
MODULE = "contract_changes_under_test"  # the contracts below, as schemas.<MODULE>


def contract(name: str, rename: dict[str, str] | None = None, types_: dict[str, object] | None = None, **extra):
    """The flights columns as a contract of their own (their types and nullability; the range checks
    are not what is tested here), with columns renamed, retyped or added (``extra``: name -> dtype)."""
    rename, types_ = rename or {}, types_ or {}
    annotations, fields = {}, {}
    for column, (annotation, field) in Flights.__fields__.items():
        current = rename.get(column, column)
        annotations[current] = types_.get(current, annotation.raw_annotation)
        fields[current] = pa.Field(nullable=field.nullable)
    for column, dtype in extra.items():
        annotations[column] = dtype
        fields[column] = pa.Field(nullable=True)
    namespace = {"__annotations__": annotations, "__module__": f"schemas.{MODULE}", **fields}
    return type(name, (DailyDatasetModel,), namespace)


CONTRACTS = {
    "Before": contract("Before"),
    "WithSeats": contract("WithSeats", seats=pl.Int32),
    "WithTailNumber": contract("WithTailNumber", rename={"tailnum": "tail_number"}),
    "WithWideDistance": contract("WithWideDistance", types_={"distance": pl.Int64}),
    "WithSeatsAndTailNumber": contract("WithSeatsAndTailNumber", rename={"tailnum": "tail_number"}, seats=pl.Int32),
}


@pytest.fixture
def contracts(monkeypatch):
    module = types.ModuleType(f"schemas.{MODULE}")
    for name, model in CONTRACTS.items():
        setattr(module, name, model)
    monkeypatch.setitem(sys.modules, f"schemas.{MODULE}", module)


@pytest.fixture
def settings(tmp_path, backend_overrides, contracts) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "data", **backend_overrides())


def flights(settings: Settings, schema: str, *changes: dict) -> DatasetConfig:
    """The flights dataset under contract ``schema``, with ``changes`` declared."""
    current = load_datasets(settings.datasets_path)["flights"]
    return DatasetConfig.model_validate(
        {
            **current.model_dump(by_alias=True, exclude={"changes"}),
            "schema": f"{MODULE}.{schema}",
            "changes": [ColumnChange.model_validate(change) for change in changes],
        }
    )


def deliver(settings: Settings, day: date, data: bytes) -> None:
    target = dataset_landing_dir(settings.landing, "flights") / f"flights_{day}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, data)


def reshaped(day: date, change) -> bytes:
    """The real file of ``day``, reshaped by ``change`` (a frame -> frame function)."""
    frame = pl.read_csv(io.BytesIO(day_csv("flights", day)), infer_schema=False)
    out = io.BytesIO()
    change(frame).write_csv(out, null_value="NA")
    return out.getvalue()


def load(settings: Settings, dataset: DatasetConfig, days) -> list[str]:
    """Load ``days`` (landed or archived) under ``dataset``; the problems the load reported."""
    writer = WarehouseResource.for_settings(settings).writer
    outcome = load_partitions(dataset, [str(day) for day in days], settings.landing, settings.archive, writer, "t")
    return [problem for report in outcome.summary.files for problem in report.problems]


def per_day(settings: Settings, where: str = "true") -> dict[str, int]:
    rows = query(settings, f"SELECT _partition_date::VARCHAR, count(*) FROM raw.flights WHERE {where} GROUP BY 1")
    return dict(rows)


def raw_columns(settings: Settings) -> dict[str, str]:
    return dict(query(settings, "SELECT column_name, column_type FROM (DESCRIBE raw.flights)"))


def test_an_added_column_is_null_before_its_day_filled_after_and_required_from_then(settings):
    def with_seats(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(seats=(pl.col("flight").cast(pl.Int32) % 300 + 50).cast(pl.String))

    for day in DAYS:
        deliver(settings, day, reshaped(day, with_seats) if day >= CHANGED_ON else day_csv("flights", day))
    dataset = flights(settings, "WithSeats", {"added": "seats", "from": str(CHANGED_ON)})

    assert load(settings, dataset, DAYS) == []
    assert per_day(settings) == FLIGHTS
    filled = per_day(settings, "seats IS NOT NULL")
    assert filled == {day: n for day, n in FLIGHTS.items() if day >= str(CHANGED_ON)}
    assert raw_columns(settings)["seats"] == "INTEGER"

    # From its day on the column is part of the contract: a file without it is still refused.
    deliver(settings, DAYS[3], day_csv("flights", DAYS[3]))
    [problem] = load(settings, dataset, DAYS[3:])
    assert "missing column(s) ['seats']" in problem
    assert per_day(settings)[str(DAYS[3])] == FLIGHTS[str(DAYS[3])]  # the day as it was


def test_a_renamed_column_renames_the_table_and_older_files_still_load(settings):
    before = flights(settings, "Before")
    for day in DAYS[:2]:
        deliver(settings, day, day_csv("flights", day))
    assert load(settings, before, DAYS[:2]) == []

    def renamed(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.rename({"tailnum": "tail_number"})

    for day in DAYS[2:]:
        deliver(settings, day, reshaped(day, renamed))
    after = flights(settings, "WithTailNumber", {"renamed": "tail_number", "was": ["tailnum"]})
    assert load(settings, after, DAYS[2:]) == []

    columns = raw_columns(settings)
    assert "tail_number" in columns and "tailnum" not in columns  # renamed, not a second column
    assert per_day(settings) == FLIGHTS
    [(named,)] = query(settings, "SELECT count(tail_number) FROM raw.flights")
    assert named > 0.98 * sum(FLIGHTS.values())  # every day's values, under the new name
    # The archived files of the old shape load again under the new contract.
    assert load(settings, after, DAYS[:2]) == []
    assert per_day(settings) == FLIGHTS
    [(named_again,)] = query(settings, "SELECT count(tail_number) FROM raw.flights")
    assert named_again == named


def test_a_widened_type_widens_the_table_and_keeps_its_values(settings):
    deliver(settings, DAYS[0], day_csv("flights", DAYS[0]))
    assert load(settings, flights(settings, "Before"), DAYS[:1]) == []
    assert raw_columns(settings)["distance"] == "INTEGER"
    [(total_before,)] = query(settings, "SELECT sum(distance) FROM raw.flights")

    def farther(frame: pl.DataFrame) -> pl.DataFrame:  # past what a 32-bit integer holds
        return frame.with_columns(distance=(pl.col("distance").cast(pl.Int64) + 3_000_000_000).cast(pl.String))

    deliver(settings, DAYS[1], reshaped(DAYS[1], farther))
    wide = flights(settings, "WithWideDistance", {"widened": "distance"})
    assert load(settings, wide, DAYS[1:2]) == []

    assert raw_columns(settings)["distance"] == "BIGINT"
    day_one = "SELECT sum(distance) FROM raw.flights WHERE _partition_date = '2013-01-01'"
    [(total_day_one,)] = query(settings, day_one)
    assert total_day_one == total_before
    [(smallest,)] = query(settings, "SELECT min(distance) FROM raw.flights WHERE _partition_date = '2013-01-02'")
    assert smallest > 3_000_000_000


def test_a_change_that_does_not_fit_the_schema_is_refused_naming_it(settings):
    with pytest.raises(ValueError, match="schema must declare it nullable=True"):
        check_changes(
            [ColumnChange.model_validate({"added": "carrier", "from": "2013-01-03"})],
            Flights.to_schema().columns,
            ("year",),
        )
    with pytest.raises(ValueError, match="say its older name"):
        ColumnChange.model_validate({"renamed": "tail_number"})


def test_a_raw_table_is_given_the_contract_s_new_columns_before_dbt_reads_it(settings):
    """A model may read a new column before any file has brought it: the table gains it, null."""
    deliver(settings, DAYS[0], day_csv("flights", DAYS[0]))
    assert load(settings, flights(settings, "Before"), DAYS[:1]) == []
    renamed_and_added = flights(
        settings, "WithSeatsAndTailNumber", {"renamed": "tail_number", "was": ["tailnum"]}, {"added": "seats"}
    )
    with WarehouseResource.for_settings(settings).writer() as connection:
        assert align_raw_tables(connection, {"flights": renamed_and_added}) == ["raw.flights"]
        assert align_raw_tables(connection, {"flights": renamed_and_added}) == []  # nothing left to do
    columns = raw_columns(settings)
    assert columns["seats"] == "INTEGER" and "tail_number" in columns and "tailnum" not in columns
    assert query(settings, "SELECT count(seats), count(tail_number) > 800 FROM raw.flights") == [(0, True)]


def test_the_same_file_reloaded_under_a_changed_contract_is_a_change_for_the_marts(settings):
    deliver(settings, DAYS[0], day_csv("flights", DAYS[0]))
    before, after = flights(settings, "Before"), flights(settings, "WithSeats", {"added": "seats"})
    model = {"fct_flights": frozenset({"flights"})}
    writer = WarehouseResource.for_settings(settings).writer

    def rebuilt_days(dataset: DatasetConfig) -> int:
        """Load day 1 under ``dataset``, then how many days the mart must rebuild; consume them."""
        assert load(settings, dataset, DAYS[:1]) == []
        with writer() as connection:
            claim = claim_changes(connection, model)
            with transaction(connection):
                record_consumed(connection, claim, set(model))
        return claim.days["fct_flights"]

    assert rebuilt_days(before) == 1  # the first delivery
    assert rebuilt_days(before) == 0  # the same bytes again, same contract: nothing to rebuild
    assert rebuilt_days(after) == 1  # the same bytes under the new contract: rebuilt
    assert rebuilt_days(after) == 0


def test_an_added_column_with_a_default_takes_it_in_older_files(settings):
    deliver(settings, DAYS[0], day_csv("flights", DAYS[0]))
    dataset = flights(settings, "WithSeats", {"added": "seats", "from": str(CHANGED_ON), "default": "0"})
    assert load(settings, dataset, DAYS[:1]) == []
    assert query(settings, "SELECT count(*), min(seats), max(seats) FROM raw.flights") == [(842, 0, 0)]


def test_a_retired_column_is_null_from_its_day_and_still_required_before(settings):
    def without_air_time(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.drop("air_time")

    for day in DAYS:
        deliver(settings, day, reshaped(day, without_air_time) if day >= CHANGED_ON else day_csv("flights", day))
    dataset = flights(settings, "Before", {"retired": "air_time", "from": str(CHANGED_ON)})
    assert load(settings, dataset, DAYS) == []
    assert per_day(settings) == FLIGHTS
    assert set(per_day(settings, "air_time IS NOT NULL")) == {str(day) for day in DAYS if day < CHANGED_ON}

    deliver(settings, DAYS[0], reshaped(DAYS[0], without_air_time))  # before its day, the column is still due
    [problem] = load(settings, dataset, DAYS[:1])
    assert "missing column(s) ['air_time']" in problem
