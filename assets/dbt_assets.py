"""The dbt models (staging and marts) as Dagster assets, built with one ``dbt build``: write, audit, publish.

dbt writes the marts into the audit schema and tests them there; readers never look there. Only
when the whole build passed does the asset publish them, all at once, in one transaction
(publishing/marts.py). When an error-severity test (or a model) fails, nothing is published: the
readers' marts stay as they were, what the build wrote is kept as ``audit_failed_<run>``, and the
step fails naming it, as do the failed check and the alert.

dbt runs as a process of its own (dagster-dbt's ``DbtCliResource``) and holds the DuckDB file
read-write until it has exited, so the asset lets dbt finish before it touches the warehouse:
then it publishes, and adds to each mart's materialisation the version published, whether its
audit passed, and row and null counts.

The per-day marts rebuild only the days their inputs changed on. Before dbt starts, the asset
claims the deliveries they have not been built from (ingestion/changes.py); publishing consumes
them in its own transaction, so a failed or killed build leaves them for the next one.
"""

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from assets.dbt_translator import ProjectDbtTranslator
from config.datasets import DatasetConfig
from contract.dbt_sources import RAW_SOURCE
from ingestion.changes import CHANGED_DAYS, Claim, Gate, claim_changes
from ingestion.storage import align_raw_tables
from publishing.marts import (
    AuditedModel,
    Publication,
    PublishError,
    audited_models,
    keep_failed,
    publish,
    published_version,
    tidy,
)
from publishing.shapes import Reshaping, model_shapes, reshaped
from resources.dbt import keep_parse_state, prune_invocations
from resources.dbt_state import DbtStateResource
from resources.warehouse import WarehouseResource, retry_only_transient, retry_or_fail
from warehouse.catalog import table_exists
from warehouse.faults import cause_of

# The op that runs `dbt build`; also how `impact` finds the dbt assets in the code location.
DBT_ASSETS_NAME = "dbt_models"
# Where the docs explain what a kept failed version is and how to fix or discard it.
DOCS_SECTION = "docs/data-quality.md, 'Kept failed versions'"


def build_args(
    warehouse_vars: Mapping[str, str], full_refresh: bool = False, unloaded: Sequence[str] = ()
) -> list[str]:
    """The `dbt build` command line; pure, so it is tested without running dbt.

    ``unloaded``: sources with no table yet (``unloaded_sources``), left out with all they feed.
    """
    variables = {**warehouse_vars, "changed_days_relation": CHANGED_DAYS}
    args = ["build", "--vars", json.dumps(variables)]
    if full_refresh:
        args.append("--full-refresh")
    if unloaded:
        args += ["--exclude", " ".join(f"source:{source}+" for source in unloaded)]
    return args


def unloaded_sources(connection: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any]) -> list[str]:
    """The dbt sources (``source_name.table``) whose table the warehouse does not have yet.

    A raw table is made by the first load of its dataset. Reference files can land before any day
    of a daily dataset: then there is nothing to build the marts from, and dbt would fail on the
    missing table (a failed run and an alert for data that simply has not come yet).
    """
    return sorted(
        f"{source['source_name']}.{source['name']}"
        for source in manifest["sources"].values()
        if not table_exists(connection, f"{source['schema']}.{source['identifier']}")
    )


