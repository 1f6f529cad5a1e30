"""DuckDB's file lock, recognised: one read-write process excludes every other, readers too."""

from __future__ import annotations

import duckdb


def is_lock_message(text: str) -> bool:
    """True for DuckDB's "file is locked by another process" error text (also as dbt reports it)."""
    text = text.lower()
    return "could not set lock" in text or "conflicting lock" in text


def is_lock_error(error: BaseException) -> bool:
    """True for DuckDB's lock error (worth retrying)."""
    return isinstance(error, duckdb.IOException) and is_lock_message(str(error))


class WarehouseLockedError(RuntimeError):
    """The warehouse stayed locked by another process for longer than the connect budget."""
