"""The days of the daily datasets: one shared, date-ordered set, and which datasets load which days together.

No Dagster: the landing sensor's plan (sensors/landing_plan.py) and `backfill` both decide with
these, and the Dagster side (assets/partitions.py) only holds the partitions they describe.
Dagster lists dynamic partitions in the order they were added and forms ranges by that order, so
the set is kept in date order: a late day re-adds the days after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from config.datasets import DatasetConfig


@dataclass(frozen=True)
class PartitionChanges:
    """How to turn the existing partitions into the date-ordered set with the new days: delete, then add."""

    remove: list[str]  # junk keys, and the days after a late one (re-added in order)
    add: list[str]
    invalid: list[str]  # "<key>: <why>" for each junk key removed
    order: list[str]  # every partition, in order, after the changes


def partition_changes(
    existing: Sequence[str], days: Iterable[str], problem: Callable[[str], str | None]
) -> PartitionChanges:
    """The requests that keep the shared days valid and in date order, with the valid ``days`` among them.

    ``problem(key)`` says why a key is not a valid day (None if it is). Only the tail from the first
    day out of order is re-added, so an in-order arrival (the usual case) is a plain add.
    """
    invalid = {key: why for key in existing if (why := problem(key))}
    current = [key for key in existing if key not in invalid]
    target = sorted({*current, *(day for day in days if problem(day) is None)})
    kept = 0
    while kept < len(current) and current[kept] == target[kept]:
        kept += 1
    return PartitionChanges(
        remove=[*invalid, *current[kept:]],
        add=target[kept:],
        invalid=[f"{key}: {why}" for key, why in invalid.items()],
        order=target,
    )


def day_problem(datasets: Mapping[str, DatasetConfig], today: date) -> Callable[[str], str | None]:
    """Why a key is not one of the shared days: valid if some daily dataset can have that day."""
    daily = [dataset for dataset in datasets.values() if dataset.kind == "daily"]

    def problem(key: str) -> str | None:
        problems = [dataset.partition_key_problem(key, today) for dataset in daily]
        return None if any(found is None for found in problems) else problems[0]

    return problem


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
    run. Two feeds delivered for the same days are one run, not two.
    """
    together: dict[tuple[str, ...], list[str]] = {}
    for name in sorted(days):
        for segment in contiguous_segments(order, days[name]):
            together.setdefault(tuple(segment), []).append(name)
    return [(tuple(names), list(segment)) for segment, names in together.items()]
