"""`profile NAME SAMPLES --update`: the change an existing dataset's contract needs, from new files.

New sample files are profiled as a new feed would be (contract/profile.py) and set against the
dataset's current contract. Each difference becomes a proposed change (config/changes.py) with its
reason, for a reviewer to read:

- a column the files have and the contract does not: ``added`` from the first sampled day (files
  before it lack it), declared nullable, with the rules the sample shows;
- a contract column the files lack, with a new column of the same type in its place in the header:
  ``renamed`` (the old name is still accepted on read); without one: ``retired`` from that day;
- a column whose values need a wider type (Int32 to Int64, integers to floats): ``widened``;
- a column whose values no longer parse as its type at all is reported, not changed: that is a
  new column under a new name, and a reviewer's call.

``apply`` writes the changes: the schema's class (its fields, edited in place through Python's own
parser, so the rest of the file is untouched), the dataset's ``changes:`` in its config/datasets/ file, and the
files generated from the contract (dbt's sources). A change that does not validate is rolled back.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from config.changes import ColumnChange, older_names
from config.datasets import ConfigError, DatasetConfig, declaring_file, load_datasets, schema_module
from contract.dbt_sources import write_files
from contract.profile import ColumnProfile, Profile, ProfileError
from contract.render import INDENT, annotation_source, field_source
from ingestion.casting import model_dtypes

# A type that holds every value of another: what `widened` may go to.
WIDER = {
    pl.Int8: (pl.Int16, pl.Int32, pl.Int64, pl.Float64),
    pl.Int16: (pl.Int32, pl.Int64, pl.Float64),
    pl.Int32: (pl.Int64, pl.Float64),
    pl.Int64: (pl.Float64,),
    pl.Float32: (pl.Float64,),
}


@dataclass(frozen=True)
class Proposal:
    change: ColumnChange | None  # None: reported only
    reason: str
    sampled: ColumnProfile | None = None  # the column as the files have it (added, widened)

    def describe(self) -> str:
        what = self.change.describe() if self.change else "no change proposed"
        return f"{what}: {self.reason}"


def _is_wider(sampled: pl.DataType, current: pl.DataType) -> bool:
    return any(sampled == wider for wider in WIDER.get(current.base_type(), ()))  # type: ignore[call-overload]


def propose(dataset: DatasetConfig, sample: Profile, paths: Sequence[Path]) -> list[Proposal]:
    """The changes that make ``dataset``'s contract take the ``sample`` files, each with its reason."""
    current = model_dtypes(dataset.schema_class)
    sampled = {column.name: column for column in sample.columns}
    known_old = older_names(dataset.changes)
    since = sample.days[0] if sample.days else datetime.now(UTC).date()
    file_order, contract_order = list(sampled), list(current)
    new = [name for name in file_order if name not in current and name not in known_old]
    gone = [name for name in contract_order if name not in sampled]
    proposals: list[Proposal] = []
    for name in gone:
        place = contract_order.index(name)
        twin = next(
            (other for other in new if file_order.index(other) == place and sampled[other].dtype == current[name]),
            None,
        )
        if twin is not None:
            new.remove(twin)
            proposals.append(
                Proposal(
                    ColumnChange.model_validate({"renamed": twin, "was": [name]}),
                    f"the files have {twin!r} ({sampled[twin].dtype}) where the contract has {name!r} "
                    f"(column {place + 1}, same type), and no {name!r}",
                    sampled[twin],
                )
            )
        else:
            proposals.append(
                Proposal(
                    ColumnChange.model_validate({"retired": name, "from": str(since)}),
                    f"none of the {len(paths)} sample file(s) has {name!r}; it loads as null from {since}",
                )
            )
    for name in new:
        column = sampled[name]
        proposals.append(
            Proposal(
                ColumnChange.model_validate(
                    {"added": name, **({"from": str(since)} if dataset.kind == "daily" else {})}
                ),
                f"new in the files ({column.dtype}, {column.nulls:,} null of {column.rows:,}); "
                + (f"null in files before {since}" if dataset.kind == "daily" else "null where a file lacks it"),
                column,
            )
        )
    proposals += _outside_ranges(dataset, sampled)
    for name, dtype in current.items():
        if name not in sampled or sampled[name].dtype == dtype:
            continue
        found = sampled[name].dtype
        if _is_wider(found, dtype):
            proposals.append(
                Proposal(
                    ColumnChange.model_validate({"widened": name}),
                    f"the files need {found} for {name!r} (declared {dtype})",
                    sampled[name],
                )
            )
        elif found == pl.String and dtype != pl.String:
            proposals.append(
                Proposal(
                    None,
                    f"{name!r}: the files' values no longer parse as {dtype}: declare the new meaning as a new "
                    "column (added) and retire this one, rather than change what the history means",
                )
            )
    return proposals


def _outside_ranges(dataset: DatasetConfig, sampled: dict[str, ColumnProfile]) -> list[Proposal]:
    """Columns whose sampled values leave the contract's declared range: reported, for a reviewer to
    widen the bound in the schema (if the feed is right) or to leave (the rows go to quarantine)."""
    found = []
    for name, column in dataset.schema_class.to_schema().columns.items():
        seen = sampled.get(name)
        if seen is None or seen.low is None:
            continue
        for check in column.checks:
            if check.name != "in_range":
                continue
            low, high = check.statistics.get("min_value"), check.statistics.get("max_value")
            outside = (low is not None and seen.low < low) or (high is not None and seen.high > high)  # type: ignore[operator]
            if outside:
                found.append(
                    Proposal(
                        None,
                        f"{name!r}: the files hold {seen.low} to {seen.high}, the contract allows {low} to {high}: "
                        f"widen in_range in the schema if the feed is right, else those rows go to quarantine",
                    )
                )
    return found


