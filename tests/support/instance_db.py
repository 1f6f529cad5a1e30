"""The production Dagster instance's PostgreSQL database, as the deploy tests read it."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import psycopg2

from assets.automation import UNFINISHED_RUN_STATUSES

# As SQL: `status IN {IN_FLIGHT}` on the runs table.
IN_FLIGHT = tuple(status.value for status in UNFINISHED_RUN_STATUSES)


def pg_env(dsn: str) -> dict[str, str]:
    url = urlsplit(dsn)
    return {
        "DAGSTER_PG_HOST": url.hostname,
        "DAGSTER_PG_PORT": str(url.port),
        "DAGSTER_PG_DB": url.path.lstrip("/"),
        "DAGSTER_PG_USER": url.username,
        "DAGSTER_PG_PASSWORD": url.password,
    }


def rows(dsn: str, sql: str) -> list[tuple]:
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def run_selections(dsn: str) -> list[str]:
    """Each run's job, start time and assets and checks: what a failed count of runs is explained by."""
    found = []
    for job, body, created in rows(dsn, "SELECT pipeline_name, run_body, create_timestamp FROM runs ORDER BY 3"):
        run = json.loads(body)
        assets = [key["path"][-1] for key in (run.get("asset_selection") or {}).get("__frozenset__", [])]
        checks = [key["name"] for key in (run.get("asset_check_selection") or {}).get("__frozenset__", [])]
        found.append(f"{created:%H:%M:%S} {job}: assets {sorted(assets)}, checks {sorted(checks)}")
    return found
