"""Load and validate the dataset declarations (config/datasets/): every ingested dataset, declared once.

Validation happens when definitions load, so a typo fails fast with a message naming the entry and
the field, instead of surfacing later as a broken run. Names end up in SQL identifiers and paths,
so they are restricted to a safe alphabet here, once, rather than quoted everywhere downstream.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config.changes import ChangeError, ColumnChange, check_changes

if TYPE_CHECKING:  # imported when a schema is resolved, not with the config (pandera takes a second)
    import pandera.polars as pa

# Lower-case identifiers only: safe as DuckDB table names, dbt source names and folder names.
SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# File names: no separators, no traversal, no shell or glob metacharacters.
SAFE_FILE_PATTERN = re.compile(r"^[A-Za-z0-9_.\-{}]+$")
DATE_PLACEHOLDER = "{date}"
# strftime codes allowed in date_format, with the regex that matches what each one writes.
DATE_CODES = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}"}
SCHEMAS_PACKAGE = "schemas"
# How a dataset's files may be compressed (ingestion/sniffing.py reads them); None: plain files.
Compression = Literal["gzip"]


class ConfigError(ValueError):
    """The dataset config is invalid; the message names the file, entry and field."""


class Freshness(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    warn_after_hours: float = Field(gt=0)
    fail_after_hours: float = Field(gt=0)

    @model_validator(mode="after")
    def _fail_after_warn(self) -> Freshness:
        if self.fail_after_hours < self.warn_after_hours:
            raise ValueError("fail_after_hours must be >= warn_after_hours")
        return self


class DateBounds(BaseModel):
    """The days a daily dataset can have: a file or partition outside them is refused, not loaded.

    The future is bounded by the wall clock (``future_tolerance_days`` absorbs time zones and feeds
    that deliver tomorrow's schedule today); the past, and for a historical data set the end, by config.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    earliest: date | None = None
    latest: date | None = None
    future_tolerance_days: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> DateBounds:
        if self.earliest and self.latest and self.latest < self.earliest:
            raise ValueError("latest must not be before earliest")
        return self


class Volume(BaseModel):
    """Bounds of the volume check while a daily dataset has too little history for its weekday band."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A day outside median x min_share .. median x max_ratio of the recent days is an anomaly. The
    # floor is tight: a day cut to 60% of its rows (an upload renamed too early) is caught, while a
    # normal Saturday (about 75% of the recent median in a feed of travel data) is not.
    min_share: float = Field(default=0.65, gt=0, lt=1)
    max_ratio: float = Field(default=3.0, gt=1)


class Limits(BaseModel):
    """How large a delivery's lines may be. A file past a limit is refused whole, at once, with the
    limit it broke: a 50 MB line or a 40,000-field header is not a day's data, and reading it would
    hold the writer slot for minutes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_columns: int = Field(default=1_000, ge=1)  # fields in the header
    max_line_bytes: int = Field(default=1 << 20, ge=1)  # any one line, the header included


class Completeness(BaseModel):
    """How a delivery shows it is whole (ingestion/completeness.py). By default its last record must
    be whole; a feed that sends a sidecar manifest or a trailer record declares it here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Literal["last_record", "manifest", "trailer"] = "last_record"
    trailer_prefix: str = Field(default="TRAILER", min_length=1, pattern=r"^[^,\r\n]+$")


class DatasetConfig(BaseModel):
    """One dataset: where its files land, how they are named, and what governs their content."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    description: str = Field(min_length=1)
    kind: Literal["daily", "reference"]
    file_pattern: str
    date_format: str | None = None
    format: Literal["csv", "parquet"] = "csv"
    compression: Compression | None = None
    null_values: tuple[str, ...] = ("NA", "")
    primary_key: tuple[str, ...] = Field(min_length=1)
    schema_ref: str = Field(alias="schema")
    freshness: Freshness | None = None
    reject_threshold: float = Field(default=0.05, ge=0, le=1)
    volume: Volume = Volume()
    dates: DateBounds = DateBounds()
    limits: Limits = Limits()
    completeness: Completeness = Completeness()
    changes: tuple[ColumnChange, ...] = ()

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not SAFE_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a safe name: use lower-case letters, digits and _ "
                "(it becomes a table and folder name)"
            )
        return value

    @field_validator("file_pattern")
    @classmethod
    def _safe_file_pattern(cls, value: str) -> str:
        if not SAFE_FILE_PATTERN.match(value) or ".." in value:
            raise ValueError(
                f"{value!r} is not a safe file name pattern: letters, digits, '_', '-', '.' and "
                "{date} only, no path separators"
            )
        return value

    @field_validator("primary_key")
    @classmethod
    def _safe_columns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for column in value:
            if not SAFE_NAME.match(column):
                raise ValueError(f"column {column!r} is not a safe identifier")
        return value

    @model_validator(mode="after")
    def _pattern_matches_kind(self) -> DatasetConfig:
        placeholders = self.file_pattern.count(DATE_PLACEHOLDER)
        if "{" in self.file_pattern.replace(DATE_PLACEHOLDER, ""):
            raise ValueError(f"file_pattern {self.file_pattern!r}: the only placeholder is {DATE_PLACEHOLDER}")
        if self.kind == "daily":
            if placeholders != 1:
                raise ValueError(f"file_pattern of a daily dataset needs exactly one {DATE_PLACEHOLDER}")
            if not self.date_format:
                raise ValueError("date_format is required for a daily dataset")
            remainder = self.date_format
            for code in DATE_CODES:
                if remainder.count(code) != 1:
                    raise ValueError(f"date_format {self.date_format!r} needs %Y, %m and %d once each")
                remainder = remainder.replace(code, "")
            if "%" in remainder or not re.fullmatch(r"[-_.]*", remainder):
                raise ValueError(f"date_format {self.date_format!r}: only %Y %m %d and - _ . separators")
        elif placeholders or self.date_format:
            raise ValueError("a reference dataset has a fixed file name: no {date}, no date_format")
        elif "dates" in self.model_fields_set:
            raise ValueError("dates bounds the days of a daily dataset; a reference dataset has none")
        if self.completeness.rule == "trailer" and (self.format != "csv" or self.compression is not None):
            raise ValueError("completeness: trailer is a last line of an uncompressed CSV file")
        return self

    @cached_property
    def file_regex(self) -> re.Pattern[str]:
        """Regex matching this dataset's landed file names; a daily one captures ``date``."""
        if self.kind == "reference":
            return re.compile(re.escape(self.file_pattern) + r"\Z")
        assert self.date_format is not None
        date_regex = re.escape(self.date_format)
        for code, regex in DATE_CODES.items():
            date_regex = date_regex.replace(re.escape(code), regex)
        before, after = self.file_pattern.split(DATE_PLACEHOLDER)
        return re.compile(f"{re.escape(before)}(?P<date>{date_regex}){re.escape(after)}\\Z")

    def file_name_for(self, day: date | None = None) -> str:
        """The file name this dataset expects (for a day, if daily): the inverse of ``file_regex``."""
        if self.kind == "reference":
            return self.file_pattern
        if day is None:
            raise ValueError(f"dataset {self.name!r} is daily: a day is needed to name its file")
        assert self.date_format is not None
        return self.file_pattern.replace(DATE_PLACEHOLDER, day.strftime(self.date_format))

    def parse_date(self, text: str) -> date:
        """Parse the ``date`` captured from a file name; raises ValueError for an impossible date."""
        assert self.date_format is not None
        return datetime.strptime(text, self.date_format).date()

    def date_problem(self, day: date, today: date) -> str | None:
        """Why ``day`` cannot be a partition of this dataset (outside its date bounds), or None."""
        bounds = self.dates
        horizon = today + timedelta(days=bounds.future_tolerance_days)
        if day > horizon:
            return (
                f"date {day} is in the future: after today ({today}) plus {self.name}'s "
                f"dates.future_tolerance_days ({bounds.future_tolerance_days})"
            )
        if bounds.earliest and day < bounds.earliest:
            return f"date {day} is before {self.name}'s dates.earliest ({bounds.earliest})"
        if bounds.latest and day > bounds.latest:
            return f"date {day} is after {self.name}'s dates.latest ({bounds.latest})"
        return None

    def partition_key_problem(self, key: str, today: date) -> str | None:
        """Why ``key`` is not a valid day partition of this dataset (not an ISO date, or out of bounds)."""
        try:
            day = date.fromisoformat(key)
        except ValueError:
            return f"partition key {key!r} is not a day (YYYY-MM-DD)"
        if day.isoformat() != key:
            return f"partition key {key!r} is not written YYYY-MM-DD"
        return self.date_problem(day, today)

    @property
    def schema_class(self) -> type[pa.DataFrameModel]:
        """The Pandera ``DataFrameModel`` class named by ``schema`` (resolved and checked on load)."""
        return resolve_schema(self.schema_ref)


