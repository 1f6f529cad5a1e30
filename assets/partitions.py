"""Partitions of the daily datasets: one dynamic partition per day whose file has landed.

Dynamic rather than a fixed 2013 calendar: a partition exists only once its file is there, so the
UI never offers a day that cannot be loaded, and "Materialize all" covers exactly the landed days.
The landing sensor adds a day's partition in the same tick that it requests the day's run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg

from config.datasets import DatasetConfig


def partitions_name(dataset_name: str) -> str:
    return f"{dataset_name}_days"


def partitions_for(dataset: DatasetConfig) -> dg.DynamicPartitionsDefinition | None:
    if dataset.kind != "daily":
        return None
    return dg.DynamicPartitionsDefinition(name=partitions_name(dataset.name))


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
