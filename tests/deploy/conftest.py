"""A fresh Dagster instance database per deploy test, on the session's PostgreSQL server."""

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.support import postgres


@pytest.fixture
def database(postgres_server: str) -> Iterator[str]:
    """A fresh database per test, so no run history leaks between tests (or CI runs)."""
    name = postgres.create_database(postgres_server, prefix="dagster")
    yield urlsplit(postgres_server)._replace(path=f"/{name}").geturl()
    postgres.drop_database(postgres_server, name)
