"""The lifecycle clean-up on a real built warehouse, with aged files and rows staged around it."""

import os
import shutil
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pytest

from assets.operations import CLEANUP
from cli import cleanup
from config.settings import Settings
from definitions import build_definitions
from ingestion.landing import manifest_of
from operations.lifecycle import apply_cleanup, plan_cleanup
from publishing.marts import VERSIONS, AuditedModel, keep_failed
from resources.operations import OperationsResource
from resources.warehouse import WarehouseResource

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=400)
PUBLISHED = ("raw.flights", "raw.weather", "raw.planes", "marts.fct_flights", "analytics.carrier_scorecard")


def age(path, when=LONG_AGO):
    os.utime(path, (when.timestamp(), when.timestamp()))


def counts(path, tables):
    with duckdb.connect(str(path), read_only=True) as connection:
        return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] for table in tables}


@pytest.fixture
def staged(built_copy: Settings):
    """Around the built (test) warehouse: old and new dev files, an old prod copy, the old prod file
    itself, a superseded old delivery, and quarantine rows loaded long ago and just now."""
    settings = built_copy
    folder = settings.warehouse.parent
    old_dev, fresh_dev, old_prod_copy = (
        folder / "dev-alice.duckdb",
        folder / "dev-bob.duckdb",
        folder / "prod-copy.duckdb",
    )
    for path, env in ((old_dev, "dev"), (fresh_dev, "dev"), (old_prod_copy, "prod"), (settings.prod_warehouse, "prod")):
        with WarehouseResource(path=str(path), env=env).writer():
            pass
    for path in (old_dev, old_prod_copy, settings.prod_warehouse):
        age(path)

    [newest] = (settings.archive / "flights" / "2013-01-01").glob("*__flights_2013-01-01.csv")
    superseded = newest.with_name(f"{(LONG_AGO - timedelta(days=1)):%Y%m%dT%H%M%S%fZ}__flights_2013-01-01.csv")
    shutil.copy(newest, superseded)
    renamed_newest = newest.with_name(f"{LONG_AGO:%Y%m%dT%H%M%S%fZ}__flights_2013-01-01.csv")
    newest.rename(renamed_newest)  # old too, but the newest delivery: the published rows' source
    for delivery in (superseded, renamed_newest):  # as a feed with sidecar manifests leaves them
        manifest_of(delivery).write_text('{"rows": 842, "sha256": "..."}')

    with WarehouseResource(path=str(settings.warehouse), env="test").writer() as connection:
        connection.execute(
            """
            INSERT INTO quarantine.flights (_partition_date, _source_file, _row_number, failed_columns, failed_checks,
                                            reason, raw_record, _loaded_at, _run_id)
            SELECT DATE '2013-01-01', 'flights_2013-01-01.csv', n, ['dep_delay'], ['in_range'], 'staged for the test',
                   'x', CASE WHEN n <= 3 THEN ?::TIMESTAMPTZ ELSE now() END, 'test'
            FROM range(1, 6) AS t(n)
        """,
            [LONG_AGO],
        )
        old_audit, recent_audit = keep_failed_versions(connection)
    return (
        settings,
        {
            "old_dev": old_dev,
            "fresh_dev": fresh_dev,
            "old_prod_copy": old_prod_copy,
            "superseded": superseded,
            "newest": renamed_newest,
        },
        (old_audit, recent_audit),
    )


