"""`contract`: write the dbt files generated from the datasets' contracts (or check them).

    contract            rewrite dbt_project/models/staging/_sources.yml and _staging.yml if they differ
    contract --check    exit 1, naming the stale files, if they differ from what the contract says

A dataset's contract is its entry in config/datasets/ and its Pandera model; see
contract/dbt_sources.py for what is generated from them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from config.datasets import load_datasets
from config.settings import Settings, exits_on_settings_error, get_settings, shown
from contract.dbt_sources import COMMAND, stale_files, write_files


@exits_on_settings_error
def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="contract", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if a generated file is stale")
    args = parser.parse_args(argv)
    settings = settings or get_settings()
    datasets = load_datasets(settings.datasets_path)
    if args.check:
        stale = stale_files(datasets, settings.dbt_project_dir)
        for path in stale:
            print(f"stale: {shown(path)} (run `{COMMAND}`)")
        if not stale:
            print("contract: the generated dbt files match the dataset config; nothing to regenerate")
        return 1 if stale else 0
    for path in write_files(datasets, settings.dbt_project_dir):
        print(f"{'wrote' if path.exists() else 'removed'} {shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
