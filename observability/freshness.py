"""Freshness SLAs that alert: late once, recovered once, whatever the number of ticks in between.

The policies are the assets' declared freshness policies (config/datasets/ for the raw data),
the rule Dagster's own evaluation applies (its freshness daemon, shown in the UI): an asset is late
once its last materialisation is ``fail_window`` old. This evaluation adds what alerting needs and
Dagster's does not give: a clock the tests control, one alert per change of state rather than per
evaluation, and data that never arrived at all, late ``fail_window`` after the watch began
(Dagster leaves an asset never materialised UNKNOWN, so a feed that never started never alerts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from observability.alerts import Alert

HOUR = 3600.0


@dataclass(frozen=True)
class FreshnessPolicy:
    asset: str
    fail_after: float  # seconds
    expected: str  # what should have arrived, in words: "orders_{date}.csv in the landing zone's orders/ folder"


@dataclass(frozen=True)
class WatchState:
    late: bool
    changed: float  # when the asset entered this state
    began: float  # when the watch began: the reference of an asset never materialised

    def to_json(self) -> dict[str, object]:
        return {"late": self.late, "changed": self.changed, "began": self.began}

    @classmethod
    def from_json(cls, value: Mapping[str, object]) -> WatchState:
        return cls(bool(value["late"]), float(value["changed"]), float(value["began"]))  # type: ignore[arg-type]


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _hours(seconds: float) -> str:
    return f"{seconds / HOUR:.1f} h"


def evaluate(
    policies: Mapping[str, FreshnessPolicy],
    last_materialized: Mapping[str, float | None],
    previous: Mapping[str, WatchState],
    now: float,
) -> tuple[dict[str, WatchState], list[Alert]]:
    """The new state of every watched asset, and an alert for each one whose state changed."""
    states, alerts = {}, []
    for asset, policy in policies.items():
        before = previous.get(asset)
        began = before.began if before else now
        last = last_materialized.get(asset)
        reference = last if last is not None else began
        late = now - reference >= policy.fail_after
        if before is not None and before.late == late:
            states[asset] = before
            continue
        states[asset] = WatchState(late=late, changed=now, began=began)
        if late:
            alerts.append(_late(policy, last, now - reference))
        elif before is not None:  # recovered; a first evaluation that finds it fresh says nothing
            alerts.append(_recovered(policy, last, now - before.changed))
    return states, alerts


def _late(policy: FreshnessPolicy, last: float | None, age: float) -> Alert:
    seen = f"last materialised {_when(last)}" if last is not None else "never materialised since the watch began"
    return Alert(
        kind="late_data",
        title=f"{policy.asset} is late: nothing new for {_hours(age)} (policy: late after {_hours(policy.fail_after)})",
        details=f"Expected: {policy.expected}. {seen[0].upper()}{seen[1:]}. "
        "One alert until it is fresh again; a recovery notice follows.",
        asset=policy.asset,
    )


def _recovered(policy: FreshnessPolicy, last: float | None, late_for: float) -> Alert:
    return Alert(
        kind="data_recovered",
        title=f"{policy.asset} is fresh again after {_hours(late_for)} late",
        details=f"Materialised {_when(last) if last is not None else '(unknown)'}; expected: {policy.expected}.",
        asset=policy.asset,
    )
