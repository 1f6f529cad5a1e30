"""How a dataset's contract changed over time, declared beside it (``changes:`` in its config/datasets/ file).

The schema in ``schemas/`` is always the current contract. Each change says how a delivery made
before it differs, so that every archived delivery stays loadable under the current contract:

    changes:
      - {added: discount, from: 2026-06-01}       # files for earlier days lack it: null (or `default`)
      - {renamed: customer_id, was: [cust_id]}    # an older name, still accepted on read
      - {widened: quantity}                       # the type grew (Int32 -> Int64): the table follows
      - {retired: coupon, from: 2026-09-01}       # files from that day on no longer carry it: null

A file that lacks a declared column that no change explains is still refused, as is a file for a
day on or after an ``added`` change's ``from`` that lacks that column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

KINDS = ("added", "renamed", "widened", "retired")


class ChangeError(ValueError):
    """A declared change does not fit the schema it changes."""


class ColumnChange(BaseModel):
    """One change of one column of the contract, named by its current name."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    added: str | None = None
    renamed: str | None = None
    widened: str | None = None
    retired: str | None = None
    from_day: date | None = Field(default=None, alias="from")
    default: str | None = None  # as a file would write it: parsed by the column's type
    was: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_kind(self) -> ColumnChange:
        named = [kind for kind in KINDS if getattr(self, kind) is not None]
        if len(named) != 1:
            raise ValueError(f"a change names one column under exactly one of {list(KINDS)}, not {named or 'none'}")
        if self.was and self.kind != "renamed":
            raise ValueError("'was' (the older names) belongs to a 'renamed' change")
        if self.kind == "renamed" and not self.was:
            raise ValueError(f"renamed {self.column!r}: say its older name(s) in 'was'")
        if self.default is not None and self.kind != "added":
            raise ValueError("'default' belongs to an 'added' change")
        if self.from_day is not None and self.kind not in ("added", "retired"):
            raise ValueError(f"'from' belongs to an 'added' or 'retired' change, not {self.kind!r}")
        if self.kind == "retired" and self.from_day is None:
            raise ValueError(f"retired {self.column!r}: say from which day files no longer carry it ('from')")
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in KINDS if getattr(self, kind) is not None)

    @property
    def column(self) -> str:
        return str(getattr(self, self.kind))

    def explains_absence(self, day: date | None) -> bool:
        """Whether a file for ``day`` (None: a reference file) may lack the column."""
        if self.kind == "added":
            return self.from_day is None or day is None or day < self.from_day
        if self.kind == "retired":
            return day is None or day >= (self.from_day or date.min)
        return False

    @property
    def filled_with_null(self) -> bool:
        return self.kind == "retired" or (self.kind == "added" and self.default is None)

    def describe(self) -> str:
        since = f" from {self.from_day}" if self.from_day else ""
        if self.kind == "renamed":
            return f"{self.column} renamed from {', '.join(self.was)}"
        if self.kind == "added":
            filled = f"'{self.default}'" if self.default is not None else "null"
            return f"{self.column} added{since} ({filled} in files before)"
        if self.kind == "retired":
            return f"{self.column} retired{since} (null in files after)"
        return f"{self.column} widened"


def check_changes(changes: Sequence[ColumnChange], columns: Mapping[str, Any], primary_key: Sequence[str]) -> None:
    """Raise ChangeError if a change does not fit the schema's ``columns`` (name -> pandera Column)."""
    seen: set[tuple[str, str]] = set()
    for change in changes:
        where = f"change {change.kind} {change.column!r}"
        if change.column not in columns:
            raise ChangeError(f"{where}: the schema has no column {change.column!r} (a change names the current name)")
        if (change.kind, change.column) in seen:
            raise ChangeError(f"{where}: declared twice")
        seen.add((change.kind, change.column))
        if change.kind in ("added", "retired") and change.column in primary_key:
            raise ChangeError(f"{where}: a primary_key column is in every file; it cannot be {change.kind}")
        if change.filled_with_null and not columns[change.column].nullable:
            raise ChangeError(
                f"{where}: files that lack it load it as null, so the schema must declare it nullable=True"
                + (" (or give the change a 'default')" if change.kind == "added" else "")
            )
        clashing = [name for name in change.was if name in columns]
        if clashing:
            raise ChangeError(f"{where}: older name(s) {clashing} are still columns of the schema")


def older_names(changes: Sequence[ColumnChange]) -> dict[str, str]:
    """Each older name of a renamed column -> its current name."""
    return {old: change.column for change in changes if change.kind == "renamed" for old in change.was}


def widened(changes: Sequence[ColumnChange]) -> set[str]:
    return {change.column for change in changes if change.kind == "widened"}
