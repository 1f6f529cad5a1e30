"""How the lake's settings are written: its catalog's DSN and where its data path points.

Plain text, no DuckDB: settings are checked with these in every process that reads them
(config/settings.py), the metrics exporter's included, which never opens the warehouse
(tests/observability/test_exporter.py). warehouse/ducklake.py connects with them.
"""

from __future__ import annotations

import re


def is_object_storage(data_path: str) -> bool:
    """Whether a data path is on an S3-compatible store (then the lake_s3 dbt target and a secret)."""
    return data_path.startswith("s3://")


def conninfo_pairs(conninfo: str) -> dict[str, str]:
    """The ``key=value`` pairs of a libpq conninfo."""
    return dict(re.findall(r"(\w+)\s*=\s*(\S+)", conninfo))


def conninfo_problem(conninfo: str) -> str | None:
    """Why ``conninfo`` is not a usable catalog DSN for this project, or None."""
    if "://" in conninfo:
        return "use the key=value form (host=... port=... dbname=... user=...), not a URL"
    pairs = conninfo_pairs(conninfo)
    if "password" in pairs:
        return "holds a password: put it in the environment variable instead, never in a setting or a file"
    if "dbname" not in pairs:
        return "names no database (dbname=...)"
    return None
