"""Partitions of the daily datasets: one dynamic partition per day whose file has landed.

Dynamic rather than a fixed 2013 calendar: a partition exists only once its file is there, so the
UI never offers a day that cannot be loaded, and "Materialize all" covers exactly the landed days.
The landing sensor adds a day's partition in the same tick that it requests the day's run.
"""

from __future__ import annotations

import dagster as dg

from config.datasets import DatasetConfig


def partitions_name(dataset_name: str) -> str:
    return f"{dataset_name}_days"


def partitions_for(dataset: DatasetConfig) -> dg.DynamicPartitionsDefinition | None:
    if dataset.kind != "daily":
        return None
    return dg.DynamicPartitionsDefinition(name=partitions_name(dataset.name))
