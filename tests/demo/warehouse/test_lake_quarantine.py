"""On the lake, quarantined rows live in a DuckLake of their own, out of the readers' reach.

Its catalog is a PostgreSQL schema the readers' role has no privilege on, and its files are under a
folder of their own; the pipeline's sessions attach it as catalog ``quarantine``, so the same SQL
(``quarantine.flights``) works on both backends. A real lake on a real PostgreSQL, a real reader role.
"""

import duckdb
import pytest

from config.settings import Settings
from resources.warehouse import WarehouseResource
from tests.support import postgres
from warehouse.catalog import table_exists, tables_in
from warehouse.ducklake import LakeConnectionError, LakeLocation, attach
from warehouse.lake import quarantine_lake
from warehouse.layout import QUARANTINE, quarantine_table

READER_PASSWORD = "reader-test-only"


@pytest.fixture
def lake_settings(tmp_path, lake_catalogs) -> Settings:
    return Settings(env="dev", data_dir=tmp_path / "data", **lake_catalogs())


def lake_schemas(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute("SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()")
    return {name for (name,) in rows.fetchall()}


def reject_a_row(settings: Settings, text: str = "a record's contents") -> None:
    with WarehouseResource.for_settings(settings).writer() as connection:
        connection.execute(f"CREATE TABLE IF NOT EXISTS {quarantine_table('flights')} (raw_record VARCHAR)")
        connection.execute(f"INSERT INTO {quarantine_table('flights')} VALUES (?)", [text])


def test_quarantine_is_a_lake_of_its_own_that_the_pipeline_reads_as_a_schema(lake_settings):
    reject_a_row(lake_settings)
    warehouse = WarehouseResource.for_settings(lake_settings)
    with warehouse.read_only() as connection:
        assert connection.execute(f"SELECT raw_record FROM {quarantine_table('flights')}").fetchall() == [
            ("a record's contents",)
        ]
        assert tables_in(connection, QUARANTINE) == ["flights"] and table_exists(connection, "quarantine.flights")
        assert QUARANTINE not in lake_schemas(connection), "not a schema of the published lake"
        [(kind,)] = connection.execute(
            "SELECT type FROM duckdb_databases() WHERE database_name = ?", [QUARANTINE]
        ).fetchall()
        assert kind == "ducklake"


def test_the_readers_role_cannot_reach_quarantined_rows(lake_settings, postgres_server):
    reject_a_row(lake_settings)
    with WarehouseResource.for_settings(lake_settings).writer() as connection:
        connection.execute("CREATE TABLE raw.published AS SELECT 42 AS answer")
    database = postgres.database_of(lake_settings.lake_catalog or "")
    reader_catalog = postgres.create_lake_reader(postgres_server, database, READER_PASSWORD)
    reader = duckdb.connect(config={"extension_directory": str(lake_settings.duckdb_extension_dir)})
    attach(
        reader, LakeLocation(reader_catalog, lake_settings.lake_data_path or "", READER_PASSWORD), "lake", True, None
    )
    reader.execute("USE lake")
    assert reader.execute("SELECT answer FROM raw.published").fetchall() == [(42,)], "the published data is readable"
    with pytest.raises(duckdb.Error):
        reader.execute(f"SELECT * FROM {quarantine_table('flights')}")
    # Even attaching the quarantine lake by name: PostgreSQL refuses the role its catalog.
    as_reader = quarantine_lake(LakeLocation(reader_catalog, lake_settings.lake_data_path or "", READER_PASSWORD))
    with pytest.raises((LakeConnectionError, duckdb.Error)) as refused:
        attach(reader, as_reader, QUARANTINE, True, None)
        reader.execute(f"SELECT * FROM {quarantine_table('flights')}")
    assert "permission denied" in str(refused.value).lower(), refused.value
    reader.close()


def test_a_lake_with_quarantine_as_a_schema_is_moved_on_its_next_write(lake_settings):
    """Lakes made before quarantine had a lake of its own: the next writer moves its rows there."""
    location = WarehouseResource.for_settings(lake_settings).chosen().lake
    old = duckdb.connect(config={"extension_directory": str(lake_settings.duckdb_extension_dir)})
    attach(old, location, "dev", read_only=False, store=None)
    old.execute("CREATE SCHEMA dev.quarantine")
    old.execute("CREATE TABLE dev.quarantine.flights AS SELECT 'kept' AS raw_record")
    old.close()
    reject_a_row(lake_settings, "new")
    with WarehouseResource.for_settings(lake_settings).read_only() as connection:
        rows = connection.execute(f"SELECT raw_record FROM {quarantine_table('flights')} ORDER BY 1").fetchall()
        assert rows == [("kept",), ("new",)]
        assert QUARANTINE not in lake_schemas(connection)
