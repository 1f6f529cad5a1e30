"""The only place that maps dbt nodes to Dagster asset keys, groups and metadata.

- Source ``raw`` table X is the asset ``raw/X``: exactly the key the ingestion factory gives the
  Python asset that writes ``raw.X``, so lineage joins with no per-table mapping to keep in sync.
- A model is keyed by its folder: ``models/staging/stg_flights.sql`` -> ``staging/stg_flights``,
  grouped ``staging``; marts likewise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from assets.automation import REFRESH_ON_UPSTREAM_UPDATE
from assets.ingestion_factory import RAW_GROUP, raw_asset_key

RAW_SOURCE = "raw"


class FlightsDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        # Source tests (e.g. unique keys on raw reference tables) become checks on the raw assets.
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            if dbt_resource_props["source_name"] == RAW_SOURCE:
                return raw_asset_key(dbt_resource_props["name"])
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([self._layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return REFRESH_ON_UPSTREAM_UPDATE

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return RAW_GROUP
        return self._layer(dbt_resource_props)

    @staticmethod
    def _layer(dbt_resource_props: Mapping[str, Any]) -> str:
        # fqn is [project, folder, ..., model]; a model at the top of models/ has no folder.
        fqn = dbt_resource_props["fqn"]
        return fqn[1] if len(fqn) > 2 else "models"
