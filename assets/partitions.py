"""Partitions of the daily datasets: one shared set of days, a day added when its first file lands.

Dynamic rather than a fixed 2013 calendar: a day exists only once a file for it is there, so the
UI never offers a day nothing was delivered for, and "Materialize all" covers the landed days.
Dagster lists dynamic partitions in the order they were added and forms ranges by that order, so
the sensor keeps it the date order (``partition_changes`` in ingestion/days.py): a late day re-adds the days after it.
Shared by every daily dataset rather than one set each: a day's files of two feeds (orders, shipments) land
together and then load in one run (one run worker start-up instead of two), and a day whose
shipments file has not arrived shows as missing for shipments, which is exactly the state of things.
The landing sensor adds a day in the same tick that it requests the day's run.
"""

from __future__ import annotations

import dagster as dg

from config.datasets import DatasetConfig

DAYS = dg.DynamicPartitionsDefinition(name="days")


def partitions_for(dataset: DatasetConfig) -> dg.DynamicPartitionsDefinition | None:
    return DAYS if dataset.kind == "daily" else None