def per_day_models(manifest: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Each per-day audited model's name and the raw datasets it reads, directly or through other models."""
    nodes, sources = manifest["nodes"], manifest["sources"]

    def datasets(unique_id: str, seen: set[str]) -> set[str]:
        if unique_id in seen:
            return set()
        seen.add(unique_id)
        if unique_id in sources:
            source = sources[unique_id]
            return {source["name"]} if source["source_name"] == RAW_SOURCE else set()
        node = nodes.get(unique_id)
        if node is None:
            return set()
        return set().union(*(datasets(parent, seen) for parent in node["depends_on"]["nodes"]))

    by_day = {name for name, model in audited_models(manifest).items() if model.day_column}
    return {
        node["name"]: frozenset(datasets(unique_id, set()))
        for unique_id, node in nodes.items()
        if node["resource_type"] == "model" and node["name"] in by_day
    }


def claim_gates(manifest: Mapping[str, Any], built: set[str]) -> list[Gate]:
    """For each per-day model, the per-day models upstream of it that this build does not build
    (``built``: the names of the models it does), with the datasets it reads through them."""
    nodes = manifest["nodes"]
    datasets = per_day_models(manifest)
    by_name = {node["name"]: unique_id for unique_id, node in nodes.items() if node["resource_type"] == "model"}

    def ancestors(unique_id: str, seen: set[str]) -> set[str]:
        for parent in nodes.get(unique_id, {}).get("depends_on", {}).get("nodes", []):
            if parent in nodes and parent not in seen:
                seen.add(parent)
                ancestors(parent, seen)
        return seen

    return [
        Gate(model, upstream, dataset)
        for model in sorted(datasets)
        for upstream in sorted({nodes[uid]["name"] for uid in ancestors(by_name[model], set())} & datasets.keys())
        if upstream not in built
        for dataset in sorted(datasets[model] & datasets[upstream])
    ]


def _results(invocation_dir: Path) -> list[dict[str, Any]]:
    """dbt's run results (none if dbt did not get to write run_results.json: it failed before running anything)."""
    path = invocation_dir / "run_results.json"
    return json.loads(path.read_text())["results"] if path.exists() else []


def built_models(invocation_dir: Path) -> set[str]:
    """Models that dbt built successfully in an invocation."""
    return {
        result["unique_id"].split(".")[-1]
        for result in _results(invocation_dir)
        if result["unique_id"].startswith("model.") and result["status"] == "success"
    }


def waiting_for(context: dg.AssetExecutionContext) -> Callable[[str], None]:
    """What a build says in its run's log when another build of the warehouse (from another Dagster
    instance) holds it: which build, so that a build that seems idle is not taken for a hung one."""

    def say(holder: str) -> None:
        context.log.info(f"another build of the warehouse is running ({holder}); this one waits for it")

    return say


def build_fault(invocation_dir: Path, error: str) -> str | None:
    """The transient fault that stopped a build (warehouse/faults.py), in words; None if it was not one.

    From each failed node's message in dbt's run results; when dbt stopped before running any node
    (it could not open the warehouse), from its error. A test that could not run because the
    catalog restarted is such a fault, not a failed audit.
    """
    results = _results(invocation_dir)
    messages = [
        (result["unique_id"].split(".")[2], result.get("message") or "")
        for result in results
        if result["status"] in ("error", "fail", "runtime error")
    ]
    if not results:
        messages = [("dbt", error)]
    for node, message in messages:
        cause = cause_of(message)
        if cause is not None:
            return f"{cause} ({node}: {message.strip().splitlines()[0] if message.strip() else 'no message'})"
    return None


def failed_tests(invocation_dir: Path) -> set[str]:
    """Tests of an invocation that failed at error severity, or could not run (a warning is not a failure)."""
    return {
        result["unique_id"].split(".")[2]
        for result in _results(invocation_dir)
        if result["unique_id"].startswith("test.") and result["status"] in ("fail", "error")
    }


def table_profile(connection: duckdb.DuckDBPyConnection, relation: str) -> dict[str, Any]:
    """Row count and per-column null counts of a warehouse relation, in one scan."""
    columns = [row[0] for row in connection.execute(f"DESCRIBE {relation}").fetchall()]
    counts = ", ".join(f'count(*) - count("{column}")' for column in columns)
    row = connection.execute(f"SELECT count(*), {counts} FROM {relation}").fetchone()
    assert row is not None
    return {"dagster/row_count": int(row[0]), "null_counts": dict(zip(columns, map(int, row[1:]), strict=True))}


@dataclass(frozen=True)
class BuildOutcome:
    """What became of a build's new version: published, or kept aside because it failed."""

    published: int | None  # the version readers see now (the new one, or the one before a failure)
    publication: Publication | None = None
    kept_as: str | None = None
    # Per audited model: rows it holds as published, and null counts of the rows this build wrote.
    profiles: Mapping[str, Mapping[str, Any]] | None = None
    after_publishing: str | None = None  # why the profiles or the clean-up after publishing did not happen

    def metadata(self, model: AuditedModel) -> dict[str, Any]:
        published = {"published_version": self.published if self.published is not None else "none yet"}
        if self.publication is None:
            return {**published, "audit": "failed: not published", "kept_as": f"{self.kept_as}.{model.name}"}
        days = self.publication.days_replaced.get(model.name)
        return {
            **published,
            "audit": "passed",
            "published_as": model.published_table,
            "publish_seconds": round(self.publication.seconds, 3),
            "days_published": days if days is not None else "all (replaced whole)",
            **(self.profiles or {}).get(model.name, {}),
        }


def _profile(connection: duckdb.DuckDBPyConnection, model: AuditedModel) -> dict[str, Any]:
    """Rows in the published table, and null counts of the rows this build wrote (no rescan of the history)."""
    [(rows,)] = connection.execute(f"SELECT count(*) FROM {model.published_table}").fetchall()
    written = table_profile(connection, model.audit_table)
    return {
        "dagster/row_count": int(rows),
        "rows_written": written["dagster/row_count"],
        "null_counts_of_rows_written": written["null_counts"],
    }


def _publish_or_keep(
    connection: duckdb.DuckDBPyConnection,
    models: list[AuditedModel],
    run_id: str,
    claim: Claim,
    succeeded: bool,
    failed: set[str],
    full_refresh: bool,
    reshaping: Reshaping,
) -> tuple[BuildOutcome, str | None]:
    """Publish a build that passed; keep one that failed. Returns the outcome and why it failed.

    A build that wrote no mart (the source tests alone, the staging views) has nothing to publish:
    the version stays, and nothing is recorded.
    """
    if succeeded and not models:
        current = published_version(connection)
        return BuildOutcome(current, Publication(current or 0, (), {}, 0.0)), None
    if succeeded:
        try:
            publication = publish(connection, models, run_id, claim, full_refresh, reshaping)
        except PublishError as error:
            why: str | None = str(error)
        else:
            try:
                profiles = {model.name: _profile(connection, model) for model in models}
                tidy(connection, models)
            except Exception as error:  # published already: a report or a clean-up must not fail the build
                return BuildOutcome(
                    publication.version, publication, after_publishing=f"{type(error).__name__}: {error}"
                ), None
            return BuildOutcome(publication.version, publication, profiles=profiles), None
    else:
        why = None
    kept_as = keep_failed(connection, models, run_id, failed, full_refresh) if models else None
    return BuildOutcome(published_version(connection), kept_as=kept_as), why


def _annotated(
    events: list[Any], manifest: Mapping[str, Any], audited: Mapping[str, AuditedModel], outcome: BuildOutcome
) -> Iterator[Any]:
    """dbt's events, each mart's Output saying what was published, a failed check naming the kept version."""
    for event in events:
        if isinstance(event, dg.Output):
            # dagster-dbt tags each model's Output with its dbt unique_id (a TextMetadataValue).
            unique_id = event.metadata.get("unique_id")
            node = manifest["nodes"].get(unique_id.value) if unique_id is not None else None
            model = audited.get(node["name"]) if node is not None else None
            if model is not None:
                event = dg.Output(
                    value=event.value,
                    output_name=event.output_name,
                    metadata={**event.metadata, **outcome.metadata(model)},
                    data_version=event.data_version,
                    tags=event.tags,
                )
        elif (
            isinstance(event, dg.AssetCheckResult)
            and not event.passed
            and event.severity == dg.AssetCheckSeverity.ERROR
            and outcome.kept_as is not None
        ):
            event = dg.AssetCheckResult(
                passed=False,
                asset_key=event.asset_key,
                check_name=event.check_name,
                severity=event.severity,
                metadata={**event.metadata, "kept_as": outcome.kept_as},
                description=(
                    f"dbt test {event.check_name} failed on the new version: it was not published (readers "
                    f"still see version {outcome.published}); it is kept as schema {outcome.kept_as} "
                    f"({DOCS_SECTION})"
                ),
            )
        yield event


class DbtBuildConfig(dg.Config):
    """The one knob a user needs from the launchpad."""

    full_refresh: bool = False


def build_dbt_assets(project: DbtProject, pool: str, datasets: Mapping[str, DatasetConfig]) -> dg.AssetsDefinition:
    """The dbt models as assets; ``pool``: the transforms' writer pool (resources/pools.py)."""
    translator = ProjectDbtTranslator()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        name=DBT_ASSETS_NAME,
        pool=pool,
    )
    def dbt_models(
        context: dg.AssetExecutionContext,
        config: DbtBuildConfig,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        dbt_state: DbtStateResource,
    ) -> Iterator[Any]:
        # The whole build (claim, dbt, publish) under the warehouse's build lock, so that builds from
        # other Dagster instances on the same lake wait (warehouse/build_lock.py).
        with ExitStack() as held:
            with retry_only_transient(context.retry_number):
                warehouse.assert_writable()  # dbt opens the warehouse itself: hold it to the production guard first
                held.enter_context(warehouse.build_lock(context.run.run_id, waiting=waiting_for(context)))
            manifest = json.loads(Path(project.manifest_path).read_text())
            audited = audited_models(manifest)
            with retry_only_transient(context.retry_number):
                warehouse.prepare_for_dbt()
                with warehouse.writer() as connection:  # the writer slot is held only for the claim itself
                    unpublished = frozenset(
                        name for name, model in audited.items() if not table_exists(connection, model.published_table)
                    )
                    aligned = align_raw_tables(connection, datasets)
                    shapes = model_shapes(manifest, audited)
                    whole = reshaped(connection, shapes) - unpublished
                    built = {key.path[-1] for key in context.selected_asset_keys}
                    claim = claim_changes(
                        connection, per_day_models(manifest), unpublished | whole, claim_gates(manifest, built)
                    )
                    unloaded = unloaded_sources(connection, manifest)
            if aligned:
                context.log.info(
                    f"{', '.join(aligned)}: given the columns their contracts declare now (null until reloaded)"
                )
            _log_claim(context, claim, config.full_refresh, unpublished, whole)
            if unloaded:
                context.log.warning(
                    f"not built yet: what reads {', '.join(unloaded)}, which no load has made yet (no file of those "
                    "datasets has landed); it builds with the first refresh after their first load"
                )
            invocation = dbt.cli(
                build_args(warehouse.dbt_vars(), config.full_refresh, unloaded), context=context, raise_on_error=False
            )
            # Drain dbt completely before touching the warehouse: it holds the write lock until it exits.
            events = list(invocation.stream())
            target_dir = Path(project.project_dir, project.target_path)
            invocation_dir = Path(invocation.project_dir, invocation.target_path)
            keep_parse_state(target_dir, invocation_dir)
            fault = None if invocation.is_successful() else build_fault(invocation_dir, str(invocation.get_error()))
            if fault is not None:
                # Nothing is published or kept, and no check is reported: the build did not judge the
                # data. The claimed days stay unconsumed for the retry.
                prune_invocations(target_dir)
                context.log.warning(f"dbt build stopped by a transient fault, nothing published: {fault}")
                raise retry_or_fail(context.retry_number, fault)
            models = [audited[name] for name in sorted(built_models(invocation_dir) & audited.keys())]
            failed = failed_tests(invocation_dir)
            with retry_only_transient(context.retry_number), warehouse.writer() as connection:
                outcome, unpublishable = _publish_or_keep(
                    connection,
                    models,
                    context.run.run_id,
                    claim,
                    invocation.is_successful(),
                    failed,
                    config.full_refresh,
                    Reshaping(whole, shapes),
                )
            if outcome.after_publishing is not None:
                context.log.warning(
                    f"published, but the row counts and the clean-up of the audit schema did not happen: "
                    f"{outcome.after_publishing} (the next build cleans up)"
                )
            if outcome.publication is not None:
                publication = outcome.publication
                context.log.info(
                    f"published version {publication.version} ({', '.join(publication.models)}) "
                    f"in {publication.seconds:.2f} s"
                    if publication.models
                    else f"no mart was built, so nothing to publish: readers keep version {outcome.published}"
                )
                # In prod: what slim CI defers to. Only a complete build is published, so every
                # relation the manifest names exists in prod's warehouse.
                if not unloaded:
                    dbt_state.publish_manifest(invocation_dir)
            prune_invocations(target_dir)
            yield from _annotated(events, invocation.manifest, audited, outcome)
            if outcome.publication is None:
                error = unpublishable or str(invocation.get_error())
                kept = f"; what it wrote is kept as schema {outcome.kept_as}" if outcome.kept_as else ""
                tests = f" (failed: {', '.join(sorted(failed))})" if failed else ""
                # A failed test or a SQL error fails the same way again: no retry.
                raise dg.Failure(
                    description=(
                        f"dbt build failed{tests}: {error}. Nothing was published: readers still see version "
                        f"{outcome.published if outcome.published is not None else '(none yet)'}{kept} ({DOCS_SECTION})"
                    ),
                    metadata={"dbt_command": " ".join(invocation.dbt_command), "kept_as": outcome.kept_as or ""},
                    allow_retries=False,
                )

    return dbt_models


def _log_claim(
    context: dg.AssetExecutionContext,
    claim: Claim,
    full_refresh: bool,
    unpublished: frozenset[str],
    whole: frozenset[str],
) -> None:
    if full_refresh:
        context.log.info("full refresh: every per-day mart rebuilds every day")
        return
    for model, days in sorted(claim.days.items()):
        why = ""
        if model in unpublished:
            why = " (not published yet, so it builds every loaded day)"
        elif model in whole:
            why = (
                " (its SQL, the SQL it reads or a raw table's columns changed since it was published: it builds "
                "every day and is published whole)"
            )
        context.log.info(f"{model}: {days} changed day(s) to rebuild{why}")
