"""Shared fixtures: an isolated data folder per test on the synthetic project the core's tests run on
(tests/synthetic/), the dbt manifests once per session, a warehouse on either backend (a module
marked ``backends`` runs once per backend), PostgreSQL servers and an S3-compatible store."""

import http.server
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import pytest

from config.datasets import DatasetConfig, load_datasets
from config.settings import LAKE_PASSWORD_VARIABLE, S3_SECRET_VARIABLE, Settings
from ingestion.landing import LandedFile
from ingestion.pipeline import Delivery, FileIngestion, ingest_files
from resources.dbt import ensure_manifest
from tests.support import object_store as object_store_module
from tests.support import postgres, synthetic
from tests.support.promtool import find_or_fetch
from tests.synthetic import feed
from warehouse.ducklake import LakeLocation
from warehouse.lake import forget_shared_lakes, quarantine_lake

BACKENDS = ("duckdb", "ducklake")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Modules marked `backends` run every test on the file and on the lake backend.
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("backends"):
        # What the UI shows or a process logs is the same on both: once is enough.
        only_file = metafunc.definition.get_closest_marker("backend_independent") is not None
        metafunc.parametrize("backend", BACKENDS[:1] if only_file else BACKENDS, indirect=True, scope="module")


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "duckdb")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The DSN of a running server: the one `.ci/run` started, or one of our own."""
    if given := os.environ.get("DATAOPS_TEST_POSTGRES"):
        yield given
        return
    data_dir = Path(tempfile.mkdtemp(prefix="dataops-pg-"))
    try:
        yield postgres.start(data_dir)
    finally:
        postgres.stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def database(postgres_server: str) -> Iterator[str]:
    """A fresh database on the session's server per test (a Dagster instance's, say), so no run
    history leaks between tests (or CI runs)."""
    name = postgres.create_database(postgres_server, prefix="dagster")
    yield urlsplit(postgres_server)._replace(path=f"/{name}").geturl()
    postgres.drop_database(postgres_server, name)


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[tuple[Path, str]]:
    """A server for one test module alone, as (data folder, DSN): for tests that stop it or fill its
    connections, which the shared server (serving the other test session too) must never see."""
    with postgres.own_server() as server:
        yield server


@pytest.fixture
def own_lake(
    own_postgres: tuple[Path, str], make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings of a new lake whose catalog is on the module's own server."""
    _, dsn = own_postgres
    monkeypatch.setenv(LAKE_PASSWORD_VARIABLE, postgres.PASSWORD)
    catalog = postgres.conninfo(dsn, postgres.create_database(dsn, "lake"))
    return make_settings(backend="ducklake", lake_catalog=catalog)


@pytest.fixture(scope="session")
def lake_catalogs(postgres_server: str) -> Iterator[Callable[..., dict[str, str]]]:
    """Makes a fresh catalog database on the server; returns the settings of a lake on it.

    The password travels as in production: in the environment, read when a connection opens.
    """
    created: list[str] = []
    saved = os.environ.get(LAKE_PASSWORD_VARIABLE)
    os.environ[LAKE_PASSWORD_VARIABLE] = postgres.PASSWORD

    def new(copy_of: str | None = None) -> dict[str, str]:
        """An empty catalog, or a copy of the catalog whose DSN is ``copy_of``."""
        template = postgres.database_of(copy_of) if copy_of else None
        name = postgres.create_database(postgres_server, prefix="lake", copy_of=template)
        created.append(name)
        return {"backend": "ducklake", "lake_catalog": postgres.conninfo(postgres_server, name)}

    yield new
    if saved is None:
        os.environ.pop(LAKE_PASSWORD_VARIABLE, None)
    else:
        os.environ[LAKE_PASSWORD_VARIABLE] = saved
    for name in created:
        postgres.drop_database(postgres_server, name)


@pytest.fixture(scope="session")
def object_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object_store_module.ObjectStoreServer]:
    """A local S3-compatible server for the session; the secret key travels in the environment."""
    saved = os.environ.get(S3_SECRET_VARIABLE)
    os.environ[S3_SECRET_VARIABLE] = object_store_module.SECRET_ACCESS_KEY
    with object_store_module.running(tmp_path_factory.mktemp("s3") / "moto.log") as server:
        yield server
    if saved is None:
        os.environ.pop(S3_SECRET_VARIABLE, None)
    else:
        os.environ[S3_SECRET_VARIABLE] = saved


@pytest.fixture(scope="module")
def backend_overrides(backend: str, request: pytest.FixtureRequest) -> Callable[[], dict[str, str]]:
    """Settings of a new, empty warehouse on the module's backend (none for the file: its path is per test)."""
    if backend == "duckdb":
        return dict
    return request.getfixturevalue("lake_catalogs")


