"""The lake catalogs' passwords, handed to libpq in its own password file, never in a DSN.

DuckDB's PostgreSQL client echoes the connection string in its errors ("Unable to connect to
Postgres at ..."), and dbt writes those errors to its log, the run's events and the alerts. So no
connection string this project builds holds a password: libpq finds it in the password file named
by ``PGPASSFILE`` (https://www.postgresql.org/docs/current/libpq-pgpass.html), which this process
writes, readable by its user only, before it first connects. dbt, a child process, inherits the
variable and reads the same file.

The file lives as long as the process and holds only the catalogs it was given; a process given
none leaves ``PGPASSFILE`` (and libpq's own defaults, ``~/.pgpass`` or ``PGPASSWORD``) alone.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
from pathlib import Path

from warehouse.lake_settings import conninfo_pairs

PASSFILE_VARIABLE = "PGPASSFILE"

_entries: dict[tuple[str, str, str, str], str] = {}
_lock = threading.Lock()
_file: Path | None = None


def _escaped(field: str) -> str:
    return field.replace("\\", "\\\\").replace(":", "\\:")


def _entry(conninfo: str) -> tuple[str, str, str, str]:
    """libpq's (host, port, database, user) of a conninfo; ``*`` where it names none."""
    pairs = conninfo_pairs(conninfo)
    return (
        pairs.get("host", "localhost"),
        pairs.get("port", "5432"),
        pairs.get("dbname", "*"),
        pairs.get("user", "*"),
    )


def _remove_file() -> None:
    if _file is not None:
        _file.unlink(missing_ok=True)


def register(conninfo: str, password: str | None) -> None:
    """Make ``password`` the one libpq uses for ``conninfo`` in this process and its children."""
    global _file
    if password is None:
        return
    key = _entry(conninfo)
    with _lock:
        if _entries.get(key) == password and _file is not None and _file.exists():
            return
        _entries[key] = password
        if _file is None:
            handle, name = tempfile.mkstemp(prefix="dataops-pgpass-")  # mode 0600, as libpq requires
            os.close(handle)
            _file = Path(name)
            atexit.register(_remove_file)
        lines = [":".join(map(_escaped, (*fields, secret))) for fields, secret in _entries.items()]
        staged = _file.with_name(_file.name + ".new")
        staged.touch(mode=0o600)
        staged.write_text("\n".join(lines) + "\n")
        staged.replace(_file)  # a connection opening meanwhile reads the old file or the new, whole
        os.environ[PASSFILE_VARIABLE] = str(_file)