def schema_module(ref: str) -> tuple[str, str]:
    """(module, class) of a ``schema`` reference: ``module.Class`` names a module of schemas/, a longer
    dotted path any importable module (a test's own models, for one)."""
    module_name, _, class_name = ref.rpartition(".")
    parts = module_name.split(".")
    if not module_name or not all(SAFE_NAME.match(part) for part in parts) or not class_name.isidentifier():
        raise ValueError(f"schema {ref!r} must be written module.Class, e.g. orders.Orders")
    return (f"{SCHEMAS_PACKAGE}.{module_name}" if len(parts) == 1 else module_name), class_name


def resolve_schema(ref: str) -> type[pa.DataFrameModel]:
    """Import the schema's module and return its class, or raise ValueError saying what is missing."""
    module_name, class_name = schema_module(ref)
    where = module_name.replace(".", "/") + ".py"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise ValueError(f"schema {ref!r}: no module {where}") from error
    model = getattr(module, class_name, None)
    if model is None:
        raise ValueError(f"schema {ref!r}: {where} has no class {class_name}")
    from pandera.polars import DataFrameModel

    if not (isinstance(model, type) and issubclass(model, DataFrameModel)):
        raise ValueError(f"schema {ref!r} is not a pandera.polars DataFrameModel")
    return model