@pytest.fixture
def copy_warehouse(request: pytest.FixtureRequest) -> Callable[[Settings, Path], Settings]:
    """A private copy of a built state (data folder and warehouse) under a new folder, on its backend.

    The file backend's warehouse is in the data folder. A lake's catalog is copied as a PostgreSQL
    database (CREATE DATABASE … TEMPLATE, far quicker than loading it again), its files with the data
    folder, and the copy's catalog is pointed at its own files: nothing is shared with the original.
    """

    def copy(built: Settings, root: Path) -> Settings:
        """``built`` must use the default paths under its data folder (as every fixture's state does)."""
        shutil.copytree(built.data_dir, root / "data")
        if not built.uses_lake:
            return Settings(env=built.env, data_dir=root / "data")
        # A template database must have no connections: this process's shared lake instances
        # (warehouse/lake.py) keep theirs until dropped.
        forget_shared_lakes()
        copied = request.getfixturevalue("lake_catalogs")(copy_of=built.lake_catalog)
        settings = Settings(env=built.env, data_dir=root / "data", **copied)
        quarantine = quarantine_lake(LakeLocation(settings.lake_catalog or "", settings.lake_data_path or ""))
        postgres.psql(
            request.getfixturevalue("postgres_server"),
            "-c",
            f"UPDATE ducklake_metadata SET value = '{settings.lake_data_path}' WHERE key = 'data_path'; "
            # Quarantine's own lake, once a load has made it (warehouse/lake.py).
            f"DO $$ BEGIN IF to_regclass('{quarantine.metadata_schema}.ducklake_metadata') IS NOT NULL THEN "
            f"UPDATE {quarantine.metadata_schema}.ducklake_metadata SET value = '{quarantine.data_path}' "
            "WHERE key = 'data_path'; END IF; END $$;",
            database=postgres.database_of(settings.lake_catalog or ""),
        )
        return settings

    return copy


def ingest_in(folder: Path, datasets: dict[str, DatasetConfig], dataset: str, day: str) -> Callable[..., FileIngestion]:
    """``ingest``: ``run(data, dataset, partition_key)`` lands ``data`` in ``folder`` and ingests it."""

    def run(data: bytes, dataset: str = dataset, partition_key: str | None = day) -> FileIngestion:
        config = datasets[dataset]
        name = config.file_name_for(date.fromisoformat(partition_key) if partition_key else None)
        path = folder / name
        path.write_bytes(data)
        delivery = Delivery(LandedFile(dataset, path, partition_key), f"{dataset}/{name}")
        [result] = ingest_files(config, [delivery], datetime(2026, 1, 1, tzinfo=UTC), "test-run")
        return result

    return run


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """Outside `dagster dev` nothing parses the dbt project for us (see resources/dbt.py)."""
    return ensure_manifest()


@pytest.fixture(scope="session")
def synthetic_dbt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic project's dbt project, built and parsed once per session (tests/support/synthetic.py)."""
    return synthetic.build_dbt_project(tmp_path_factory.mktemp("synthetic") / "dbt_project")


@pytest.fixture
def make_synthetic(
    tmp_path: Path, backend_overrides: Callable[[], dict[str, str]], synthetic_dbt: Path
) -> Callable[..., Settings]:
    """Settings of a test's own data folder on the synthetic project (the module's backend)."""
    warehouse = backend_overrides()

    def make(**overrides: object) -> Settings:
        content = synthetic.content_settings(synthetic_dbt)
        return Settings(**{"env": "test", "data_dir": tmp_path / "data", **warehouse, **content, **overrides})

    return make


@pytest.fixture
def synthetic_settings(make_synthetic: Callable[..., Settings]) -> Settings:
    return make_synthetic()


@pytest.fixture
def make_settings(make_synthetic: Callable[..., Settings]) -> Callable[..., Settings]:
    """Settings of a test's own data folder. The core's tests run on the synthetic project, never on
    the project's own content (tests/demo/conftest.py makes the demo's tests run on the demo)."""
    return make_synthetic


@pytest.fixture(scope="session")
def datasets() -> dict[str, DatasetConfig]:
    """The synthetic project's datasets."""
    return load_datasets(synthetic.DATASETS_PATH)


@pytest.fixture(scope="session")
def orders_day_csv() -> bytes:
    """The synthetic feed's first day of orders, as it is delivered (feed.FIRST_DAY)."""
    return feed.csv_bytes(feed.orders_frame(feed.FIRST_DAY))


@pytest.fixture
def ingest(tmp_path: Path, datasets: dict[str, DatasetConfig]) -> Callable[..., FileIngestion]:
    """Write ``data`` as a landed file of ``dataset`` and ingest it (no warehouse, no Dagster); by
    default as the synthetic feed's orders of its first day."""
    return ingest_in(tmp_path, datasets, "orders", feed.FIRST_DAY.isoformat())


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def webhook_server():
    """A real HTTP server on a free local port that records the JSON bodies POSTed to it."""
    handler = type("Recorder", (_Recorder,), {"received": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler.received
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def promtool() -> Path:
    """Prometheus's promtool (tests/support/promtool.py): DATAOPS_PROMTOOL, on PATH, or fetched once."""
    return find_or_fetch(Path.home() / ".cache" / "dataops-ci-promtool")
