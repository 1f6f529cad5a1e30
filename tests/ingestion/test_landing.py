import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingestion.landing import (
    LandedFile,
    MissingFileError,
    UnmatchedFile,
    archive_path,
    copy_to_archive,
    locate_partition_file,
    match_file,
    remove_from_landing,
)
from ingestion.trust import open_landed

LOADED_AT = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)


def test_file_names_map_to_partitions(datasets, tmp_path):
    orders = datasets["orders"]
    assert match_file(orders, tmp_path / "orders_2026-02-28.csv") == LandedFile(
        "orders", tmp_path / "orders_2026-02-28.csv", "2026-02-28"
    )
    assert match_file(datasets["customers"], tmp_path / "customers.csv").partition_key is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("orders_2026-02-30.csv", "is not a real date"),
        ("orders_26-02-03.csv", "does not match"),
        ("orders.csv", "does not match"),
        ("orders_2026-02-03.csv.tmp", "still being written"),
        (".orders_2026-02-03.csv", "still being written"),
    ],
)
def test_unusable_names_say_why(datasets, tmp_path, name, reason):
    result = match_file(datasets["orders"], tmp_path / name)
    assert isinstance(result, UnmatchedFile)
    assert reason in result.reason


def test_a_partition_reads_landing_first_then_the_newest_archived_copy(datasets, tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    orders = datasets["orders"]
    with pytest.raises(MissingFileError, match=r"expected .*landing/orders/orders_2026-01-05\.csv"):
        locate_partition_file(landing, archive, orders, "2026-01-05")

    older = archive / "orders" / "2026-01-05" / "20260101T000000000000Z__orders_2026-01-05.csv"
    newer = archive / "orders" / "2026-01-05" / "20260202T000000000000Z__orders_2026-01-05.csv"
    for path in (older, newer):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert locate_partition_file(landing, archive, orders, "2026-01-05").path == newer

    landed = landing / "orders" / "orders_2026-01-05.csv"
    landed.parent.mkdir(parents=True)
    landed.write_text("redelivered")
    assert locate_partition_file(landing, archive, orders, "2026-01-05").path == landed


def archived(landed: LandedFile, landing: Path, target: Path) -> Path:
    """Archive ``landed`` as a load does: read through the descriptor the trust boundary opened."""
    with open_landed(landed.path, landing) as source:
        return copy_to_archive(landed, source, target)


def test_archiving_copies_first_and_a_retry_reuses_the_copy(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    path = landing / "orders" / "orders_2026-01-05.csv"
    path.parent.mkdir(parents=True)
    path.write_text("rows")
    landed = LandedFile("orders", path, "2026-01-05")
    target = archive_path(archive, landed, LOADED_AT)
    assert target == archive / "orders" / "2026-01-05" / "20261122T083000000000Z__orders_2026-01-05.csv"
    assert archived(landed, landing, target) == target
    assert path.exists(), "a copy: landing keeps the file until the rows are committed"
    assert target.read_text() == "rows"
    # Done again after a crash, a minute later: the copy is reused, nothing beside it.
    retry = archive_path(archive, landed, LOADED_AT.replace(minute=31))
    assert archived(landed, landing, retry) == target
    assert [p.name for p in target.parent.iterdir()] == [target.name]
    assert remove_from_landing(landed, target, (path.stat().st_size, path.stat().st_mtime_ns))
    assert not path.exists()
    replayed = LandedFile("orders", target, "2026-01-05")
    assert archive_path(archive, replayed, LOADED_AT) == target
    assert replayed.name == "orders_2026-01-05.csv"


def test_a_redelivery_of_older_content_is_archived_as_the_newest(tmp_path):
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    path = landing / "orders" / "orders_2026-01-05.csv"
    path.parent.mkdir(parents=True)
    landed = LandedFile("orders", path, "2026-01-05")
    copies = []
    for minute, content in ((1, "A"), (2, "B"), (3, "A")):
        path.write_text(content)
        os.utime(path, (minute, minute))  # each delivery is a new write
        copies.append(archived(landed, landing, archive_path(archive, landed, LOADED_AT.replace(minute=minute))))
    assert len(set(copies)) == 3, "A again after B is a new delivery, not the first A"
    assert sorted(copies)[-1].read_text() == "A"


def test_a_file_redelivered_during_the_load_stays_in_landing(tmp_path):
    path = tmp_path / "landing" / "orders" / "orders_2026-01-05.csv"
    path.parent.mkdir(parents=True)
    path.write_text("first")
    landed = LandedFile("orders", path, "2026-01-05")
    target = archived(landed, tmp_path / "landing", archive_path(tmp_path / "archive", landed, LOADED_AT))
    mtime = path.stat().st_mtime_ns
    path.write_text("second, delivered while the first loaded")
    os.utime(path, ns=(mtime + 1_000_000, mtime + 1_000_000))
    assert not remove_from_landing(landed, target, (len("first"), mtime))
    assert path.read_text().startswith("second")