def _check_against_schema(config: DatasetConfig) -> None:
    model = resolve_schema(config.schema_ref)
    columns = model.to_schema().columns
    missing = [column for column in config.primary_key if column not in columns]
    if missing:
        raise ValueError(f"primary_key columns {missing} are not in schema {config.schema_ref}")
    check_changes(config.changes, columns, config.primary_key)


def _describe(error: ValidationError, source: Path, name: str) -> str:
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(entry)"
        lines.append(f"{source}: dataset {name!r}, field {field!r}: {item['msg']}")
    return "\n".join(lines)


def parse_datasets(raw: Any, source: Path, *, check_schemas: bool = True) -> dict[str, DatasetConfig]:
    """Validate the parsed YAML document; every problem found is reported in one ConfigError.

    ``check_schemas=False`` leaves out resolving each entry's Pandera model (which imports Polars and
    Pandera, a second or more): for a process that never reads a dataset's rows, as the metrics
    exporter lists landed files by name only.
    """
    if not isinstance(raw, Mapping) or set(raw) != {"datasets"} or not isinstance(raw["datasets"], Mapping):
        raise ConfigError(f"{source}: expected a single top-level 'datasets:' mapping of name -> entry")
    datasets: dict[str, DatasetConfig] = {}
    problems: list[str] = []
    for name, entry in raw["datasets"].items():
        if not isinstance(entry, Mapping):
            problems.append(f"{source}: dataset {name!r}: entry must be a mapping of fields")
            continue
        if "name" in entry:
            problems.append(f"{source}: dataset {name!r}, field 'name': the key of the entry is its name")
            continue
        try:
            config = DatasetConfig.model_validate({"name": str(name), **entry})
            if check_schemas:
                _check_against_schema(config)
        except ValidationError as error:
            problems.append(_describe(error, source, str(name)))
            continue
        except ChangeError as error:
            problems.append(f"{source}: dataset {name!r}, field 'changes': {error}")
            continue
        except ValueError as error:
            problems.append(f"{source}: dataset {name!r}, field 'schema': {error}")
            continue
        datasets[config.name] = config
    if problems:
        raise ConfigError("invalid dataset config:\n" + "\n".join(problems))
    return datasets


def dataset_files(path: Path) -> list[Path]:
    """The YAML files that declare datasets: ``path`` itself, or the ``*.yaml`` files in that folder
    in name order (a folder may be empty: a new project has no datasets yet)."""
    if path.is_dir():
        return sorted(path.glob("*.yaml"))
    if not path.exists():
        raise ConfigError(f"{path}: no such dataset config (a folder of YAML files, or one YAML file)")
    return [path]


def _read(source: Path) -> Any:
    try:
        return yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{source}: cannot read dataset config: {error}") from error


def load_datasets(path: Path, *, check_schemas: bool = True) -> dict[str, DatasetConfig]:
    """Read and validate the dataset config at ``path`` (see ``dataset_files``; ``check_schemas``: see
    ``parse_datasets``). A name declared in two files is an error naming both."""
    datasets: dict[str, DatasetConfig] = {}
    declared_in: dict[str, Path] = {}
    for source in dataset_files(path):
        for name, config in parse_datasets(_read(source), source, check_schemas=check_schemas).items():
            if name in datasets:
                raise ConfigError(f"dataset {name!r} is declared twice: in {declared_in[name]} and in {source}")
            datasets[name], declared_in[name] = config, source
    return datasets


def declaring_file(path: Path, name: str) -> Path | None:
    """The file under ``path`` that declares dataset ``name``, or None."""
    for source in dataset_files(path):
        raw = _read(source)
        if isinstance(raw, Mapping) and isinstance(raw.get("datasets"), Mapping) and name in raw["datasets"]:
            return source
    return None
