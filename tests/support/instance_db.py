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


def run_selections(dsn: str) -> str:
    """Each run's start, job, status, parent run (a retry's) and assets and checks, one per line: what
    a failed count of runs is explained by. A string, so pytest prints it whole."""
    found = []
    query = "SELECT pipeline_name, status, run_body, create_timestamp FROM runs ORDER BY create_timestamp"
    for job, status, body, created in rows(dsn, query):
        run = json.loads(body)
        assets = [key["path"][-1] for key in (run.get("asset_selection") or {}).get("__frozenset__", [])]
        checks = [key["name"] for key in (run.get("asset_check_selection") or {}).get("__frozenset__", [])]
        parent = (run.get("tags") or {}).get("dagster/parent_run_id")
        retry = f" (retry of {parent[:8]})" if parent else ""
        found.append(f"{created:%H:%M:%S} {job} {status}{retry}: assets {sorted(assets)}, checks {sorted(checks)}")
    return "\n".join(found)