def keep_failed_versions(connection: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """Two versions of fct_flights that failed their audit, kept: one long ago, one just now."""
    model = AuditedModel("fct_flights", "audit", "marts", "flight_date")
    connection.execute("CREATE SCHEMA IF NOT EXISTS audit")
    connection.execute("CREATE TABLE audit.fct_flights AS SELECT * FROM marts.fct_flights LIMIT 10")
    old = keep_failed(connection, [model], "0ld00000-run", ["unique_fct_flights_flight_id"])
    recent = keep_failed(connection, [model], "12ece000-run", ["unique_fct_flights_flight_id"])
    connection.execute(f"UPDATE {VERSIONS} SET recorded_at = ? WHERE kept_as = ?", [LONG_AGO, old])
    connection.execute("DROP TABLE audit.fct_flights")
    return old, recent


def schemas(path):
    with duckdb.connect(str(path), read_only=True) as connection:
        return {
            name for (name,) in connection.execute("SELECT schema_name FROM information_schema.schemata").fetchall()
        }


def test_the_plan_lists_exactly_what_the_policy_lets_go(staged):
    settings, paths, (old_audit, _) = staged
    policy = OperationsResource.from_settings(settings).lifecycle_policy()
    warehouse = WarehouseResource.for_settings(settings)

    plan = plan_cleanup(policy, warehouse, NOW)

    assert {r.target for r in plan.of_kind("warehouse file")} == {str(paths["old_dev"])}
    assert {r.target for r in plan.of_kind("archived file")} == {str(paths["superseded"])}
    [quarantine] = plan.of_kind("quarantine rows")
    assert (quarantine.target, quarantine.rows) == ("quarantine.flights", 3)
    [failed_audit] = plan.of_kind("failed audit version")
    assert failed_audit.target == old_audit and "unique_fct_flights_flight_id" in failed_audit.reason
    kept = "\n".join(plan.kept)
    assert f"{settings.prod_warehouse}: the production warehouse" in kept
    assert f"{paths['old_prod_copy']}: records environment prod" in kept


def test_a_dry_run_deletes_nothing_and_the_real_run_only_what_was_listed(staged, capsys):
    settings, paths, (old_audit, recent_audit) = staged
    published_before = counts(settings.warehouse, PUBLISHED)
    quarantined_before = counts(settings.warehouse, ["quarantine.flights"])["quarantine.flights"]

    assert cleanup.main([], settings=settings) == 0
    out = capsys.readouterr().out
    assert f"would remove: warehouse file {paths['old_dev']}" in out and "dry run" in out
    assert all(path.exists() for path in paths.values())
    assert counts(settings.warehouse, ["quarantine.flights"])["quarantine.flights"] == quarantined_before
    assert {old_audit, recent_audit} <= schemas(settings.warehouse)

    assert cleanup.main(["--apply"], settings=settings) == 0
    assert not paths["old_dev"].exists() and not paths["superseded"].exists()
    assert not manifest_of(paths["superseded"]).exists(), "a delivery goes with its manifest"
    assert manifest_of(paths["newest"]).exists()
    assert paths["fresh_dev"].exists() and paths["old_prod_copy"].exists() and paths["newest"].exists()
    assert settings.prod_warehouse.exists()
    assert counts(settings.warehouse, ["quarantine.flights"])["quarantine.flights"] == quarantined_before - 3
    assert counts(settings.warehouse, PUBLISHED) == published_before
    assert old_audit not in schemas(settings.warehouse) and recent_audit in schemas(settings.warehouse)

    # Kept versions are listed, and one can be discarded at once; nothing else can be dropped that way.
    capsys.readouterr()
    assert cleanup.main(["--kept"], settings=settings) == 0
    listed = capsys.readouterr().out
    assert f"{recent_audit}: version" in listed and "failed unique_fct_flights_flight_id" in listed
    assert "holds fct_flights (10 rows)" in listed and old_audit not in listed
    assert cleanup.main(["--discard", "marts"], settings=settings) == 1
    assert f"marts is not a kept failed version (kept now: {recent_audit})" in capsys.readouterr().err
    assert cleanup.main(["--discard", recent_audit], settings=settings) == 0
    assert recent_audit not in schemas(settings.warehouse)
    assert counts(settings.warehouse, PUBLISHED) == published_before


def test_the_scheduled_asset_cleans_and_records_what_it_removed(staged):
    settings, paths, _ = staged
    defs = build_definitions(settings)
    schedule = next(s for s in defs.schedules if s.job_name == "lifecycle_cleanup_job")
    run_config = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=NOW)).run_requests[0]
    result = defs.resolve_job_def("lifecycle_cleanup_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), run_config=run_config.run_config
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    assert event.asset_key == CLEANUP
    metadata = event.materialization.metadata
    assert metadata["dry_run"].value is False
    assert (metadata["warehouse_files"].value, metadata["archived_files"].value) == (1, 1)
    assert metadata["quarantine_rows"].value == 3
    assert metadata["failed_audit_versions"].value == 1
    assert str(paths["old_dev"]) in {record.data["target"] for record in metadata["removed"].value.records}
    assert not paths["old_dev"].exists()


def test_a_dev_process_cannot_delete_quarantine_rows_from_prod(staged):
    settings, paths, _ = staged
    prod = WarehouseResource(path=str(settings.prod_warehouse), env="prod")
    with prod.writer() as connection:
        connection.execute("CREATE TABLE quarantine.flights AS SELECT ?::TIMESTAMPTZ AS _loaded_at", [LONG_AGO])
    age(settings.prod_warehouse)
    dev = Settings(env="dev", data_dir=settings.data_dir, warehouse_path=settings.prod_warehouse)
    policy = OperationsResource.from_settings(dev).lifecycle_policy()
    warehouse = WarehouseResource.for_settings(dev)
    plan = plan_cleanup(policy, warehouse, NOW)
    assert plan.of_kind("quarantine rows")
    with pytest.raises(PermissionError, match="refusing to write"):
        apply_cleanup(plan, policy, warehouse, NOW)
    assert counts(settings.prod_warehouse, ["quarantine.flights"]) == {"quarantine.flights": 1}
    assert paths["old_dev"].exists() and paths["superseded"].exists(), "refused before deleting anything"
