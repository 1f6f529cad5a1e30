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
    """Each run's start, job, status, what started it, parent run (a retry's), assets and checks, and
    a failed run's failure messages, one per line: what a failed count of runs is explained by. A
    string, so pytest prints it whole."""
    found = []
    query = "SELECT run_id, pipeline_name, status, run_body, create_timestamp FROM runs ORDER BY create_timestamp"
    for run_id, job, status, body, created in rows(dsn, query):
        run = json.loads(body)
        tags = run.get("tags") or {}
        assets = [key["path"][-1] for key in (run.get("asset_selection") or {}).get("__frozenset__", [])]
        checks = [key["name"] for key in (run.get("asset_check_selection") or {}).get("__frozenset__", [])]
        parent = tags.get("dagster/parent_run_id")
        started_by = tags.get("dagster/sensor_name", "by hand") + (f", retry of {parent[:8]}" if parent else "")
        selection = f"assets {sorted(assets)}, checks {sorted(checks)}"
        found.append(f"{created:%H:%M:%S} {job} {run_id[:8]} {status} ({started_by}): {selection}")
        if status == "FAILURE":
            found += [f"    {message}" for message in failure_messages(dsn, run_id)]
    return "\n".join(found)


def failure_messages(dsn: str, run_id: str) -> list[str]:
    """The messages of a run's failed steps and of its failure, as its event log has them."""
    events = rows(
        dsn,
        "SELECT event FROM event_logs WHERE run_id = '" + run_id.replace("'", "") + "'"
        " AND dagster_event_type IN ('STEP_FAILURE', 'PIPELINE_FAILURE') ORDER BY id",
    )
    return [(json.loads(event).get("user_message") or "")[:600].replace("\n", " ") for (event,) in events]
