"""`cleanup`: apply the lifecycle policy (operations/lifecycle.py) from a terminal.

    cleanup                        list what the policy would remove now (a dry run: nothing is deleted)
    cleanup --apply                remove it
    cleanup --kept                 list the kept versions of the marts that failed their audit
    cleanup --discard audit_failed_<run>
                                   drop one of them now

The same policy and settings as the lifecycle_cleanup asset that the weekly schedule runs; old
runs of the Dagster instance of DAGSTER_HOME too (`python3 tasks.py cleanup` sets it to the UI's).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb

from cli.instance import instance_or_none
from config.settings import Settings, exits_on_settings_error, get_settings
from operations.lifecycle import apply_cleanup, plan_cleanup
from publishing.marts import drop_kept, kept_versions
from resources.operations import OperationsResource
from resources.warehouse import WarehouseResource
from warehouse.catalog import tables_in


@exits_on_settings_error
def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cleanup", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--apply", action="store_true", help="delete what the policy lists (default: dry run)")
    parser.add_argument("--kept", action="store_true", help="list the kept failed versions of the marts")
    parser.add_argument("--discard", metavar="KEPT_VERSION", help="drop a kept failed version (audit_failed_<run>)")
    args = parser.parse_args(argv)
    settings = settings or get_settings()
    warehouse = WarehouseResource.for_settings(settings)
    if args.kept:
        return list_kept(warehouse)
    if args.discard:
        return discard(warehouse, args.discard)
    policy = OperationsResource.from_settings(settings).lifecycle_policy()
    now = datetime.now(UTC)
    instance = instance_or_none(settings)
    if instance is None:
        print("cleanup: DAGSTER_HOME is not set, so no Dagster instance to take old runs from")

    plan = plan_cleanup(policy, warehouse, now, instance)
    verb = "removed" if args.apply else "would remove"
    for removal in plan.removals:
        amount = f"{removal.rows:,} rows" if removal.rows else f"{removal.size_bytes / 1e6:.2f} MB"
        amount = removal.reason if removal.kind == "dagster run" else f"{amount}; {removal.reason}"
        print(f"{verb}: {removal.kind} {removal.target} ({amount})")
    for line in plan.kept:
        print(f"kept: {line}")
    skipped = apply_cleanup(plan, policy, warehouse, now, instance) if args.apply else []
    for part in skipped:
        print(f"gave up: {part}")
    print(
        f"cleanup: {len(plan.removals)} item(s) {verb}, {plan.size_bytes / 1e6:.2f} MB, {plan.rows:,} quarantine rows"
        + ("" if args.apply else " (dry run: rerun with --apply to delete)")
        + (
            f"; {len(skipped)} part(s) of the lake's housekeeping given up on (above): run it again later"
            if skipped
            else ""
        )
    )
    return 1 if skipped else 0


def list_kept(warehouse: WarehouseResource) -> int:
    """Each kept failed version: why it failed, when, and what it holds."""
    if not warehouse.exists():
        print("cleanup: no warehouse yet, so no kept versions")
        return 0
    with warehouse.read_only() as connection:
        kept = kept_versions(connection)
        for version in kept:
            tables = tables_in(connection, version.kept_as)
            held = ", ".join(f"{table} ({_rows(connection, f'{version.kept_as}.{table}'):,} rows)" for table in tables)
            failed = ", ".join(version.failed_tests) or "a model"
            when = f"{version.recorded_at:%Y-%m-%d %H:%M %Z}"
            print(f"{version.kept_as}: version {version.version} of run {version.run_id} at {when}; failed {failed}")
            print(f"  holds {held}")
    print(f"cleanup: {len(kept)} kept failed version(s)")
    return 0


def _rows(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    [(rows,)] = connection.execute(f"SELECT count(*) FROM {table}").fetchall()
    return int(rows)


def discard(warehouse: WarehouseResource, kept_as: str) -> int:
    """Drop one kept failed version through the guarded writer (never a published table)."""
    with warehouse.writer() as connection:
        known = {version.kept_as for version in kept_versions(connection)}
        if kept_as not in known:
            listed = ", ".join(sorted(known)) or "none"
            print(f"cleanup: {kept_as} is not a kept failed version (kept now: {listed})", file=sys.stderr)
            return 1
        drop_kept(connection, kept_as)
    print(f"cleanup: dropped {kept_as}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
