"""Dagster's SQLite storage, with a batch of events written in one transaction per database.

A single-run backfill over N days records N materialisation-planned events when its run is
created and N materialisations when its step ends; Dagster hands each group to the event storage
as one batch (``store_event_batch``) when ``DAGSTER_EVENT_BATCH_SIZE`` is set. PostgreSQL's storage
writes a batch of materialisations in one statement. SQLite's inherits the default, which stores
the events one by one, and every one of them opens a new engine and connection and commits (with
a sync to disk) once in the run's database and once in the index: 3,650 such writes a year of
two daily datasets, ~18 ms each on a busy 2-core machine, about 40% of a year's backfill
(bench/bookkeeping.py).

Here a batch goes through Dagster's own ``store_event`` for each event, so what is written is
exactly what Dagster writes, but every connection the batch asks for is the same open transaction
of its database, committed once at the end. A failed batch rolls back whole, and Dagster then
stores the events one by one (its fallback), so nothing is lost or doubled.

Outside a batch (a step's start, its outputs, each check's evaluation, each log line) Dagster
builds a new SQLAlchemy engine for every connection and disposes of it after: 2-3 ms of Python
each, half the cost of such an event. Here each database's engine is built once and kept, with
one idle connection kept open in its pool: closing a database's last
connection makes SQLite checkpoint its write-ahead log into the file and delete it, which an event
committed alone paid every time (300 log lines: 0.79 s, kept open 0.41 s). An idle connection
holds no lock; other processes read and write the same files as before (WAL mode). Run workers
start by spawn, never fork, so no connection crosses into a child.

Used by the local instance (deploy/dagster.dev.yaml, ``storage: custom``): ``dagster dev``, the
tests that start it, and `backfill`. This module is the project's one use of Dagster's storage
internals (the classes a ``dagster.yaml`` names); Dagster is pinned exactly, and
tests/instance/test_storage.py checks that a batched run records the same as an unbatched one.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import dagster as dg
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

from compat.dagster import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    ConfigurableClassData,
    DagsterSqliteStorage,
    DagsterStorage,
    SqlEventLogStorageTable,
    SqliteEventLogStorage,
    SqliteRunStorage,
    SqliteScheduleStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
    create_engine,
    mkdir_p,
)

# Dagster reads the batch size from this variable only, in every process that records events (run
# workers, the daemon and webserver creating runs, `backfill`). The instance config is what all of
# them load, so the storage sets it for its own process unless the environment already says.
EVENT_BATCH_SIZE_VARIABLE = "DAGSTER_EVENT_BATCH_SIZE"
DEFAULT_EVENT_BATCH_SIZE = 1000
# Engines kept per process: a run's shard and the index are what a run worker writes.
ENGINES_KEPT = 16
# Events whose whole record is the event row, its copy in the index, tags and the asset's row (a
# ranged run's materialisations and planned materialisations): these are written in bulk.
BULK = {
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_OBSERVATION,
    dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
}


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """SQLite event log storage whose ``store_event_batch`` commits once per database, and which
    builds each database's engine once."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        # The connections of the batch this thread is storing, by shard; absent outside a batch.
        self._batch = threading.local()
        # Each shard's engine, newest used last; a long-lived process (the daemon, the webserver)
        # meets a shard per run, so only the most recent are kept.
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    def _engine(self, shard: str) -> Engine:
        """The shard's engine, built (and its database initialised) on first use. Under ``_db_lock``."""
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                # One idle connection kept open (module docstring); any other is opened and closed
                # as with Dagster's NullPool, so a nested connection is still a connection of its own.
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=-1,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > ENGINES_KEPT:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        connections: dict[str, Connection] | None = getattr(self._batch, "connections", None)
        if connections is None:
            # SqliteEventLogStorage._connect, with the shard's kept engine.
            with self._db_lock, self._open_transaction(shard) as connection:
                yield connection
            return
        if shard not in connections:
            connections[shard] = self._batch.stack.enter_context(self._open_transaction(shard))
        yield connections[shard]

    @contextmanager
    def _open_transaction(self, shard: str) -> Iterator[Connection]:
        """A connection of the shard's kept engine, in a transaction (a batch keeps it open for its length)."""
        with self._engine(shard).connect() as connection, connection.begin():
            yield connection

    def store_event_batch(self, events: Sequence[dg.EventLogEntry]) -> None:
        # The lock ``_connect`` takes per connection is held for the whole batch instead: other
        # threads of this process wait for it as they would for one connection.
        with self._db_lock, ExitStack() as stack:
            self._batch.connections, self._batch.stack = {}, stack
            try:
                # In the batch's order: runs of asset events in bulk, anything else one by one.
                for in_bulk, group in itertools.groupby(events, key=lambda event: event.dagster_event_type in BULK):
                    if in_bulk:
                        self._store_asset_events(list(group))
                    else:
                        for event in group:
                            self.store_event(event)
            finally:
                del self._batch.connections, self._batch.stack
        # Leaving the stack commits each database's transaction (or rolls all back on an error,
        # after which Dagster stores the events one by one).

    def _store_asset_events(self, events: list[dg.EventLogEntry]) -> None:
        """What ``store_event`` writes for each asset event, in one statement per table.

        The run's database and the index get every event; the index's tag rows come from Dagster's
        own helper. The asset's row keeps only its latest event of each kind, so it is written once
        per asset and kind, with the last one, in the order they came.
        """
        # Each event serialised once (the costly part: a ranged run's metadata is in every one of
        # them), then the same rows inserted in both databases, one executemany each.
        rows = [self._event_to_row(event) for event in events]
        for run_id, of_run in itertools.groupby(rows, key=lambda row: row["run_id"]):
            with self.run_connection(run_id) as connection:
                connection.execute(SqlEventLogStorageTable.insert(), list(of_run))
        with self.index_transaction() as connection:
            inserted = connection.execute(
                SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id, sort_by_parameter_order=True),
                rows,
            )
            event_ids = [row[0] for row in inserted]
            self._store_asset_event_tags(connection, events, event_ids)
            latest = {
                (event.dagster_event_type, event.get_dagster_event().asset_key): (event, event_id)
                for event, event_id in zip(events, event_ids, strict=True)
            }
            for event, event_id in sorted(latest.values(), key=lambda pair: pair[1]):
                self._store_asset_event(connection, event, event_id)


