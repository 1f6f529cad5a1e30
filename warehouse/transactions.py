"""Transactions on either backend: ending a failed one, redoing one that lost a commit race.

No Dagster here: ingestion (which runs outside Dagster too) commits through these.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

import duckdb

from warehouse.faults import Cause, cause_of

T = TypeVar("T")
# A commit refused by a concurrent writer is redone this many times (each a whole transaction).
CONFLICT_ATTEMPTS = 8


def rollback(connection: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction, if any: a failed COMMIT has already ended it."""
    with suppress(duckdb.TransactionException):
        connection.execute("ROLLBACK")


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction around the block: committed when it ends, rolled back on any error or interrupt."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        rollback(connection)
        raise


def is_conflict(error: BaseException) -> bool:
    """DuckLake's commit conflict: another writer changed what this transaction touched (worth a retry)."""
    return isinstance(error, duckdb.Error) and cause_of(str(error)) == Cause.COMMIT_CONFLICT


def retry_conflicts(work: Callable[[], T], attempts: int = CONFLICT_ATTEMPTS) -> T:
    """Run ``work`` (one whole transaction), again after a DuckLake commit conflict.

    Writers of the lake commit optimistically: two loads that replace days of the same table both
    delete from it, and the second to commit is refused. The transaction is idempotent (it
    replaces partitions), so doing it again on the new snapshot is the resolution.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except duckdb.Error as error:
            if not is_conflict(error) or attempt == attempts:
                raise
            time.sleep(random.uniform(0.05, 0.2) * attempt)
    raise AssertionError("unreachable")
