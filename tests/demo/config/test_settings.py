"""The settings layer: the one reader of the environment, documented in .env.example."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from config.settings import PROJECT_ROOT, Settings

# The project's packages (pyproject.toml), less `instance/`, which sets Dagster's own variables
# (DAGSTER_HOME, DAGSTER_EVENT_BATCH_SIZE) for Dagster. tasks.py and tests/support/dev_server.py start
# processes and pass them an environment, which is not reading configuration.
PACKAGES = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"][
    "packages"
]
PIPELINE_PACKAGES = tuple(package for package in PACKAGES if package != "instance" and not package.endswith(".py"))


def documented_variables() -> set[str]:
    text = (PROJECT_ROOT / ".env.example").read_text()
    return set(re.findall(r"^# (DATAOPS_[A-Z0-9_]+|DAGSTER_HOME)=", text, flags=re.MULTILINE))


def test_every_setting_is_documented_in_env_example_and_nothing_else_is():
    fields = {
        field.validation_alias if isinstance(field.validation_alias, str) else f"DATAOPS_{name.upper()}"
        for name, field in Settings.model_fields.items()
    }
    assert documented_variables() == fields


def test_only_the_settings_module_reads_the_environment():
    readers = [
        path.relative_to(PROJECT_ROOT).as_posix()
        for package in PIPELINE_PACKAGES
        for path in (PROJECT_ROOT / package).rglob("*.py")
        # Reads only: handing libpq its password file (warehouse/catalog_passwords.py) sets a variable.
        if re.search(r"os\.environ(?!\[\w+\] = )|os\.getenv|getenv\(", path.read_text()) and path.name != "settings.py"
    ]
    assert readers == []


def test_environment_variables_and_env_file_feed_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DATAOPS_ENV", "test")
    monkeypatch.setenv("DATAOPS_DATA_DIR", str(tmp_path))
    settings = Settings(_env_file=None)
    assert (settings.env, settings.dbt_target) == ("test", "test")
    assert settings.warehouse == tmp_path / "warehouse" / "test.duckdb"
    assert settings.prod_warehouse == tmp_path / "warehouse" / "prod.duckdb"

    env_file = tmp_path / ".env"
    env_file.write_text("DATAOPS_ENV=prod\nDATAOPS_SEED_DAYS=3\n")
    monkeypatch.delenv("DATAOPS_ENV")
    from_file = Settings(_env_file=env_file)
    assert (from_file.env, from_file.seed_days, from_file.warehouse.name) == ("prod", 3, "prod.duckdb")


def test_an_unknown_environment_is_refused(monkeypatch):
    monkeypatch.setenv("DATAOPS_ENV", "staging")
    with pytest.raises(ValueError, match=r"dev.*test.*prod"):
        Settings(_env_file=None)


def test_paths_are_absolute_whatever_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None, data_dir=Path("relative"))
    assert settings.data_dir == tmp_path / "relative" and settings.warehouse.is_absolute()


@pytest.mark.parametrize(
    ("command", "variables", "said"),
    [
        (
            ["replay", "--days", "1"],
            {"DATAOPS_ARCHIVE_RETENTION_DAYS": "0", "DATAOPS_LAKE_SNAPSHOT_RETENTION_DAYS": "0"},
            [
                "settings: DATAOPS_ARCHIVE_RETENTION_DAYS=0: input should be greater than or equal to 1",
                "DATAOPS_LAKE_SNAPSHOT_RETENTION_DAYS=0: input should be greater than or equal to 1",
            ],
        ),
        (
            ["metrics-exporter"],
            {"DATAOPS_METRICS_PORT": "port"},
            [
                "settings: DATAOPS_METRICS_PORT=port: input should be a valid integer, "
                "unable to parse string as an integer"
            ],
        ),
        (
            ["python", "-m", "resources.pools"],
            {"DATAOPS_BACKEND": "ducklake"},
            ["settings: backend=ducklake needs DATAOPS_LAKE_CATALOG (host=... port=... dbname=... user=...)"],
        ),
    ],
    ids=["replay", "metrics-exporter", "pools"],
)
def test_a_setting_a_command_cannot_use_is_a_line_naming_it_not_a_traceback(tmp_path, command, variables, said):
    program = Path(sys.executable).with_name(command[0])
    environment = {**os.environ, "DATAOPS_DATA_DIR": str(tmp_path), **variables}
    done = subprocess.run(
        [str(program), *command[1:]], cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == said
    assert "Traceback" not in done.stdout + done.stderr
