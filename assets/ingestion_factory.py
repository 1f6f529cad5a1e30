"""The one factory that turns a dataset config entry into its raw ingestion asset and checks.

For each dataset in ``config/datasets/`` it builds ``raw/<name>``: a Polars asset that reads
the partition's landed file, casts and validates it against the dataset's Pandera model, and
commits valid rows to ``raw.<name>`` and rejected rows to ``quarantine.<name>`` in one transaction
(ingestion/load.py: the file is archived first, and leaves landing after the commit). The
Pandera outcome is the asset's blocking ``pandera_validation`` check.

Daily datasets support single-run backfills (``context.partition_keys`` is the whole range), so a
year of files is one run and one downstream dbt build, not 365 of each. The run streams the range
in batches of ``load_batch_mb`` (one transaction each), so its memory does not grow with the range.
"""

from collections.abc import Iterator, Mapping
from datetime import timedelta

import dagster as dg

from assets.ingestion_report import (
    LISTED,
    file_metadata,
    log_batch,
    materialization_metadata,
    nothing_to_judge_check,
    schema_drift_check,
    validation_check,
    volume_check,
    volume_unjudged_check,
)
from assets.layers import PIPELINE_GROUP, RAW, raw_asset_key
from assets.metadata import column_schema
from assets.partitions import partitions_for
from config.datasets import DatasetConfig
from config.names import SCHEMA_DRIFT_CHECK, VALIDATION_CHECK, VOLUME_CHECK
from ingestion.casting import model_dtypes
from ingestion.lineage import lineage_columns, raw_columns
from ingestion.load import load_partitions
from resources.landing import LandingZoneResource
from resources.warehouse import WarehouseResource, retry_only_transient
from warehouse.layout import quarantine_table, raw_table


def _freshness(dataset: DatasetConfig) -> dg.FreshnessPolicy | None:
    if dataset.freshness is None:
        return None
    return dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=dataset.freshness.fail_after_hours),
        warn_window=timedelta(hours=dataset.freshness.warn_after_hours),
    )


def _spec_metadata(dataset: DatasetConfig) -> Mapping[str, object]:
    lineage = lineage_columns(daily=dataset.kind == "daily")
    columns = raw_columns(model_dtypes(dataset.schema_class), daily=dataset.kind == "daily")
    # What each column means, as the contract's Pandera fields say (Field(description=...)).
    described = {name: column.description for name, column in dataset.schema_class.to_schema().columns.items()}
    descriptions = described | {column.name: column.description for column in lineage}
    return {
        "dagster/column_schema": column_schema(columns, descriptions),
        "dagster/table_name": raw_table(dataset.name),
        "file_pattern": dataset.file_pattern,
        "primary_key": list(dataset.primary_key),
        "pandera_schema": f"schemas/{dataset.schema_ref.replace('.', '.py:')}",
        "reject_threshold": dataset.reject_threshold,
    }


