"""`cleanup`: apply the lifecycle policy (operations/lifecycle.py) from a terminal.

    cleanup            list what the policy would remove now (a dry run: nothing is deleted)
    cleanup --apply    remove it

The same policy and settings as the lifecycle_cleanup asset that the weekly schedule runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from operations.lifecycle import apply_cleanup, plan_cleanup
from resources.operations import OperationsResource
from resources.settings import Settings, get_settings
from resources.warehouse import WarehouseResource


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cleanup", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--apply", action="store_true", help="delete what the policy lists (default: dry run)")
    args = parser.parse_args(argv)
    settings = settings or get_settings()
    policy = OperationsResource.from_settings(settings).lifecycle_policy()
    warehouse = WarehouseResource.for_settings(settings)
    now = datetime.now(UTC)

    plan = plan_cleanup(policy, warehouse, now)
    verb = "removed" if args.apply else "would remove"
    for removal in plan.removals:
        amount = f"{removal.rows:,} rows" if removal.rows else f"{removal.size_bytes / 1e6:.2f} MB"
        print(f"{verb}: {removal.kind} {removal.target} ({amount}; {removal.reason})")
    for line in plan.kept:
        print(f"kept: {line}")
    if args.apply:
        apply_cleanup(plan, policy, warehouse, now)
    print(f"cleanup: {len(plan.removals)} item(s) {verb}, {plan.size_bytes / 1e6:.2f} MB, {plan.rows:,} quarantine rows"
          + ("" if args.apply else " (dry run: rerun with --apply to delete)"))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
