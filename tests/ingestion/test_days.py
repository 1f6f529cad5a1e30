"""The shared days: kept in date order, junk removed, and loads grouped by contiguous ranges."""

from ingestion.days import contiguous_segments, group_loads, partition_changes


def no_problem_but_junk(key: str) -> str | None:
    return "not a day" if not key[:4].isdigit() else None


def test_an_in_order_day_is_a_plain_add():
    changes = partition_changes(["2026-01-01", "2026-01-02"], ["2026-01-03"], no_problem_but_junk)
    assert (changes.remove, changes.add) == ([], ["2026-01-03"])
    assert changes.order == ["2026-01-01", "2026-01-02", "2026-01-03"]


def test_a_late_day_re_adds_the_days_after_it_and_junk_goes():
    changes = partition_changes(["2026-01-01", "junk", "2026-01-03"], ["2026-01-02"], no_problem_but_junk)
    assert changes.remove == ["junk", "2026-01-03"]
    assert changes.add == ["2026-01-02", "2026-01-03"]
    assert changes.invalid == ["junk: not a day"]
    assert changes.order == ["2026-01-01", "2026-01-02", "2026-01-03"]


def test_a_gap_in_the_order_splits_a_load_into_ranges():
    order = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
    assert contiguous_segments(order, ["2026-01-04", "2026-01-01", "2026-01-02"]) == [
        ["2026-01-01", "2026-01-02"],
        ["2026-01-04"],
    ]


def test_datasets_with_the_same_range_load_together():
    order = ["2026-01-01", "2026-01-02", "2026-01-03"]
    loads = group_loads(order, {"orders": order, "shipments": order[:2], "gates": order})  # names sorted within a load
    assert loads == [(("gates", "orders"), order), (("shipments",), order[:2])]