class BatchedSqliteStorage(DagsterSqliteStorage):
    """Dagster's default local storage (SQLite files under ``base_dir``) with batched event writes.

    Named in deploy/dagster.dev.yaml as ``storage: custom``; the files are where Dagster's own
    SQLite storage keeps them, so an existing ``.dagster_home`` reads the same.
    """

    def __init__(
        self,
        base_dir: str,
        inst_data: ConfigurableClassData | None = None,
        event_batch_size: int = DEFAULT_EVENT_BATCH_SIZE,
    ) -> None:
        # DagsterSqliteStorage.__init__, with the batched event log in place of its own (building
        # both would initialise the event log's databases twice).
        self.base_dir = base_dir
        self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = BatchedSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        DagsterStorage.__init__(self)
        os.environ.setdefault(EVENT_BATCH_SIZE_VARIABLE, str(event_batch_size))

    @classmethod
    def config_type(cls) -> dict[str, Any]:  # type: ignore[override]
        return {
            "base_dir": dg.StringSource,
            "event_batch_size": dg.Field(dg.IntSource, is_required=False, default_value=DEFAULT_EVENT_BATCH_SIZE),
        }

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: dict[str, Any]) -> BatchedSqliteStorage:  # type: ignore[override]
        mkdir_p(config_value["base_dir"])
        return cls(
            config_value["base_dir"],
            inst_data=inst_data,
            event_batch_size=config_value["event_batch_size"],
        )
