"""The landing backlog: per dataset, how many files wait and how long the oldest has waited."""

import os

from observability.landing_backlog import Backlog, landing_backlog


def test_files_waiting_are_counted_per_dataset_with_the_oldest_age(tmp_path, datasets):
    now = 1_800_000_000.0
    orders = tmp_path / "orders"
    orders.mkdir()
    for name, age in (("orders_2026-01-01.csv", 600), ("orders_2026-01-02.csv", 60)):
        (orders / name).write_text("order_id\n1\n")
        os.utime(orders / name, (now - age, now - age))
    # Not backlog: a file still being written, and one whose name matches no pattern (the sensor rejects it).
    (orders / ".orders_2026-01-03.csv.part").write_text("")
    (orders / "notes.txt").write_text("")
    found = {backlog.dataset: backlog for backlog in landing_backlog(tmp_path, datasets, now)}
    assert found["orders"] == Backlog("orders", 2, 600.0)
    assert found["shipments"] == Backlog("shipments", 0, 0.0)
    assert set(found) == set(datasets), "every dataset has a value, 0 when nothing waits"
