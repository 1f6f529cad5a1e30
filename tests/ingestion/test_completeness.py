"""A dataset's completeness rule, through real loads into a real warehouse: a delivery its manifest
or trailer says is whole loads every record; one that is not is refused whole, kept in the
archive, and named with the reason. The landing sensor takes a file only once its manifest is in."""

import hashlib
import json

import pytest

from config.datasets import Completeness, DatasetConfig
from ingestion.landing import manifest_of
from ingestion.load import load_partitions
from ingestion.pipeline import Severity
from resources.warehouse import WarehouseResource
from sensors.landing_plan import Cursor, plan_tick
from tests.support.warehouse import query
from tests.synthetic import feed

DAY = feed.days(2)[-1].isoformat()
ORDERS_ON_DAY = feed.orders_frame(feed.days(2)[-1]).height


@pytest.fixture(scope="module")
def day_bytes() -> bytes:
    return feed.csv_bytes(feed.orders_frame(feed.days(2)[-1]))


def with_rule(datasets: dict[str, DatasetConfig], name: str = "orders", **rule: str) -> DatasetConfig:
    return datasets[name].model_copy(update={"completeness": Completeness(**rule)})


def deliver(settings, data: bytes, manifest: dict | None = None):
    path = settings.landing / "orders" / f"orders_{DAY}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    if manifest is not None:
        manifest_of(path).write_text(json.dumps(manifest))
    path.write_bytes(data)
    return path


def load(settings, dataset: DatasetConfig, day: str = DAY):
    warehouse = WarehouseResource.for_settings(settings)
    outcome = load_partitions(dataset, [day], settings.landing, settings.archive, warehouse.writer, "run")
    [report] = outcome.summary.files
    return report


def loaded_rows(settings) -> int:
    try:
        [(rows,)] = query(settings, "SELECT count(*) FROM raw.orders")
    except Exception:  # no table: nothing was ever loaded
        return 0
    return rows


def manifest_for(data: bytes, rows: int = ORDERS_ON_DAY) -> dict:
    return {"rows": rows, "sha256": hashlib.sha256(data).hexdigest()}


def test_a_delivery_that_matches_its_manifest_loads_and_both_are_archived(settings, datasets, day_bytes):
    path = deliver(settings, day_bytes, manifest_for(day_bytes))
    report = load(settings, with_rule(datasets, rule="manifest"))
    assert (report.severity, report.rows_loaded) == (Severity.OK, ORDERS_ON_DAY)
    assert loaded_rows(settings) == ORDERS_ON_DAY
    [archived] = (settings.archive / "orders" / DAY).glob("*.csv")
    assert json.loads(manifest_of(archived).read_text()) == manifest_for(day_bytes)
    assert not path.exists() and not manifest_of(path).exists(), "both left landing"


@pytest.mark.parametrize(
    ("cut", "manifest", "reason"),
    [
        ("last 40%", "whole", "its SHA-256 is"),
        ("none", "one row more", f"has {ORDERS_ON_DAY:,} records, its manifest declares {ORDERS_ON_DAY + 1:,}"),
        ("none", "missing", f"its manifest orders_{DAY}.csv.manifest.json is missing"),
        ("none", "not json", "is not JSON"),
        ("none", "no digest", 'has no "sha256"'),
    ],
)
def test_a_delivery_its_manifest_does_not_vouch_for_is_refused_whole(
    settings, datasets, day_bytes, cut, manifest, reason
):
    data = day_bytes[: int(len(day_bytes) * 0.6)].rsplit(b"\n", 1)[0] + b"\n" if cut != "none" else day_bytes
    path = deliver(
        settings,
        data,
        {
            "whole": manifest_for(day_bytes),
            "one row more": manifest_for(data, ORDERS_ON_DAY + 1),
            "missing": None,
            "not json": {},
            "no digest": {"rows": ORDERS_ON_DAY},
        }[manifest],
    )
    if manifest == "not json":
        manifest_of(path).write_bytes(b"rows=943")
    report = load(settings, with_rule(datasets, rule="manifest"))
    assert report.severity is Severity.ERROR
    assert report.rows_loaded == 0 and loaded_rows(settings) == 0, "nothing of it is loaded"
    [problem] = [problem for problem in report.problems if "incomplete delivery" in problem]
    assert reason in problem and f"orders_{DAY}.csv" in problem
    assert list((settings.archive / "orders" / DAY).glob("*.csv")), "the refused delivery is kept"


def test_a_trailer_declares_the_records_and_is_not_one(settings, datasets, day_bytes):
    deliver(settings, day_bytes + f"END,{ORDERS_ON_DAY}\n".encode())
    report = load(settings, with_rule(datasets, rule="trailer", trailer_prefix="END"))
    assert (report.severity, report.rows_loaded, report.records_read) == (Severity.OK, ORDERS_ON_DAY, ORDERS_ON_DAY)
    [(trailers,)] = query(settings, "SELECT count(*) FROM raw.orders WHERE customer_id = 'END' OR customer_id IS NULL")
    assert trailers == 0, "the trailer is not loaded as a row"


@pytest.mark.parametrize(
    ("ending", "reason"),
    [
        (b"", "its last line is not the trailer record 'TRAILER,<records>'"),
        (b"TRAILER,5\n", f"has {ORDERS_ON_DAY:,} records, its trailer declares 5"),
        (b"TRAILER,many\n", "its last line is not the trailer record"),
    ],
)
def test_a_delivery_without_its_trailer_or_with_a_wrong_count_is_refused_whole(
    settings, datasets, day_bytes, ending, reason
):
    deliver(settings, day_bytes + ending)
    report = load(settings, with_rule(datasets, rule="trailer"))
    assert report.severity is Severity.ERROR and loaded_rows(settings) == 0
    assert any(reason in problem for problem in report.problems), report.problems


def test_a_trailer_rule_needs_an_uncompressed_csv(datasets):
    with pytest.raises(ValueError, match="trailer is a last line of an uncompressed CSV"):
        DatasetConfig.model_validate(
            {
                **datasets["orders"].model_dump(by_alias=True),
                "compression": "gzip",
                "completeness": {"rule": "trailer"},
            }
        )


def test_the_sensor_takes_a_file_only_once_its_manifest_is_in(settings, datasets, day_bytes):
    manifest_rule = {**datasets, "orders": with_rule(datasets, rule="manifest")}
    path = deliver(settings, day_bytes)
    later = path.stat().st_mtime + 3600

    def tick():
        return plan_tick(manifest_rule, settings.landing, Cursor(), [], later, settle_seconds=0)

    waiting = tick()
    assert waiting.runs == [] and waiting.rejections == []
    assert any(f"waiting for its manifest orders_{DAY}.csv.manifest.json" in line for line in waiting.waiting)
    manifest_of(path).write_text(json.dumps(manifest_for(day_bytes)))
    taken = tick()
    assert len(taken.runs) == 1 and taken.rejections == [], "the file is taken; its manifest is not a file of its own"
