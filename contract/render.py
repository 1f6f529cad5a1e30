"""A profile written out as a new dataset's contract: its config entry, its Pandera model, a staging stub.

``write_dataset`` puts them where the project reads them (config/datasets/, schemas/<name>.py,
dbt_project/models/staging/stg_<name>.sql) and regenerates the dbt sources (contract/dbt_sources.py),
so the dataset loads end to end with no hand edit: the landing sensor watches its folder, the
ingestion factory makes its raw asset and checks, dbt declares its source and builds its view.
"""

from __future__ import annotations

import importlib
import json
import keyword
import textwrap
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from config.datasets import ConfigError, load_datasets
from contract.dbt_sources import RAW_SOURCE, STAGING_DIR, write_files
from contract.profile import ColumnProfile, Profile, ProfileError
from ingestion.lineage import PARTITION_DATE
from warehouse.layout import raw_table

DEFAULT_REJECT_THRESHOLD = 0.05
# A dataset's own file in config/datasets/: what the fields mean is in docs/datasets.md.
CONFIG_FILE_HEADER = "# A dataset's contract, with its Pandera model in schemas/ (fields: config/datasets/README.md).\n"


def class_name(dataset: str) -> str:
    return "".join(part.capitalize() for part in dataset.split("_"))


def config_entry(profile: Profile, description: str) -> dict[str, object]:
    entry: dict[str, object] = {"description": description, "kind": profile.kind, "file_pattern": profile.file_pattern}
    if profile.date_format:
        entry["date_format"] = profile.date_format
    if profile.days:
        # The first day sampled: a file for an earlier day is refused until this says otherwise.
        entry["dates"] = {"earliest": profile.days[0]}
    entry |= {
        "format": profile.file_format,
        "null_values": list(profile.null_values),
        "primary_key": list(profile.primary_key),
        "schema": f"{profile.dataset}.{class_name(profile.dataset)}",
        "reject_threshold": DEFAULT_REJECT_THRESHOLD,
    }
    return entry


def config_text(profile: Profile, description: str) -> str:
    """The entry as it goes under ``datasets:`` in config/datasets/ (indented, with a comment)."""
    candidates = "; ".join(", ".join(key) for key in profile.key_candidates[:4])
    body = yaml.safe_dump({profile.dataset: config_entry(profile, description)}, sort_keys=False, width=100)
    comment = (
        f"# Profiled from {_samples(profile)} by `profile`. Primary key candidates, unique in the sample: {candidates}."
    )
    return textwrap.indent("\n".join(textwrap.wrap(comment, 98, subsequent_indent="# ")) + "\n" + body, "  ")


def _samples(profile: Profile) -> str:
    if len(profile.samples) == 1:
        return profile.samples[0]
    return f"{len(profile.samples)} files ({profile.samples[0]} .. {profile.samples[-1]})"


def annotation_source(dtype: pl.DataType) -> str:
    if dtype == pl.String():
        return "str"
    if isinstance(dtype, pl.Datetime):
        return f'pl.Datetime(time_zone="{dtype.time_zone}")' if dtype.time_zone else "pl.Datetime"
    return f"pl.{dtype.base_type().__name__}"


INDENT = "    "
LINE = 120  # ruff's line length (pyproject.toml): the written model passes `ruff format --check`


def _literal(value: object, indent: str) -> str:
    """``value`` as Python source in ruff's style: double quotes, and a list too long for one line
    split one item a line with a trailing comma."""
    text = json.dumps(value)
    if isinstance(value, list) and len(indent) + len(text) + 20 > LINE:
        items = "".join(f"{indent}{INDENT}{json.dumps(item)},\n" for item in value)
        return f"[\n{items}{indent}]"
    return text


def _string(text: str, indent: str) -> str:
    """A long string as implicitly concatenated pieces in parentheses, each line within the limit."""
    if len(indent) + len(text) + 20 <= LINE:
        return json.dumps(text)
    pieces = textwrap.wrap(text, LINE - len(indent) - 8, drop_whitespace=False)
    lines = "".join(f"{indent}{INDENT}{json.dumps(piece)}\n" for piece in pieces)
    return f"(\n{lines}{indent})"


def field_source(column: ColumnProfile) -> str:
    arguments = [(rule.check, rule.value) for rule in column.rules]
    if column.nullable:
        arguments.insert(0, ("nullable", True))
    if column.nulls:
        nulls = f"{column.nulls:,} null"
    elif column.nullable:
        nulls = "none null, but too few rows to say it never is"
    else:
        nulls = "never null"
    reasons = "; ".join([f"{column.rows:,} rows, {nulls}", *(f"{rule.check}: {rule.reason}" for rule in column.rules)])
    inner = INDENT * 2
    lines = [f"{inner}{name}={_literal(value, inner) if name != 'nullable' else 'True'}," for name, value in arguments]
    lines.append(f"{inner}description={_string(f'{column.name}, profiled from {reasons}', inner)},")
    return "pa.Field(\n" + "\n".join(lines) + f"\n{INDENT})"


