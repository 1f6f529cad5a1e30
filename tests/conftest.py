"""Shared fixtures: an isolated data folder per test, the dbt manifest once per session."""

from collections.abc import Callable
from pathlib import Path

import pytest

from config.datasets import DatasetConfig, load_datasets
from resources.dbt import ensure_manifest
from resources.settings import Settings

DATASETS_FILE = Path(__file__).resolve().parent.parent / "config" / "datasets.yaml"


@pytest.fixture(scope="session")
def datasets() -> dict[str, DatasetConfig]:
    return load_datasets(DATASETS_FILE)


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """Outside `dagster dev` nothing parses the dbt project for us (see resources/dbt.py)."""
    return ensure_manifest()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        return Settings(**{"env": "test", "data_dir": tmp_path / "data", **overrides})

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()
