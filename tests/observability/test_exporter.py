"""The metrics exporter is a small process: it imports none of the pipeline's heavy libraries.

It reads the instance through GraphQL and the landing zone from the file system, so Dagster,
Polars, Pandera, DuckDB and dbt would be dead weight in it: over a thousand modules and a second
or more at every start. What a process has imported shows only in a fresh one (this test process
has them all), so each check starts its own.
"""

import json
import socket

from assets.layers import raw_asset_key
from config.names import asset_key_string, raw_asset_path
from tests.support.processes import run_python

HEAVY = ("dagster", "polars", "pandera", "pandas", "duckdb", "dbt", "dagster_dbt")
# The command's entry module and the modules it uses.
EXPORTER = (
    "observability.exporter",
    "observability.metrics",
    "observability.dagster_state",
    "observability.graphql",
    "observability.landing_backlog",
)
# Generous: a few tenths of a second on an idle machine, several times that on a busy 2-core one.
IMPORT_CEILING_SECONDS = 3.0

# Prints a JSON line after the imports, and one after a start and a scrape with Dagster down.
SCRIPT = """
import importlib, json, sys, time

HEAVY, EXPORTER, GRAPHQL_URL = {heavy!r}, {exporter!r}, {graphql_url!r}


def heavy():
    return sorted({{name.partition(".")[0] for name in sys.modules}} & set(HEAVY))


started = time.perf_counter()
for module in EXPORTER:
    importlib.import_module(module)
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "modules": len(sys.modules), "heavy": heavy()}}), flush=True)

from observability.exporter import pipeline_collector
from observability.graphql import DagsterGraphQL, DagsterUnavailableError
from config.settings import Settings

collector = pipeline_collector(Settings(), DagsterGraphQL(GRAPHQL_URL, timeout=10))
try:
    collector.ledger.catch_up(collector.client)
except DagsterUnavailableError:
    pass
families = {{family.name: [sample.value for sample in family.samples] for family in collector.collect()}}
print(json.dumps({{"families": families, "heavy": heavy()}}), flush=True)
"""


def test_the_exporter_starts_and_scrapes_without_dagster_polars_pandera_or_duckdb(tmp_path, synthetic_settings):
    # A port bound but not listening: Dagster's GraphQL refuses every connection, at once.
    with socket.socket() as nobody:
        nobody.bind(("127.0.0.1", 0))
        graphql_url = f"http://127.0.0.1:{nobody.getsockname()[1]}/graphql"
        script = SCRIPT.format(heavy=HEAVY, exporter=EXPORTER, graphql_url=graphql_url)
        content = {"DATAOPS_DATASETS_PATH": str(synthetic_settings.datasets_path)}
        ran = run_python(["-c", script], env={"DATAOPS_DATA_DIR": str(tmp_path), **content})
    lines = [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]
    assert lines, ran.stdout + ran.stderr
    imported = lines[0]
    print(f"exporter imports: {imported['modules']} modules in {imported['seconds']:.2f} s")
    assert imported["heavy"] == [], f"importing the exporter imported {imported['heavy']}"
    assert imported["seconds"] < IMPORT_CEILING_SECONDS, imported
    assert ran.returncode == 0, ran.stdout + ran.stderr
    scraped = lines[1]
    assert scraped["heavy"] == [], f"starting the exporter and scraping it imported {scraped['heavy']}"
    assert scraped["families"]["dataops_dagster_up"] == [0], "Dagster does not answer: the scrape says so"
    waiting = scraped["families"]["dataops_landing_files_waiting"]
    assert waiting and set(waiting) == {0}, "a value for every dataset, and nothing waits in an empty landing zone"


def test_the_exporter_spells_the_raw_assets_keys_as_dagster_does(datasets):
    for name in datasets:
        assert asset_key_string(raw_asset_path(name)) == raw_asset_key(name).to_user_string()
