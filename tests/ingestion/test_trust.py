"""The landing zone's trust boundary (ingestion/trust.py) on real entries of a real file system."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from ingestion.trust import UntrustedEntryError, entry_problem, open_landed, path_problem

DAY = "orders_2026-01-20.csv"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    (tmp_path / "landing" / "orders").mkdir(parents=True)
    return tmp_path / "landing"


def refusal(path: Path, landing: Path) -> str:
    with pytest.raises(UntrustedEntryError) as refused, open_landed(path, landing):
        pass
    return str(refused.value)


def test_a_regular_file_is_read_through_the_descriptor_it_was_checked_on(landing):
    path = landing / "orders" / DAY
    path.write_bytes(b"order_id,amount\n1,100\n")
    assert path_problem(path) is None
    with open_landed(path, landing) as handle:
        path.unlink()  # gone from the folder: the open descriptor still reads what was checked
        assert handle.read() == b"order_id,amount\n1,100\n"


def test_a_link_is_never_followed_to_a_system_file_or_to_a_day_outside_landing(landing, tmp_path):
    outside = tmp_path / "elsewhere" / DAY
    outside.parent.mkdir()
    outside.write_bytes(b"order_id,amount\n1,100\n")
    for target in (Path("/etc/passwd"), outside):
        link = landing / "orders" / DAY
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        assert "a symbolic link" in path_problem(link)
        assert "a symbolic link" in refusal(link, landing)


def test_a_hard_link_to_a_file_kept_elsewhere_is_refused(landing, tmp_path):
    kept = tmp_path / "kept.csv"
    kept.write_bytes(b"order_id\n1\n")
    os.link(kept, landing / "orders" / DAY)
    assert "a hard link (the file has 2 names)" in refusal(landing / "orders" / DAY, landing)


def test_a_fifo_is_refused_without_blocking(landing):
    fifo = landing / "orders" / DAY
    os.mkfifo(fifo)
    outcome: list[str] = []
    # No writer ever opens the FIFO: a blocking open would hang this thread forever.
    checker = threading.Thread(target=lambda: outcome.append(refusal(fifo, landing)), daemon=True)
    checker.start()
    checker.join(timeout=30)
    assert outcome == ["a FIFO (named pipe), not a regular file"]


def test_a_device_and_a_folder_named_like_a_file_are_refused(landing):
    assert entry_problem(Path("/dev/null").stat()) == "a device, not a regular file"
    (landing / "orders" / DAY).mkdir()
    assert refusal(landing / "orders" / DAY, landing) == "a folder, not a file"


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_node_in_landing_is_never_opened(landing):
    device = landing / "orders" / DAY
    os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null's numbers
    assert refusal(device, landing) == "a device, not a regular file"


def test_a_landing_folder_that_is_a_link_is_refused(landing, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / DAY).write_bytes(b"order_id\n1\n")
    (landing / "shipments").symlink_to(elsewhere, target_is_directory=True)
    assert "its folder 'shipments' is not a folder of the landing zone" in refusal(landing / "shipments" / DAY, landing)


def test_nothing_outside_the_landing_zone_is_opened(landing, tmp_path):
    outside = tmp_path / DAY
    outside.write_bytes(b"order_id\n1\n")
    assert refusal(outside, landing).startswith("outside the landing zone")
    assert "not a file inside" in refusal(landing / "orders" / ".." / ".." / DAY, landing)
