"""Faults of the warehouse's services, recognised by what they are: one table for every caller.

The lake's catalog (PostgreSQL, reached through libpq) and its object store (reached through
DuckDB's HTTP client) fail in ways a later attempt outlives: a server restarting, a connection
dropped, every connection slot taken, a request timing out. DuckDB raises them as errors whose text
carries PostgreSQL's, libpq's or the HTTP client's words (DuckDB has no error code for them), and
dbt reports the same text as a failed node's message in ``run_results.json``. ``FAULTS`` is the one
place that maps those words to a cause, for the Python steps (resources/warehouse.py) and the dbt
step (assets/dbt_assets.py) alike, so that a catalog restart during a build is retried and named as
what it was, never reported as a failed audit.

Every sign is a set of words that must all appear, in lower case. A password refused, a database
that does not exist, a bucket that does not exist or a key without rights are not here: they fail
the same way until someone acts, and keep their own messages (warehouse/ducklake.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from warehouse.locks import is_lock_message


class Cause(StrEnum):
    """What went wrong, in the words the run log and the alert use."""

    CATALOG_UNREACHABLE = "the lake's catalog (PostgreSQL) could not be reached"
    CATALOG_RESTARTING = "the lake's catalog (PostgreSQL) was restarting"
    CATALOG_CONNECTIONS_EXHAUSTED = "the lake's catalog (PostgreSQL) had no free connection"
    CATALOG_LOCKED = "the lake's catalog (PostgreSQL) kept a lock held by another session past the lock timeout"
    OBJECT_STORE_UNREACHABLE = "the lake's object store could not be reached"
    WAREHOUSE_LOCKED = "the warehouse file was locked by another process"
    BUILD_LOCKED = "another build of the lake held its build lock"
    COMMIT_CONFLICT = "another writer changed the same tables first"


@dataclass(frozen=True)
class Fault:
    cause: Cause
    sign: tuple[str, ...]  # words that all appear in the error's text (lower case)

    def matches(self, text: str) -> bool:
        return all(words in text for words in self.sign)


# PostgreSQL's messages name the server's state (SQLSTATE 57P01/57P03, 53300); libpq's name the
# connection; DuckDB prefixes the catalog's with "postgres" and the object store's with "http".
FAULTS: tuple[Fault, ...] = (
    Fault(Cause.CATALOG_RESTARTING, ("the database system is starting up",)),
    Fault(Cause.CATALOG_RESTARTING, ("the database system is shutting down",)),
    Fault(Cause.CATALOG_RESTARTING, ("the database system is in recovery mode",)),
    Fault(Cause.CATALOG_RESTARTING, ("the database system is not yet accepting connections",)),
    Fault(Cause.CATALOG_RESTARTING, ("terminating connection due to administrator command",)),
    Fault(Cause.CATALOG_CONNECTIONS_EXHAUSTED, ("remaining connection slots are reserved",)),
    Fault(Cause.CATALOG_CONNECTIONS_EXHAUSTED, ("sorry, too many clients already",)),
    Fault(Cause.CATALOG_CONNECTIONS_EXHAUSTED, ("too many connections for",)),
    Fault(Cause.CATALOG_LOCKED, ("canceling statement due to lock timeout",)),
    Fault(Cause.CATALOG_UNREACHABLE, ("server closed the connection unexpectedly",)),
    Fault(Cause.CATALOG_UNREACHABLE, ("no connection to the server",)),
    Fault(Cause.CATALOG_UNREACHABLE, ("ssl connection has been closed unexpectedly",)),
    Fault(Cause.CATALOG_UNREACHABLE, ("could not receive data from server",)),
    Fault(Cause.CATALOG_UNREACHABLE, ("could not send data to server",)),
    Fault(Cause.CATALOG_UNREACHABLE, ("postgres", "connection refused")),
    Fault(Cause.CATALOG_UNREACHABLE, ("postgres", "timeout expired")),
    Fault(Cause.CATALOG_UNREACHABLE, ("postgres", "could not translate host name", "temporary failure")),
    Fault(Cause.OBJECT_STORE_UNREACHABLE, ("error for http", "timeout was reached")),
    Fault(Cause.OBJECT_STORE_UNREACHABLE, ("error for http", "could not connect to server")),
    Fault(Cause.OBJECT_STORE_UNREACHABLE, ("error for http", "connection reset")),
    Fault(Cause.OBJECT_STORE_UNREACHABLE, ("error for http", "failure when receiving data")),
    Fault(Cause.OBJECT_STORE_UNREACHABLE, ("error for http", "send failure")),
    Fault(Cause.OBJECT_STORE_UNREACHABLE, ("http", "(http 500")),
    Fault(Cause.OBJECT_STORE_UNREACHABLE, ("http", "(http 502")),
    Fault(Cause.OBJECT_STORE_UNREACHABLE, ("http", "(http 503")),
    Fault(Cause.OBJECT_STORE_UNREACHABLE, ("http", "(http 504")),
    Fault(Cause.COMMIT_CONFLICT, ("transaction conflict",)),
)


def cause_of(text: str) -> Cause | None:
    """The transient fault an error's text reports, or None when it is not one (a bug, bad data, a
    setting to fix)."""
    if is_lock_message(text):
        return Cause.WAREHOUSE_LOCKED
    lowered = text.lower()
    return next((fault.cause for fault in FAULTS if fault.matches(lowered)), None)