def _ingest(
    context: dg.AssetExecutionContext,
    dataset: DatasetConfig,
    warehouse: WarehouseResource,
    landing_zone: LandingZoneResource,
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization | dg.AssetCheckResult]:
    """Run the load (ingestion/load.py) and turn its outcome into the asset's events and checks."""
    keys: list[str | None] = list(context.partition_keys) if dataset.kind == "daily" else [None]
    outcome = load_partitions(
        dataset,
        keys,
        landing_zone.landing,
        landing_zone.archive,
        warehouse.writer,
        context.run.run_id,
        batch_bytes=landing_zone.batch_bytes,
        progress=lambda reports: log_batch(context.log, reports),
    )
    for skipped in outcome.invalid_keys:
        context.log.warning(skipped)
    unread = [*outcome.missing, *outcome.untrusted]
    for problem in unread:
        context.log.error(problem)
    checks = [validation_check(dataset, outcome.summary, unread), schema_drift_check(outcome.summary)]
    if outcome.volume is not None:
        checks.append(volume_check(outcome.volume))
    elif outcome.volume_unread is not None:
        context.log.warning(
            f"{dataset.name}: loaded, but the volume check could not read the history: {outcome.volume_unread}"
        )
        checks.append(volume_unjudged_check(outcome.volume_unread))
    elif dataset.kind == "daily":  # said, not left "execution failed" in the UI when every file was refused
        checks.append(nothing_to_judge_check())
    if outcome.complete:
        yield dg.MaterializeResult(metadata=materialization_metadata(outcome.summary), check_results=checks)
        return
    # Some partitions are bad: record the good ones one by one, then fail the step so nothing
    # downstream runs on this data (unless the only trouble was junk partition keys, which are
    # skipped). Failure(allow_retries=False): a bad file does not improve on retry.
    for report in outcome.loaded:
        if report.partition_key is not None:
            yield dg.AssetMaterialization(
                asset_key=raw_asset_key(dataset.name), partition=report.partition_key, metadata=file_metadata(report)
            )
    yield from checks
    failure = outcome.failure(dataset.name)
    if failure is not None:
        raise dg.Failure(
            description=failure,
            metadata={"problems": outcome.problems()[:LISTED], "quarantine_table": quarantine_table(dataset.name)},
            allow_retries=False,
        )


def _check_specs(dataset: DatasetConfig, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(
            VALIDATION_CHECK,
            asset=key,
            blocking=True,
            description=f"Every record checked against {dataset.schema_ref} (Pandera, lazy): "
            f"WARN when records are quarantined, ERROR over {dataset.reject_threshold:.0%} "
            "or when the file's columns are wrong.",
        ),
        dg.AssetCheckSpec(
            SCHEMA_DRIFT_CHECK, asset=key, description="WARN on a new, missing or retyped column in a landed file."
        ),
    ]
    if dataset.kind == "daily":
        specs.append(
            dg.AssetCheckSpec(
                VOLUME_CHECK,
                asset=key,
                description="WARN when a day's row count is outside the band of the same weekday's recent days "
                "(median +/- 5 robust sigma); with less than four weeks of history, outside "
                f"{dataset.volume.min_share:g}-{dataset.volume.max_ratio:g}x the median of recent days.",
            )
        )
    return specs


def ingestion_check_keys(dataset: DatasetConfig) -> list[dg.AssetCheckKey]:
    """The checks the ingestion asset itself reports (not the dbt source tests on its table)."""
    key = raw_asset_key(dataset.name)
    return [spec.key for spec in _check_specs(dataset, key)]


def build_ingestion_asset(dataset: DatasetConfig, pool: str) -> dg.AssetsDefinition:
    """The raw/<name> asset of one dataset, with its blocking validation check."""
    key = raw_asset_key(dataset.name)
    partitions = partitions_for(dataset)

    @dg.asset(
        key=key,
        group_name=PIPELINE_GROUP,
        description=f"{dataset.description}\n\nLoaded from `{dataset.file_pattern}` files in the landing zone, "
        f"validated by `{dataset.schema_ref}`; rejected rows go to `{quarantine_table(dataset.name)}`.",
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run() if partitions else None,
        check_specs=_check_specs(dataset, key),
        metadata=_spec_metadata(dataset),
        kinds={"polars", "duckdb"},
        pool=pool,
        # A run may end with per-partition materialisations and no result for the whole range
        # (junk partition keys skipped): that is a success, not a missing output.
        output_required=False,
        freshness_policy=_freshness(dataset),
        tags={"dataset": dataset.name, "layer": RAW},
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing_zone: LandingZoneResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization | dg.AssetCheckResult]:
        with retry_only_transient(context.retry_number):
            yield from _ingest(context, dataset, warehouse, landing_zone)

    return _asset


def build_ingestion_assets(datasets: Mapping[str, DatasetConfig], pool: str) -> list[dg.AssetsDefinition]:
    """One raw asset per dataset; ``pool``: the loads' writer pool (resources/pools.py)."""
    return [build_ingestion_asset(dataset, pool) for dataset in datasets.values()]
