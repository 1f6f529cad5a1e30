"""The one place that reads the environment.

Everything that differs between dev, test and prod (where the data lives, which warehouse file,
which dbt target) is a field here. Code never calls ``os.environ`` itself: it receives a ``Settings``
object, so tests build one explicitly instead of patching the process environment.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Literal, ParamSpec, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.project import NAME
from warehouse.lake_settings import conninfo_problem, is_object_storage

# MB of landed files a load takes at a time (``load_batch_mb``). A batch's frames take a few times
# its size (text, typed, valid) and a load holds two batches (one committing while the next is
# read), so this bounds a load's memory. Pandera's cost is mostly per call, so much smaller batches
# cost time.
DEFAULT_LOAD_BATCH_MB = 32

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The dbt target of the lake backend (dbt_project/profiles.yml); the file backend's are the envs.
LAKE_DBT_TARGET = "lake"
LAKE_S3_DBT_TARGET = "lake_s3"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def shown(path: Path) -> Path:
    """A path as the commands print it: relative to the project's root when it is inside it."""
    return path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path


Environment = Literal["dev", "test", "prod"]
# duckdb: one DuckDB file, one writer at a time (the embedded default, nothing to start).
# ducklake: a DuckLake catalog in PostgreSQL with data files in a folder or an S3 bucket; many
# writers and readers at once, from any machine (warehouse/ducklake.py).
Backend = Literal["duckdb", "ducklake"]
FILE_BACKEND: Backend = "duckdb"
LAKE_BACKEND: Backend = "ducklake"

# Secrets are read from these variables when a connection is opened, never kept in a setting, a
# file or a resource's config (Dagster shows resource config in its UI).
LAKE_PASSWORD_VARIABLE = "DATAOPS_LAKE_CATALOG_PASSWORD"
PROD_LAKE_PASSWORD_VARIABLE = "DATAOPS_PROD_LAKE_CATALOG_PASSWORD"
S3_SECRET_VARIABLE = "DATAOPS_S3_SECRET_ACCESS_KEY"
OPENLINEAGE_API_KEY_VARIABLE = "DATAOPS_OPENLINEAGE_API_KEY"


