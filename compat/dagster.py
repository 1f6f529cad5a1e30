"""Every name this project takes from Dagster's private modules (``dagster._*``), and why.

Dagster is pinned exactly (pyproject.toml), so these move only with a deliberate upgrade; this is
the one module to read when doing one. Everything else uses Dagster's public API.
"""

# The type of an automation condition's asset graph (``AutomationContext.asset_graph``; type hints only).
from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph

# The type of what ``dg.define_asset_job`` returns (for type hints only; the class is not exported).
# The performance report reads the declared freshness policy's windows and the status of check
# executions, whose classes Dagster does not export.
from dagster._core.definitions.freshness import TimeWindowFreshnessPolicy
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

# `backfill` without DAGSTER_HOME: an ephemeral instance instead of an error (not exported either).
from dagster._core.errors import DagsterHomeNotSetError
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

# The local instance's storage (instance/storage.py): Dagster's SQLite storage, subclassed to write
# a batch of events in one transaction. A dagster.yaml names storage classes; these are the ones
# Dagster's own SQLite storage is built from.
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from dagster._utils import mkdir_p

__all__ = [
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "AssetCheckExecutionRecordStatus",
    "BaseAssetGraph",
    "ConfigurableClassData",
    "DagsterHomeNotSetError",
    "DagsterSqliteStorage",
    "DagsterStorage",
    "SqlEventLogStorageTable",
    "SqliteEventLogStorage",
    "SqliteRunStorage",
    "SqliteScheduleStorage",
    "TimeWindowFreshnessPolicy",
    "UnresolvedAssetJobDefinition",
    "_event_logs_directory",
    "_runs_directory",
    "_schedule_directory",
    "create_engine",
    "mkdir_p",
]