def model_source(profile: Profile, description: str) -> str:
    """The Pandera model's module: one field per column, each rule with the reason it was chosen."""
    base = "DailyDatasetModel" if profile.has_date_parts else "DatasetModel"
    unsafe = [
        column.name for column in profile.columns if not column.name.isidentifier() or keyword.iskeyword(column.name)
    ]
    if unsafe:
        raise ProfileError(
            f"column name(s) {unsafe} cannot be model fields: rename them in the feed, or write the model by hand"
        )
    if profile.has_date_parts:
        why_base = "Every row's year/month/day must be the day its file is named for (DailyDatasetModel)."
    elif profile.day_columns:
        why_base = f"Every row's {', '.join(profile.day_columns)} must be the day its file is named for."
    else:
        why_base = "No year/month/day or date column holding the file's day: rows are not checked against it."
    about = textwrap.fill(
        f"Contract for {profile.dataset}, profiled from {_samples(profile)} by `profile` (contract/profile.py).", 100
    )
    review = textwrap.fill(
        "Each rule's reason is in its column's description; review them, then add the rules a profile "
        f"cannot see (relations between columns). {why_base}",
        100,
    )
    summary = textwrap.fill(description, 100, initial_indent=INDENT, subsequent_indent=INDENT).strip()
    # One line if it fits (as ruff formats a docstring), else the closing quotes on a line of their own.
    docstring = f'"""{summary}"""' if "\n" not in summary else f'"""{summary}\n{INDENT}"""'
    fields = "\n".join(
        f"{INDENT}{column.name}: {annotation_source(column.dtype)} = {field_source(column)}"
        for column in profile.columns
    )
    polars = "import polars as pl\n" if any(column.dtype != pl.String() for column in profile.columns) else ""
    checks = "".join(
        f'\n{INDENT}@pa.dataframe_check(error="{name} must be the day in the file name")\n'
        f"{INDENT}def {name}_is_the_file_day(cls, data: PolarsData) -> pl.LazyFrame:\n"
        f'{INDENT * 2}return data.lazyframe.select(column_is_on_file_day("{name}"))\n'
        for name in profile.day_columns
    )
    imports = f"import pandera.polars as pa\n{polars}"
    if checks:
        imports += "from pandera.api.polars.types import PolarsData\n"
    ours = f"from schemas._base import {base}\n"
    if checks:
        ours += "from schemas._checks import column_is_on_file_day\n"
    return (
        f'"""{about}\n\n{review}\n"""\n\n'
        f"{imports}\n{ours}\n\n"
        f"class {class_name(profile.dataset)}({base}):\n"
        f"{INDENT}{docstring}\n\n"
        f"{fields}\n{checks}"
    )


def staging_source(profile: Profile, description: str) -> str:
    """A staging view of the raw table: its columns as they are (a stub to shape as the marts need)."""
    # A daily dataset's day, the lineage column the marts group by, first.
    names = [*([PARTITION_DATE] if profile.kind == "daily" else []), *(column.name for column in profile.columns)]
    columns = ",\n".join(f"    {name}" for name in names)
    return (
        f"-- {description} Staging view of {raw_table(profile.dataset)} (generated by `profile`).\n"
        f"select\n{columns}\nfrom {{{{ source('{RAW_SOURCE}', '{profile.dataset}') }}}}\n"
    )


@dataclass(frozen=True)
class Written:
    config_file: Path
    model_file: Path
    staging_file: Path
    generated: list[Path]


def write_dataset(
    profile: Profile, description: str, datasets_path: Path, schemas_dir: Path, dbt_project_dir: Path
) -> Written:
    """Add the profiled dataset to the project; refuses to overwrite anything that exists."""
    name = profile.dataset
    model_file = schemas_dir / f"{name}.py"
    staging_file = dbt_project_dir / STAGING_DIR / f"stg_{name}.sql"
    if name in load_datasets(datasets_path):
        raise ProfileError(
            f"{datasets_path} already declares a dataset {name!r}: to change its contract, "
            f"profile {name} SAMPLE... --update"
        )
    # A folder of declarations gets a file of the dataset's own; a single file gets the entry appended.
    config_file = datasets_path / f"{name}.yaml" if datasets_path.is_dir() else datasets_path
    for path in (model_file, staging_file) + ((config_file,) if config_file != datasets_path else ()):
        if path.exists():
            raise ProfileError(f"{path} exists already: move it away or choose another name")
    if config_file == datasets_path:
        text = datasets_path.read_text()
        if not text.rstrip().splitlines()[-1].startswith(" "):
            raise ProfileError(f"{datasets_path}: `datasets:` must be the last section to append an entry to it")
        new_text = text.rstrip("\n") + "\n\n" + config_text(profile, description)
    else:
        text, new_text = None, f"{CONFIG_FILE_HEADER}datasets:\n{config_text(profile, description)}"
    model_file.write_text(model_source(profile, description))
    staging_file.write_text(staging_source(profile, description))
    config_file.write_text(new_text)
    importlib.invalidate_caches()  # the new model module, to the import system that has listed schemas/ already
    try:
        datasets = load_datasets(datasets_path)
    except ConfigError:
        if text is None:  # leave the config as it was
            config_file.unlink()
        else:
            config_file.write_text(text)
        model_file.unlink()
        staging_file.unlink()
        raise
    return Written(config_file, model_file, staging_file, write_files(datasets, dbt_project_dir))
