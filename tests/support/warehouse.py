"""Reading the warehouse in tests, whichever the backend: through the same resource as the pipeline."""

from __future__ import annotations

from typing import Any

from resources.settings import Settings
from resources.warehouse import WarehouseResource


def query(settings: Settings, sql: str, parameters: list[Any] | None = None) -> list[tuple]:
    with WarehouseResource.for_settings(settings).read_only() as connection:
        return connection.execute(sql, parameters or []).fetchall()
