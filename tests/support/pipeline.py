"""The pipeline driven as a backfill drives it, for tests that follow a sequence of deliveries:
deliver files into landing, load them in real Dagster runs, build downstream, read the marts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from functools import cache
from pathlib import Path

import dagster as dg
import polars as pl

from assets.dbt_assets import DBT_ASSETS_NAME
from assets.layers import ANALYTICS
from cli.backfill import register_days
from config.datasets import load_datasets
from config.settings import DBT_PROJECT_DIR, Settings
from definitions import build_definitions
from ingestion.changes import CHANGED_DAYS
from ingestion.landing import dataset_landing_dir, write_atomically
from jobs.landing import RANGE_END_TAG, RANGE_START_TAG, ingest_job_for, refresh_targets
from publishing.marts import AuditedModel, audited_models
from resources.dbt import dbt_project
from tests.support.warehouse import query
from tests.synthetic import feed


@cache
def _audited(project_dir: Path) -> dict[str, AuditedModel]:
    """The audited models of a dbt project's manifest (read once: tests ask on every read of the marts)."""
    return audited_models(json.loads(dbt_project(project_dir).manifest_path.read_text()))


def audited_marts(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, str | None]:
    """Each audited mart and the day column it is published by (None: replaced whole), from the manifest."""
    return {name: model.day_column for name, model in sorted(_audited(project_dir).items())}


def audited_model(name: str, project_dir: Path = DBT_PROJECT_DIR) -> AuditedModel:
    return _audited(project_dir)[name]


class Pipeline:
    """Deliver files into landing, then load them and build downstream as a backfill would."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.datasets = load_datasets(settings.datasets_path)
        self.defs = build_definitions(settings)
        self.instance = dg.DagsterInstance.ephemeral()

    def deliver(self, dataset: str, day: date | None, data: bytes) -> None:
        config = self.datasets[dataset]
        target = dataset_landing_dir(self.settings.landing, dataset) / config.file_name_for(day)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, data)

    def load(self, names: Sequence[str], days: Sequence[date] = ()) -> None:
        """One load run of ``names`` for ``days`` (consecutive partitions) or of reference data."""
        assert self.run_load(names, days).success

    def run_load(self, names: Sequence[str], days: Sequence[date] = ()) -> dg.ExecuteInProcessResult:
        """One load run, as ``load``, whatever its outcome."""
        job = ingest_job_for(self.defs, [self.datasets[name] for name in names])
        tags = {"datasets": ",".join(names)}
        if days:
            keys = [day.isoformat() for day in days]
            register_days(self.instance, self.datasets, keys, date.today())
            tags |= {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
        return job.execute_in_process(instance=self.instance, tags=tags, raise_on_error=False)

    def land_days(self, days: Sequence[date], reference: bool = True, daily: Sequence[str] = feed.DAILY) -> None:
        """Deliver and load the synthetic feed: the reference files (unless told not to), then the
        ``daily`` datasets' files of ``days`` in one load run."""
        if reference:
            feed.land(self.settings, reference=True)
            self.load(feed.REFERENCE)
        feed.land(self.settings, days, *daily)
        self.load(daily, days)

    def run_build(self, full_refresh: bool = False, analytics: bool = False) -> dg.ExecuteInProcessResult:
        """One run building downstream: the dbt models and the source tests, and the analytics if asked."""
        refresh = refresh_targets(self.defs.assets or [], self.datasets)
        selection = refresh.selection if analytics else refresh.selection - dg.AssetSelection.key_prefixes([ANALYTICS])
        return dg.materialize(
            list(self.defs.assets or []),
            selection=selection,
            instance=self.instance,
            resources=self.defs.resources,
            run_config={"ops": {DBT_ASSETS_NAME: {"config": {"full_refresh": full_refresh}}}},
            raise_on_error=False,
        )

    def build(self, full_refresh: bool = False) -> dict[str, list[date]]:
        """Build downstream; returns the days each per-day mart was given to rebuild."""
        assert self.run_build(full_refresh).success
        rows = query(self.settings, f"SELECT model, day FROM {CHANGED_DAYS} ORDER BY ALL")
        per_day = [name for name, day_column in self.audited_marts().items() if day_column]
        return {model: [day for name, day in rows if name == model] for model in per_day}

    def marts(self) -> dict[str, pl.DataFrame]:
        """Every published mart, its rows sorted: what a reader sees."""
        return {name: self.table("marts", name) for name in self.audited_marts()}

    def audited_marts(self) -> dict[str, str | None]:
        return audited_marts(self.settings.dbt_project_dir)

    def table(self, schema: str, name: str) -> pl.DataFrame:
        [(columns,)] = query(
            self.settings,
            "SELECT list(column_name ORDER BY ordinal_position) FROM information_schema.columns"
            " WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            [schema, name],
        )
        rows = query(self.settings, f"SELECT * FROM {schema}.{name} ORDER BY ALL")
        return pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
