"""One real pipeline build (reference data + two days), shared by the operations tests.

Tests that change or delete things work on their own copy of its data folder (``built_copy``).
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from cli import replay
from cli.backfill import run_backfill
from definitions import build_definitions
from resources.settings import Settings


@dataclass(frozen=True)
class Built:
    settings: Settings
    instance: dg.DagsterInstance
    defs: dg.Definitions


@pytest.fixture(scope="session")
def built(dbt_manifest, tmp_path_factory) -> Built:
    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("built") / "data")
    replay.main(["--reference", "--days", "2"], settings=settings)
    instance = dg.DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    assert run_backfill(settings, instance, defs=defs).success
    return Built(settings, instance, defs)


@pytest.fixture
def built_copy(built: Built, tmp_path: Path) -> Settings:
    """Settings for a private copy of the built data folder (warehouse, archive, everything)."""
    shutil.copytree(built.settings.data_dir, tmp_path / "data")
    return Settings(env="test", data_dir=tmp_path / "data")