@dataclass(frozen=True)
class Applied:
    model_file: Path
    config_file: Path
    generated: list[Path]


def apply(dataset: DatasetConfig, proposals: Sequence[Proposal], datasets_path: Path, dbt_project_dir: Path) -> Applied:
    """Write the proposed changes into the schema's class and the dataset's config; regenerate."""
    changes = [proposal for proposal in proposals if proposal.change is not None]
    if not changes:
        raise ProfileError(f"{dataset.name}: the sample files fit the contract; nothing to change")
    module_name, class_name = schema_module(dataset.schema_ref)
    module = importlib.import_module(module_name)
    model_file = Path(module.__file__ or "")
    config_file = declaring_file(datasets_path, dataset.name)
    if config_file is None:
        raise ProfileError(f"no file under {datasets_path} declares a dataset {dataset.name!r}")
    source, config = model_file.read_text(), config_file.read_text()
    model_file.write_text(edited_model(source, class_name, changes))
    config_file.write_text(with_changes(config, dataset.name, [p.change for p in changes if p.change]))
    try:
        importlib.reload(module)
        datasets = load_datasets(datasets_path)
    except (ConfigError, SyntaxError) as error:
        model_file.write_text(source)
        config_file.write_text(config)
        importlib.reload(sys.modules[module.__name__])
        raise ProfileError(f"the change does not validate, nothing written: {error}") from error
    return Applied(model_file, config_file, write_files(datasets, dbt_project_dir))


def edited_model(source: str, class_name: str, proposals: Sequence[Proposal]) -> str:
    """``source`` with ``class_name``'s fields changed as ``proposals`` say, edited in place."""
    tree = ast.parse(source)
    model = next(
        (node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name),
        None,
    )
    if model is None:
        raise ProfileError(f"no class {class_name} in the schema module")
    fields = {
        node.target.id: node
        for node in model.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, int, str]] = []  # (line, col, end line, end col, text), 1-based lines
    insert_after = max((node.end_lineno or node.lineno) for node in fields.values()) if fields else model.lineno
    added: list[str] = []
    for proposal in proposals:
        change = proposal.change
        assert change is not None
        if change.kind == "renamed":
            edits.append(_replacing(fields[change.was[0]].target, change.column))
        elif change.kind == "widened" and proposal.sampled is not None:
            edits.append(_replacing(fields[change.column].annotation, annotation_source(proposal.sampled.dtype)))
        elif change.kind == "retired":
            edits.extend(_nullable(fields[change.column]))
        elif change.kind == "added" and proposal.sampled is not None:
            column = replace(proposal.sampled, nullable=True)  # older files lack it
            added.append(f"{INDENT}{column.name}: {annotation_source(column.dtype)} = {field_source(column)}\n")
    for line, col, end_line, end_col, text in sorted(edits, reverse=True):
        # ast's columns count UTF-8 bytes, not characters.
        first, last = lines[line - 1].encode(), lines[end_line - 1].encode()
        lines[line - 1 : end_line] = [first[:col].decode() + text + last[end_col:].decode()]
    if added:
        lines[insert_after:insert_after] = added
    return "".join(lines)


def _nullable(field: ast.AnnAssign) -> list[tuple[int, int, int, int, str]]:
    """The edit that declares ``field`` nullable (none if it already is)."""
    call = field.value
    if not isinstance(call, ast.Call):
        raise ProfileError(f"{ast.unparse(field.target)}: declare it with pa.Field(...) to make it nullable")
    for keyword in call.keywords:
        if keyword.arg == "nullable":
            return [_replacing(keyword.value, "True")]
    line, after = call.func.end_lineno or call.func.lineno, (call.func.end_col_offset or 0) + 1  # after "pa.Field("
    return [(line, after, line, after, "nullable=True, ")]


def _replacing(node: ast.expr, text: str) -> tuple[int, int, int, int, str]:
    """The edit that puts ``text`` where ``node``'s source is."""
    return (node.lineno, node.col_offset, node.end_lineno or node.lineno, node.end_col_offset or 0, text)


def with_changes(config: str, name: str, changes: Sequence[ColumnChange]) -> str:
    """A dataset file's text with ``changes`` appended to dataset ``name``'s ``changes:`` (comments kept)."""
    lines = config.splitlines(keepends=True)
    header = f"  {name}:\n"
    if header not in lines:
        raise ProfileError(f"no entry '{name}:' under datasets: in the config")
    start = lines.index(header) + 1
    end = next(
        (i for i in range(start, len(lines)) if lines[i].strip() and not lines[i].startswith("    ")), len(lines)
    )
    while end > start and not lines[end - 1].strip():
        end -= 1
    items = [f"      - {_flow(change)}\n" for change in changes]
    existing = next((i for i in range(start, end) if lines[i].startswith("    changes:")), None)
    if existing is None:
        lines[end:end] = ["    changes:\n", *items]
        return "".join(lines)
    last = existing + 1
    while last < end and lines[last].startswith("      "):  # the list's items (and their comments)
        last += 1
    lines[last:last] = items
    return "".join(lines)


def _flow(change: ColumnChange) -> str:
    """One change as a YAML flow mapping, its kind first: ``{added: seats, from: 2013-06-01}``."""
    parts = [f"{change.kind}: {change.column}"]
    if change.was:
        parts.append(f"was: [{', '.join(change.was)}]")
    if change.from_day:
        parts.append(f"from: {change.from_day.isoformat()}")
    if change.default is not None:
        parts.append(f"default: {change.default!r}")
    return "{" + ", ".join(parts) + "}"
