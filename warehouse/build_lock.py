"""One build of the lake's models at a time, whichever Dagster instance starts it.

A Dagster pool serialises builds within one instance. Two instances (two hosts, a developer's
`dagster dev` on prod's lake by mistake, a restored standby) building at once would replace the
same tables and fail each other ("Cannot rename table ... since it already exists"), or claim the
same deliveries twice. So a build first takes a lock in the lake's catalog database: a PostgreSQL
session-level advisory lock, held by a connection of its own for the whole build. PostgreSQL
releases it when that session ends, however it ends: a worker killed with SIGKILL, or its host
lost, closes the connection, and the lock goes with it.

A build that waits longer than its wait budget fails naming the build that holds the lock (its
application name says which run, from which host), as a transient fault: it is retried later.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg2

from warehouse import catalog_passwords
from warehouse.ducklake import LakeConnectionError, LakeLocation, describe

# pg_advisory_lock's (classid, objid): an arbitrary namespace for this project, and the build.
LOCK_NAMESPACE = 0x44_41_54_41  # "DATA"
BUILD_LOCK = 1
POLL_SECONDS = 0.5
HOLDER_SQL = """
    SELECT a.application_name, a.client_addr, a.backend_start, a.pid FROM pg_locks AS l
    JOIN pg_stat_activity AS a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objid = %s AND l.granted AND a.datname = current_database()
"""


class BuildLockTimeout(RuntimeError):
    """Another build held the lake's build lock for longer than this build would wait."""


def _holder(cursor) -> str:
    cursor.execute(HOLDER_SQL, (LOCK_NAMESPACE, BUILD_LOCK))
    row = cursor.fetchone()
    if row is None:
        return "a build that has just finished"
    application, address, since, pid = row
    where = f"from {address}" if address else "on the catalog's host"
    return (
        f"{application or 'an unnamed session'} ({where}, PostgreSQL pid {pid}, connected {since:%Y-%m-%d %H:%M:%S %Z})"
    )


@contextmanager
def build_lock(
    lake: LakeLocation, holder: str, wait_seconds: float, waiting: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the lake's build lock for the block; ``holder`` names this build (its run) to others.

    If another build holds it, ``waiting`` is told who, once, before this build starts to wait."""
    catalog_passwords.register(lake.catalog, lake.password)
    name = f"dataops build {holder} on {socket.gethostname()} pid {os.getpid()}"[:63]  # PostgreSQL's limit
    try:
        connection = psycopg2.connect(lake.connect_with, application_name=name)
    except psycopg2.OperationalError as error:  # PostgreSQL's words, for the fault table
        raise LakeConnectionError(f"the build lock's PostgreSQL catalog {describe(lake.catalog)}: {error}") from error
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            deadline = time.monotonic() + wait_seconds
            while True:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_NAMESPACE, BUILD_LOCK))
                (taken,) = cursor.fetchone() or (False,)
                if taken:
                    break
                if waiting is not None:
                    waiting(_holder(cursor))
                    waiting = None
                if time.monotonic() > deadline:
                    raise BuildLockTimeout(
                        f"another build of the lake has held its build lock for over {wait_seconds:g} s: "
                        f"{_holder(cursor)}; this build waits for it (it is retried later)"
                    )
                time.sleep(POLL_SECONDS)
        yield
    finally:
        connection.close()  # ends the session, and with it the lock
