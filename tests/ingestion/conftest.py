from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cli.nycflights import day_csv
from ingestion.landing import LandedFile
from ingestion.pipeline import FileIngestion, ingest_file

DAY = date(2013, 1, 1)


@pytest.fixture(scope="session")
def flights_day_csv() -> bytes:
    """The real 2013-01-01 flights file (842 records), as `replay` delivers it."""
    return day_csv("flights", DAY)


@pytest.fixture
def ingest(tmp_path: Path, datasets) -> Callable[..., FileIngestion]:
    """Write ``data`` as a landed file of ``dataset`` and ingest it."""

    def run(data: bytes, dataset: str = "flights", partition_key: str | None = DAY.isoformat()) -> FileIngestion:
        config = datasets[dataset]
        name = config.file_name_for(date.fromisoformat(partition_key) if partition_key else None)
        path = tmp_path / name
        path.write_bytes(data)
        landed = LandedFile(dataset, path, partition_key)
        return ingest_file(config, landed, f"{dataset}/{name}", datetime(2026, 1, 1, tzinfo=UTC), "test-run")

    return run
