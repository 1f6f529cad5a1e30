"""Partitions of the daily datasets: one shared set of days, a day added when its first file lands.

Dynamic rather than a fixed 2013 calendar: a day exists only once a file for it is there, so the
UI never offers a day nothing was delivered for, and "Materialize all" covers the landed days.
Shared by every daily dataset rather than one set each: a day's flights and weather files land
together and then load in one run (one run worker start-up instead of two), and a day whose
weather file has not arrived shows as missing for weather, which is exactly the state of things.
The landing sensor adds a day in the same tick that it requests the day's run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

from config.datasets import DatasetConfig

DAYS = dg.DynamicPartitionsDefinition(name="days")


def partitions_for(dataset: DatasetConfig) -> dg.DynamicPartitionsDefinition | None:
    return DAYS if dataset.kind == "daily" else None


def days_to_add(existing: Sequence[str], days: Iterable[str]) -> list[str]:
    """The days not yet partitions, in the order to add them: sorted, so that a burst of new days
    lands contiguous after the existing ones (one range, one run)."""
    return sorted(set(days) - set(existing))


def contiguous_segments(order: Sequence[str], wanted: Iterable[str]) -> list[list[str]]:
    """Split ``wanted`` keys into runs of keys adjacent in ``order``.

    Dynamic partitions are ordered by when they were added; a single run covers a *range* of
    them, so each segment is what one single-run load can cover exactly.
    """
    position = {key: index for index, key in enumerate(order)}
    segments: list[list[str]] = []
    for key in sorted(set(wanted), key=position.__getitem__):
        if segments and position[segments[-1][-1]] == position[key] - 1:
            segments[-1].append(key)
        else:
            segments.append([key])
    return segments


def group_loads(order: Sequence[str], days: Mapping[str, Iterable[str]]) -> list[tuple[tuple[str, ...], list[str]]]:
    """Which datasets load which days together: ``[(datasets, contiguous days), ...]``.

    Each dataset's days are split into contiguous ranges; datasets with the same range share one
    run. Flights and weather delivered for the same days are one run, not two.
    """
    together: dict[tuple[str, ...], list[str]] = {}
    for name in sorted(days):
        for segment in contiguous_segments(order, days[name]):
            together.setdefault(tuple(segment), []).append(name)
    return [(tuple(names), list(segment)) for segment, names in together.items()]
