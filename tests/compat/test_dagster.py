"""compat/: the only private framework names the project uses, each still where it was and doing
what the project relies on. A failure here names what moved, so an upgrade knows what to fix."""

from __future__ import annotations

import ast
import importlib
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from config.settings import PROJECT_ROOT

COMPAT = PROJECT_ROOT / "compat"
# The budget: a template's users inherit every private name at each upgrade.
MOST_PRIVATE_NAMES = 5
# Packages whose underscore modules and names are theirs to move.
FRAMEWORKS = ("dagster", "dagster_dbt", "dbt", "duckdb")
# Project code: everything but the tests, the environments and compat itself.
NOT_PROJECT = {"tests", "compat", ".venv", ".uv-bootstrap", "dbt_project", ".git"}


def _private_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every import from a framework's private module or of a private name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in FRAMEWORKS:
            private_module = any(part.startswith("_") for part in node.module.split("."))
            for alias in node.names:
                if private_module or alias.name.startswith("_"):
                    found.append((node.module, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in FRAMEWORKS and any(part.startswith("_") for part in parts):
                    found.append((alias.name, "*"))
    return found


def compat_names() -> list[tuple[str, str]]:
    return [name for path in sorted(COMPAT.glob("*.py")) for name in _private_imports(path)]


def test_compat_holds_at_most_five_private_names_each_with_its_reason():
    names = compat_names()
    assert 0 < len(names) <= MOST_PRIVATE_NAMES, names
    source = (COMPAT / "dagster.py").read_text().splitlines()
    for _module, name in names:
        [line] = [index for index, text in enumerate(source) if f"import {name}" in text]
        assert source[line - 1].startswith("#"), f"compat/dagster.py: say why {name} is needed, above its import"


def test_no_private_framework_name_outside_compat():
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): names
        for path in PROJECT_ROOT.rglob("*.py")
        if not NOT_PROJECT & set(path.relative_to(PROJECT_ROOT).parts) and (names := _private_imports(path))
    }
    assert offenders == {}, "private framework names belong in compat/ only, each with why"


@pytest.mark.parametrize(("module", "name"), compat_names())
def test_every_compat_name_is_still_where_the_pinned_version_had_it(module, name):
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"{module}.{name} moved with this upgrade ({error}); compat/dagster.py says what it is for")
    assert found is not None


def test_define_asset_job_still_returns_the_class_the_type_hints_name():
    from compat.dagster import UnresolvedAssetJobDefinition

    job = dg.define_asset_job("compat_probe", selection="*")
    assert isinstance(job, UnresolvedAssetJobDefinition), (
        f"dg.define_asset_job now returns {type(job).__name__}: update compat/dagster.py's UnresolvedAssetJobDefinition"
    )


def test_a_time_window_freshness_policy_still_gives_its_windows_back():
    from compat.dagster import TimeWindowFreshnessPolicy

    policy = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=3), warn_window=timedelta(hours=1))
    assert isinstance(policy, TimeWindowFreshnessPolicy), f"FreshnessPolicy.time_window now makes {type(policy)}"
    assert policy.fail_window.to_timedelta() == timedelta(hours=3)
    assert policy.warn_window is not None and policy.warn_window.to_timedelta() == timedelta(hours=1)


def test_check_execution_statuses_the_report_counts_still_exist():
    from compat.dagster import AssetCheckExecutionRecordStatus

    missing = {"SUCCEEDED", "FAILED"} - {status.name for status in AssetCheckExecutionRecordStatus}
    assert not missing, f"AssetCheckExecutionRecordStatus lost {missing}: operations/performance.py counts them"
