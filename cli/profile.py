"""`profile`: propose a new dataset's contract from sample files, or report how a dataset drifts from its own.

    profile NAME SAMPLE [SAMPLE ...]              what the config entry, the Pandera model and a staging
                                                  view would be (printed; nothing written)
    profile NAME SAMPLE [SAMPLE ...] --write      add them to the project: the dataset then loads end to end
    profile NAME SAMPLE [SAMPLE ...] --update     the change NAME's contract needs to take these files
                                                  (added, renamed, widened, retired columns), with reasons
    profile NAME SAMPLE [SAMPLE ...] --update --write   apply it: schema, config, dbt sources
    profile NAME --compare --from DAY --to DAY    how the landed days drift from NAME's contract

SAMPLE: CSV or Parquet files of the new feed; for a daily feed, files named for their days (a
month of them shows more than one). Rules and their reasons: contract/profile.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from config.settings import PROJECT_ROOT, Settings, exits_on_settings_error, get_settings, shown
from contract.profile import Profile, ProfileError, profile
from contract.render import config_text, model_source, staging_source, write_dataset

SCHEMAS_DIR = PROJECT_ROOT / "schemas"


def describe(result: Profile) -> str:
    """The profile as a table a reviewer reads: each column, its type, nulls and rules with reasons."""
    lines = [f"{result.dataset}: {result.kind}, {len(result.samples)} sample file(s), {result.columns[0].rows:,} rows"]
    lines.append(
        f"  null markers: {list(result.null_values)}; key candidates: {[list(k) for k in result.key_candidates[:4]]}"
    )
    width = max(len(column.name) for column in result.columns)
    for column in result.columns:
        rules = "; ".join(f"{rule.check} {rule.value!r} ({rule.reason})" for rule in column.rules) or "-"
        nulls = f"{column.nulls:,} null" if column.nulls else ("none null" if column.nullable else "never null")
        lines.append(f"  {column.name:<{width}}  {column.dtype!s:<30} {nulls:<12} {rules}")
    return "\n".join(lines)


@exits_on_settings_error
def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="profile", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("name", help="the dataset's name (lower-case letters, digits and _)")
    parser.add_argument("samples", nargs="*", type=Path, help="sample files of the new feed")
    parser.add_argument("--write", action="store_true", help="add the dataset to the project (or apply --update)")
    parser.add_argument("--update", action="store_true", help="propose the change of an existing dataset's contract")
    parser.add_argument("--description", help="what the data is (shown in the UI and dbt's docs)")
    parser.add_argument("--compare", action="store_true", help="report drift of landed days from the contract")
    parser.add_argument("--from", dest="start", type=date.fromisoformat, help="first day to compare (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, help="last day to compare (YYYY-MM-DD)")
    args = parser.parse_args(argv)
    settings = settings or get_settings()
    if args.compare:
        from contract.drift import drift_report  # reads the warehouse: only when asked
        from resources.warehouse import WarehouseResource

        return drift_report(settings, WarehouseResource.for_settings(settings), args.name, args.start, args.end)
    if not args.samples:
        parser.error("give sample files to profile, or --compare")
    missing = [str(path) for path in args.samples if not path.is_file()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")
    if args.update:
        return update(args.name, sorted(args.samples), args.write, settings)
    try:
        result = profile(args.name, sorted(args.samples))
        description = args.description or f"{args.name}, profiled from {result.samples[0]}: say what it is."
        if args.write:
            written = write_dataset(result, description, settings.datasets_path, SCHEMAS_DIR, settings.dbt_project_dir)
        else:
            print(describe(result), end="\n\n")
            print(f"config/datasets/{args.name}.yaml\ndatasets:\n{config_text(result, description)}")
            print(f"schemas/{args.name}.py\n{model_source(result, description)}")
            print(f"dbt_project/models/staging/stg_{args.name}.sql\n{staging_source(result, description)}")
            print("nothing written: add --write to add the dataset")
            return 0
    except ProfileError as error:
        print(f"profile: {error}", file=sys.stderr)
        return 1
    print(describe(result))
    for path in [written.config_file, written.model_file, written.staging_file, *written.generated]:
        print(f"wrote {shown(path)}")
    print(f"{args.name} loads from {settings.landing / args.name}/ ({result.file_pattern})")
    return 0


def update(name: str, samples: list[Path], write: bool, settings: Settings) -> int:
    """``--update``: what NAME's contract needs to take ``samples``; applied with ``write``."""
    from config.datasets import load_datasets
    from contract.update import apply, propose

    datasets = load_datasets(settings.datasets_path)
    if name not in datasets:
        where = settings.datasets_path
        print(f"profile: no dataset {name!r} in {where}; without --update, profile adds it", file=sys.stderr)
        return 1
    try:
        proposals = propose(datasets[name], profile(name, samples), samples)
        print(f"{name}: {len(proposals)} difference(s) from its contract in {len(samples)} sample file(s)")
        for proposal in proposals:
            print(f"  {proposal.describe()}")
        if not write:
            print("nothing written: add --write to apply the changes" if proposals else "the contract takes them")
            return 0
        applied = apply(datasets[name], proposals, settings.datasets_path, settings.dbt_project_dir)
    except ProfileError as error:
        print(f"profile: {error}", file=sys.stderr)
        return 1
    for path in [applied.model_file, applied.config_file, *applied.generated]:
        print(f"wrote {shown(path)}")
    renamed = [p.change for p in proposals if p.change is not None and p.change.kind == "renamed"]
    for change in renamed:
        print(f"rename {', '.join(change.was)} to {change.column} in the SQL that reads it (stg_{name}.sql)")
    reload = f"python3 tasks.py backfill --dataset {name}"
    print(f"then reload its history under the new contract: {reload} (docs/datasets.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
