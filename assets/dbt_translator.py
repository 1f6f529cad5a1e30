"""The only place that maps dbt nodes to Dagster asset keys, groups and metadata.

- Source ``raw`` table X is the asset ``raw/X``, the Python asset that writes ``raw.X``: the generated
  _sources.yml gives each table that key (``meta.dagster.asset_key``, contract/dbt_sources.py), so
  lineage joins with no mapping here.
- A model is keyed by its folder: ``models/staging/stg_orders.sql`` -> ``staging/stg_orders``,
  tagged ``layer: staging``; marts likewise. Every asset is in the one pipeline group (assets/layers.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from assets.automation import (
    MATERIALIZED_TAG,
    REFRESH_ON_UPSTREAM_UPDATE,
    REFRESH_VIEW,
    RUN_SOURCE_TESTS,
    run_with_model,
)
from assets.layers import PIPELINE_GROUP, RAW


class ProjectDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        # Source tests (e.g. unique keys on raw reference tables) become checks on the raw assets.
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)  # meta.dagster.asset_key
        return dg.AssetKey([self._layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return REFRESH_VIEW if _materialized(dbt_resource_props) == "view" else REFRESH_ON_UPSTREAM_UPDATE

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        # Source tests check a raw table after it loads; model tests run with their model.
        condition = RUN_SOURCE_TESTS if asset_spec.key.path[0] == RAW else run_with_model(asset_spec.key)
        return dg.AssetCheckSpec(
            spec.name,
            asset=spec.asset_key,
            description=spec.description or describe_test(manifest["nodes"][unique_id], spec.asset_key),
            additional_deps=spec.additional_deps,
            blocking=spec.blocking,
            metadata=spec.metadata,
            automation_condition=condition,
            partitions_def=spec.partitions_def,
        )

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        if dbt_resource_props["resource_type"] == "model":
            tags[MATERIALIZED_TAG] = _materialized(dbt_resource_props)
            tags["layer"] = self._layer(dbt_resource_props)
        return tags

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return PIPELINE_GROUP  # layers are key prefixes, not groups (assets/layers.py)

    @staticmethod
    def _layer(dbt_resource_props: Mapping[str, Any]) -> str:
        # fqn is [project, folder, ..., model]; a model at the top of models/ has no folder.
        fqn = dbt_resource_props["fqn"]
        return fqn[1] if len(fqn) > 2 else "models"


def _materialized(dbt_resource_props: Mapping[str, Any]) -> str:
    return dbt_resource_props.get("config", {}).get("materialized", "view")


def describe_test(node: Mapping[str, Any], tested: dg.AssetKey) -> str:
    """What a dbt test checks and what its failure does, for a test with no description of its own
    (generic tests rarely have one): the UI shows it on the check."""
    test = node.get("test_metadata") or {}
    arguments = {key: value for key, value in (test.get("kwargs") or {}).items() if key != "model"}
    column = arguments.pop("column_name", None)
    table = ".".join(tested.path) if tested.path[0] == RAW else tested.path[-1]
    subject = f"column {column} of {table}" if column else table
    details = ", ".join(f"{key}: {value}" for key, value in sorted(arguments.items()))
    severity = str((node.get("config") or {}).get("severity") or "error").upper()
    effect = (
        "a failure fails the build and nothing is published"
        if severity == "ERROR"
        else "a failure is a warning: reported, never blocking"
    )
    return f"dbt test {test.get('name') or node['name']} on {subject}{f' ({details})' if details else ''}; {effect}."
