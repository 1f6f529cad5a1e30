"""The demo pack's fixtures: its tests run on the demo's content (the NYC flights datasets, models and
analytics in config/, schemas/, dbt_project/ and analytics/), where the core's run on the synthetic
project (tests/conftest.py), and start from one real build of its first days per backend."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from cli.backfill import BackfillReport, run_backfill
from config.datasets import DatasetConfig, load_datasets
from config.settings import LAKE_BACKEND, PROJECT_ROOT, Settings
from definitions import build_definitions
from demo import replay
from demo.nycflights import day_csv
from ingestion.pipeline import FileIngestion
from tests.conftest import ingest_in


@pytest.fixture
def make_settings(tmp_path: Path, backend_overrides: Callable[[], dict[str, str]]) -> Callable[..., Settings]:
    warehouse = backend_overrides()

    def make(**overrides: object) -> Settings:
        return Settings(**{"env": "test", "data_dir": tmp_path / "data", **warehouse, **overrides})

    return make


BUILT_DAYS = 3


@dataclass(frozen=True)
class Built:
    """The reference data and the first ``BUILT_DAYS`` real days, delivered by ``replay`` and loaded
    and built by ``backfill``: its settings, the Dagster instance of its runs, its report."""

    settings: Settings
    instance: dg.DagsterInstance
    defs: dg.Definitions
    report: BackfillReport


@pytest.fixture(scope="session")
def builds(dbt_manifest, tmp_path_factory, request) -> Callable[[str], Built]:
    """The build on a backend, made the first time a module of this worker asks for it.

    Shared: read it, and its instance; a test that changes anything works on ``built_copy``.
    """
    made: dict[str, Built] = {}

    def on(backend: str) -> Built:
        if backend not in made:
            lake = request.getfixturevalue("lake_catalogs")() if backend == LAKE_BACKEND else {}
            settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("built") / "data", **lake)
            replay.main(["--reference", "--days", str(BUILT_DAYS)], settings=settings)
            instance = dg.DagsterInstance.ephemeral()
            defs = build_definitions(settings)
            report = run_backfill(settings, instance, defs=defs)
            assert report.success, {label: result.success for label, result in report.results.items()}
            made[backend] = Built(settings, instance, defs, report)
        return made[backend]

    return on


@pytest.fixture(scope="module")
def built(builds: Callable[[str], Built], backend: str) -> Built:
    """The build on the module's backend (the file, unless the module is marked ``backends``)."""
    return builds(backend)


@pytest.fixture
def built_copy(built: Built, tmp_path: Path, copy_warehouse: Callable[[Settings, Path], Settings]) -> Settings:
    """Settings for a private copy of the built data folder (warehouse, archive, everything)."""
    return copy_warehouse(built.settings, tmp_path)


DATASETS_PATH = PROJECT_ROOT / "config" / "datasets"


@pytest.fixture(scope="session")
def datasets() -> dict[str, DatasetConfig]:
    return load_datasets(DATASETS_PATH)


@pytest.fixture(scope="session")
def flights_day_csv() -> bytes:
    """The real 2013-01-01 flights file (842 records), as `replay` delivers it."""
    return day_csv("flights", date(2013, 1, 1))


@pytest.fixture
def ingest(tmp_path: Path, datasets: dict[str, DatasetConfig]) -> Callable[..., FileIngestion]:
    """Write ``data`` as a landed file of ``dataset`` and ingest it (no warehouse, no Dagster)."""
    return ingest_in(tmp_path, datasets, "flights", "2013-01-01")
