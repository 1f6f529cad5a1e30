"""One real pipeline build (reference data + two days) per backend, shared by the operations tests.

Tests that change or delete things work on their own copy of its data folder (``built_copy``).
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from cli import replay
from cli.backfill import run_backfill
from config.settings import LAKE_BACKEND, Settings
from definitions import build_definitions


@dataclass(frozen=True)
class Built:
    settings: Settings
    instance: dg.DagsterInstance
    defs: dg.Definitions


@pytest.fixture(scope="session")
def builds(dbt_manifest, tmp_path_factory, request) -> Callable[[str], Built]:
    """The build on a backend, made the first time a module asks for it."""
    made: dict[str, Built] = {}

    def on(backend: str) -> Built:
        if backend not in made:
            lake = request.getfixturevalue("lake_catalogs")() if backend == LAKE_BACKEND else {}
            settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("built") / "data", **lake)
            replay.main(["--reference", "--days", "2"], settings=settings)
            instance = dg.DagsterInstance.ephemeral()
            defs = build_definitions(settings)
            assert run_backfill(settings, instance, defs=defs).success
            made[backend] = Built(settings, instance, defs)
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
