"""The dbt files generated from the datasets' contracts: current, complete, and true to the warehouse."""

import json
import subprocess
from datetime import date
from types import SimpleNamespace

import duckdb
import pandera.polars as pa
import pytest

from cli import contract
from config.datasets import load_datasets
from config.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings
from contract.dbt_sources import (
    CHANGED_DAYS_META,
    COMMAND,
    RAW_SOURCE,
    ContractError,
    sources_document,
    sql_description,
    stale_files,
)
from demo.nycflights import day_csv, fed, source_bytes
from ingestion.changes import CHANGED_DAYS
from ingestion.lineage import PARTITION_DATE
from ingestion.storage import commit_results
from resources.dbt import DBT_EXECUTABLE
from warehouse.layout import raw_table


def test_the_generated_dbt_files_are_what_the_contract_says():
    stale = stale_files(load_datasets(Settings().datasets_path), DBT_PROJECT_DIR)
    assert stale == [], (
        f"generated dbt files are stale: {[str(p.relative_to(PROJECT_ROOT)) for p in stale]}; run `{COMMAND}`"
    )


def test_the_check_command_says_so_when_nothing_is_stale(capsys):
    assert contract.main(["--check"]) == 0
    said = capsys.readouterr().out
    assert said == "contract: the generated dbt files match the dataset config; nothing to regenerate\n"


def test_every_dataset_is_a_dbt_source_keyed_as_its_raw_asset(dbt_manifest):
    datasets = load_datasets(Settings().datasets_path)
    sources = {
        node["name"]: node
        for node in json.loads(dbt_manifest.read_text())["sources"].values()
        if node["source_name"] == RAW_SOURCE
    }
    assert set(sources) == set(datasets)
    for name, source in sources.items():
        assert source["config"]["meta"]["dagster"]["asset_key"] == ["raw", name]
        assert source["description"] == datasets[name].description


def test_each_declared_column_type_is_the_type_of_the_real_raw_table(ingest, datasets, tmp_path):
    """The types come from the same Polars-to-DuckDB path that creates the tables: load real files
    of every dataset the demo data has and compare."""
    declared = {table["name"]: table for table in sources_document(datasets)["sources"][0]["tables"]}
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        connection.execute("CREATE SCHEMA raw; CREATE SCHEMA quarantine; CREATE SCHEMA meta")
        for dataset in [*fed(datasets, "daily"), *fed(datasets, "reference")]:
            if dataset.kind == "daily":
                result = ingest(day_csv(dataset.name, date(2013, 1, 1)), dataset.name, "2013-01-01")
            else:
                result = ingest(source_bytes(dataset.name), dataset.name, None)
            commit_results(connection, dataset, [result])
            real = [
                (name, dtype.lower())
                for name, dtype, *_ in connection.execute(f"DESCRIBE {raw_table(dataset.name)}").fetchall()
            ]
            table = declared[dataset.name]
            assert real == [(column["name"], column["data_type"]) for column in table["columns"]], dataset.name


def test_a_daily_dataset_s_key_is_tested_on_the_days_a_build_rebuilds(datasets):
    tables = {table["name"]: table for table in sources_document(datasets)["sources"][0]["tables"]}
    [flights_key] = tables["flights"]["data_tests"]
    test = flights_key["unique_combination_of_columns"]
    assert test["arguments"]["columns"] == list(datasets["flights"].primary_key)
    assert test["config"] == {"meta": {CHANGED_DAYS_META: PARTITION_DATE}}
    [carrier] = [column for column in tables["airlines"]["columns"] if column["name"] == "carrier"]
    assert carrier["data_tests"] == ["unique", "not_null"], "reference data is small: tested whole"


class Gates(pa.DataFrameModel):
    gate: str = pa.Field(description="Gate code")
    terminal: str


def test_a_column_without_a_description_is_named():
    dataset = SimpleNamespace(
        name="gates",
        kind="reference",
        description="Gates.",
        primary_key=("gate",),
        schema_class=Gates,
        schema_ref="gates.Gates",
    )
    with pytest.raises(ContractError, match=r"gates.Gates: column\(s\) terminal have no description"):
        sources_document({"gates": dataset})


def test_a_staging_model_says_what_it_is_in_its_first_lines():
    assert sql_description("-- Departures,\n-- one a row.\nselect 1", "stg_x") == "Departures, one a row."
    with pytest.raises(ContractError, match="stg_x: its SQL must open with a `--` comment"):
        sql_description("select 1", "stg_x")


def test_a_daily_key_test_reads_only_the_days_a_build_rebuilds_in_any_environment(tmp_path):
    """dbt compiles the generated key test to a filter on the changed days of the warehouse it
    runs in (macros/dataops/changed_days.sql), in every environment; the test's config names no database,
    so slim CI does not see it as changed in an environment other than prod's."""
    compiled = {}
    for env in ("dev", "prod"):
        variables = {"warehouse_path": str(tmp_path / f"{env}.duckdb"), "changed_days_relation": CHANGED_DAYS}
        selection = ["--select", "unique_key_raw_flights", "--target", env, "--vars", json.dumps(variables)]
        places = ["--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / env)]
        subprocess.run(
            [DBT_EXECUTABLE, "compile", "--quiet", *selection, *places],
            cwd=DBT_PROJECT_DIR,
            check=True,
        )
        [sql] = (tmp_path / env).rglob("unique_key_raw_flights.sql")
        compiled[env] = sql.read_text()
    for env, sql in compiled.items():
        assert f'from "{env}"."raw"."flights" where {PARTITION_DATE} in (select day from {env}.{CHANGED_DAYS}' in sql
