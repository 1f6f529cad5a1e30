"""A fresh Dagster instance database per deploy test, on the session's PostgreSQL server."""

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg2
import pytest


@pytest.fixture
def database(postgres_server: str) -> Iterator[str]:
    """A fresh database per test, so no run history leaks between tests (or CI runs)."""
    name = f"dagster_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(postgres_server)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    url = urlsplit(postgres_server)
    yield url._replace(path=f"/{name}").geturl()
    admin.cursor().execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()