class Settings(BaseSettings):
    """Typed settings, from ``DATAOPS_*`` environment variables or a ``.env`` file at the root."""

    model_config = SettingsConfigDict(
        env_prefix="DATAOPS_",
        env_file=PROJECT_ROOT / ".env",
        extra="ignore",
        frozen=True,
    )

    env: Environment = "dev"
    # Dagster's own variable, read here like every other: the instance that commands run outside
    # `dagster dev` (backfill, cleanup) record their runs in. Unset: they keep none.
    dagster_home: Path | None = Field(default=None, validation_alias="DAGSTER_HOME")
    # Root of all local data: landing zone, archive and warehouse files live below it.
    data_dir: Path = PROJECT_ROOT / "data"
    # Defaults (when left unset) derive from data_dir and env; see _derive_paths.
    landing_dir: Path | None = None
    archive_dir: Path | None = None
    # Files that cannot be loaded, moved out of landing with a note of why (ingestion/rejection.py).
    rejected_dir: Path | None = None
    warehouse_path: Path | None = None
    # How much of the landed files (MB of file) a load reads, validates and commits at a time: a
    # load's memory follows this, not the number of days it covers (ingestion/load.py).
    load_batch_mb: int = Field(default=DEFAULT_LOAD_BATCH_MB, ge=1)
    # How long each tick of the landing sensor keeps watching the landing zone for a file when it
    # finds none (sensors/landing.py): Dagster's sensor daemon starts a tick every 5 s at best, so
    # without watching a file waits 2.5 s on average before anyone looks. Keep it under 5 s; 0
    # looks once per tick.
    landing_watch_seconds: float = Field(default=3.5, ge=0, lt=5)
    # The production warehouse. Only a process with env=prod may write it (warehouse/environment.py);
    # dev and test read it, never write it, and write their own warehouse_path.
    prod_warehouse_path: Path | None = None
    # The dataset declarations: a folder of YAML files (each with a `datasets:` mapping), or one file.
    datasets_path: Path = PROJECT_ROOT / "config" / "datasets"
    # The dbt project (models, macros, tests) and the package of the Python analytics (analytics/):
    # with the datasets, the project's own content. Tests point them at a small synthetic project.
    dbt_project_dir: Path = DBT_PROJECT_DIR
    analytics_package: str = "analytics"
    backend: Backend = FILE_BACKEND
    # DuckLake (backend=ducklake). The catalog: a libpq key=value DSN without the password
    # (the password is in DATAOPS_LAKE_CATALOG_PASSWORD). One PostgreSQL database per environment.
    lake_catalog: str | None = None
    # Where the lake's Parquet files go: a folder (default data/lake/<env>/) or s3://bucket/prefix/.
    lake_data_path: str | None = None
    # Prod's lake, read by dev and test through a role that can only read (password in
    # DATAOPS_PROD_LAKE_CATALOG_PASSWORD): PostgreSQL itself refuses their writes.
    prod_lake_catalog: str | None = None
    prod_lake_data_path: str | None = None
    # Secrets: only ever from the environment (or .env), shown nowhere. Resources receive them as
    # dg.EnvVar, so Dagster's UI shows the variable's name, never its value.
    lake_catalog_password: SecretStr | None = None
    prod_lake_catalog_password: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    # How many runs may write the lake at once (the file backend always allows one).
    lake_writers: int = Field(default=4, ge=1)
    # How long any statement on the lake's catalog waits for a lock another session holds (a reader's
    # forgotten transaction, another instance's maintenance) before it fails as a transient fault.
    lake_lock_timeout_seconds: float = Field(default=60.0, gt=0)
    # How long a build waits for another instance's build of the same lake before it fails (retried).
    lake_build_wait_seconds: float = Field(default=600.0, gt=0)
    # The S3-compatible store of s3:// data paths (secret key in DATAOPS_S3_SECRET_ACCESS_KEY).
    s3_endpoint: str | None = None  # host:port; unset for AWS
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_url_style: Literal["path", "vhost"] = "path"
    s3_use_ssl: bool = True
    # Where DuckDB keeps the extensions the lake needs, installed from their locked PyPI packages.
    duckdb_extension_dir: Path = PROJECT_ROOT / ".duckdb" / "extensions"
    # dbt target in dbt_project/profiles.yml; defaults to the environment's name.
    dbt_target: str | None = None
    # Where prod's dbt builds publish their manifest, and where `impact` reads it (slim CI: build
    # only what changed, deferring the rest to prod). Developers point this at a copy of prod's.
    dbt_state_dir: Path | None = None
    # How many days `dagster dev` seeds into an empty landing zone so the demo is ready.
    seed_days: int = 7
    # Alerts always go to this JSON-lines file; a webhook (generic JSON or Slack) when set.
    alerts_file: Path | None = None
    alert_webhook_url: str | None = None
    alert_webhook_format: Literal["json", "slack"] = "json"
    # Warehouse snapshots (operations/backup.py): where they go and how many the backup keeps.
    backup_dir: Path | None = None
    backup_keep: int = Field(default=7, ge=1)
    # Lifecycle clean-up (operations/lifecycle.py): what may go, after how many days.
    # A dev/test warehouse file nobody has touched for this long (prod's never goes).
    idle_warehouse_days: int = Field(default=30, ge=1)
    # Archived deliveries older than this, except each partition's newest (the rows' source).
    archive_retention_days: int = Field(default=90, ge=1)
    # Quarantined rows loaded longer ago than this.
    quarantine_retention_days: int = Field(default=90, ge=1)
    # The lake's snapshots older than this are expired (the window of time travel), and the files
    # only they used are deleted; so are files in the data path that no snapshot knows.
    lake_snapshot_retention_days: int = Field(default=7, ge=1)
    # How many days back the pipeline performance report looks.
    report_days: int = Field(default=7, ge=1)
    # Finished runs (their records and event logs) older than this go in the lifecycle clean-up,
    # except each job's latest: Dagster OSS has no run retention of its own (operations/lifecycle.py).
    run_retention_days: int = Field(default=90, ge=1)
    # Observability (README, "Observability"). The metrics exporter (observability/exporter.py):
    # where it serves /metrics, and the webserver's GraphQL API it reads the instance through.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    dagster_graphql_url: str = "http://127.0.0.1:3000/graphql"
    # How often it reads newly finished runs (scrapes read the present state themselves).
    metrics_poll_seconds: float = Field(default=5.0, gt=0)
    # OpenLineage run events (sensors/lineage.py): to this JSON-lines file, unless a lineage
    # server's URL (Marquez: http://host:5000) is set; its API key, if any, in
    # DATAOPS_OPENLINEAGE_API_KEY. The namespace of the jobs; datasets are named by the warehouse.
    lineage_file: Path | None = None
    openlineage_url: str | None = None
    openlineage_endpoint: str = "api/v1/lineage"
    openlineage_api_key: SecretStr | None = None
    openlineage_namespace: str | None = None

    @model_validator(mode="after")
    def _check_lake(self) -> Settings:
        for name in ("lake_catalog", "prod_lake_catalog"):
            value = getattr(self, name)
            problem = value is not None and conninfo_problem(value)
            if problem:
                raise ValueError(f"DATAOPS_{name.upper()} {problem}")
        if self.uses_lake and self.lake_catalog is None:
            raise ValueError("backend=ducklake needs DATAOPS_LAKE_CATALOG (host=... port=... dbname=... user=...)")
        return self

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        data_dir = self.data_dir.resolve()
        derived = {
            "data_dir": data_dir,
            "landing_dir": (self.landing_dir or data_dir / "landing").resolve(),
            "archive_dir": (self.archive_dir or data_dir / "archive").resolve(),
            "rejected_dir": (self.rejected_dir or data_dir / "rejected").resolve(),
            "warehouse_path": (self.warehouse_path or data_dir / "warehouse" / f"{self.env}.duckdb").resolve(),
            "prod_warehouse_path": (self.prod_warehouse_path or data_dir / "warehouse" / "prod.duckdb").resolve(),
            "alerts_file": (self.alerts_file or data_dir / "alerts" / "alerts.jsonl").resolve(),
            "lineage_file": (self.lineage_file or data_dir / "lineage" / "openlineage.jsonl").resolve(),
            "openlineage_namespace": self.openlineage_namespace or f"{NAME}-{self.env}",
            "backup_dir": (self.backup_dir or data_dir / "backups").resolve(),
            "dbt_state_dir": (self.dbt_state_dir or data_dir / "dbt-state").resolve(),
            "dbt_target": self.dbt_target or self._default_dbt_target(),
            "lake_data_path": self.lake_data_path or str(data_dir / "lake" / self.env) + "/",
            "prod_lake_data_path": self.prod_lake_data_path or str(data_dir / "lake" / "prod") + "/",
        }
        # The model is frozen for callers; filling derived defaults once here is the exception.
        for name, value in derived.items():
            object.__setattr__(self, name, value)
        return self

    @property
    def uses_lake(self) -> bool:
        return self.backend == LAKE_BACKEND

    def environment(self) -> dict[str, str]:
        """The ``DATAOPS_*`` variables that give a child process (a server, a run worker) these settings.

        Only what was set explicitly: the rest is derived there the same way. Secrets are left out:
        they travel in the environment itself, never through a settings object.
        """
        variables = {}
        for name in sorted(self.model_fields_set):
            value = getattr(self, name)
            if value is None or isinstance(value, SecretStr):
                continue
            variables[f"{self.model_config['env_prefix']}{name.upper()}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
        return variables

    def _default_dbt_target(self) -> str:
        if not self.uses_lake:
            return self.env
        return LAKE_S3_DBT_TARGET if is_object_storage(self.lake_data_path or "") else LAKE_DBT_TARGET

    # Narrowed accessors: after validation these are never None.
    landing = property(lambda self: _derived(self.landing_dir))
    archive = property(lambda self: _derived(self.archive_dir))
    rejected = property(lambda self: _derived(self.rejected_dir))
    alerts = property(lambda self: _derived(self.alerts_file))
    lineage = property(lambda self: _derived(self.lineage_file))

    @property
    def lineage_namespace(self) -> str:
        assert self.openlineage_namespace is not None, "filled in by Settings._derive_paths"
        return self.openlineage_namespace

    warehouse = property(lambda self: _derived(self.warehouse_path))
    prod_warehouse = property(lambda self: _derived(self.prod_warehouse_path))
    dbt_state = property(lambda self: _derived(self.dbt_state_dir))
    backups = property(lambda self: _derived(self.backup_dir))


def _derived(path: Path | None) -> Path:
    assert path is not None, "filled in by Settings._derive_paths"
    return path


P = ParamSpec("P")
R = TypeVar("R")


class SettingsError(ValueError):
    """Settings that cannot be used, one line per problem, each naming its variable."""


def describe_errors(error: ValidationError) -> str:
    """A pydantic error as lines a user can act on: ``DATAOPS_X=value: what it accepts``."""
    lines = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        if problem["loc"]:
            variable = f"{Settings.model_config['env_prefix']}{str(problem['loc'][0]).upper()}"
            given = problem.get("input")
            shown = "" if isinstance(given, dict) or given is None else f"={given}"
            lines.append(f"{variable}{shown}: {message[:1].lower()}{message[1:]}")
        else:
            lines.append(message)
    return "\n".join(lines)


@cache
def get_settings() -> Settings:
    """Settings of this process, read once (when definitions load, never at import)."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe_errors(error)) from None


def exits_on_settings_error(main: Callable[P, R]) -> Callable[P, R]:
    """For a command's ``main``: unusable settings end it with their lines and exit status 1, no traceback."""

    @functools.wraps(main)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return main(*args, **kwargs)
        except SettingsError as error:
            raise SystemExit(f"settings: {error}") from None

    return run
