"""Alerts on late data: one alert when an asset passes its freshness policy, one when it recovers.

The evaluation is observability/freshness.py; this sensor feeds it the declared policies and each
asset's last materialisation (public instance API), keeps the watch's state in its cursor, and
sends what changed through the alert channels. Its clock is a parameter, so a test can move time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence

import dagster as dg

from assets.layers import raw_asset_key
from compat.dagster import TimeWindowFreshnessPolicy
from config.datasets import DatasetConfig
from observability.freshness import FreshnessPolicy, WatchState, evaluate
from resources.alerts import AlertsResource

# Policies are hours long: a minute's delay in noticing is nothing, and each tick reads one record per asset.
FRESHNESS_INTERVAL_SECONDS = 60


def freshness_policies(
    datasets: Mapping[str, DatasetConfig], data_assets: Sequence[dg.AssetsDefinition]
) -> dict[str, FreshnessPolicy]:
    """Every asset with a time-window freshness policy, with what is expected of it in words."""
    expected = {
        raw_asset_key(name).to_user_string(): f"{dataset.file_pattern} in the landing zone's {name}/ folder"
        for name, dataset in datasets.items()
    }
    policies = {}
    for assets_def in data_assets:
        for spec in assets_def.specs:
            if isinstance(spec.freshness_policy, TimeWindowFreshnessPolicy):
                asset = spec.key.to_user_string()
                policies[asset] = FreshnessPolicy(
                    asset=asset,
                    fail_after=spec.freshness_policy.fail_window.to_timedelta().total_seconds(),
                    expected=expected.get(asset, f"a new materialisation of {asset}"),
                )
    return policies


def build_freshness_sensor(
    datasets: Mapping[str, DatasetConfig],
    data_assets: Sequence[dg.AssetsDefinition],
    clock: Callable[[], float] = time.time,
) -> dg.SensorDefinition:
    policies = freshness_policies(datasets, data_assets)

    @dg.sensor(
        name="freshness_alerts",
        description="Alerts once when an asset is late beyond its freshness policy, and once when it is fresh again.",
        minimum_interval_seconds=FRESHNESS_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def freshness_alerts(context: dg.SensorEvaluationContext, alerts: AlertsResource) -> dg.SkipReason:
        previous = {asset: WatchState.from_json(state) for asset, state in json.loads(context.cursor or "{}").items()}
        # Every watched asset's latest materialisation in one query of the instance's asset records.
        records = context.instance.get_asset_records([dg.AssetKey.from_user_string(asset) for asset in policies])
        materialized = {
            record.asset_entry.asset_key.to_user_string(): record.asset_entry.last_materialization for record in records
        }
        last = {asset: event.timestamp if (event := materialized.get(asset)) else None for asset in policies}
        states, raised = evaluate(policies, last, previous, clock())
        for alert in raised:
            alerts.send(alert)
        context.update_cursor(json.dumps({asset: state.to_json() for asset, state in states.items()}))
        late = sorted(asset for asset, state in states.items() if state.late)
        return dg.SkipReason(f"late: {', '.join(late) or 'none'}; {len(raised)} alert(s) sent")

    return freshness_alerts
