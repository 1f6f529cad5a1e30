"""The warehouse's schemas and how its tables are named: the one home of these names.

The layers of the asset graph carry the same names as the schemas their assets write
(assets/layers.py); dbt's schemas (dbt_project/dbt_project.yml) are checked against these by
tests/dbt_project/test_project.py, and the generated dbt sources (contract/dbt_sources.py) name
the raw schema from here.
"""

from __future__ import annotations

RAW = "raw"  # validated rows, one table per dataset
QUARANTINE = "quarantine"  # rejected rows with their reasons, one table per dataset
META = "meta"  # the pipeline's own records: loads, claims, mart versions, the environment
STAGING = "staging"  # dbt's views over raw
AUDIT = "audit"  # dbt's new version of the marts, tested before it is published
MARTS = "marts"  # the published marts readers read
ANALYTICS = "analytics"  # the Python analytics' tables
# Created with a new warehouse; dbt creates its own (staging, audit) and publishing the marts'.
CREATED_WITH_THE_WAREHOUSE = (RAW, QUARANTINE, META, ANALYTICS)


def qualified(schema: str, table: str) -> str:
    """``schema.table``. Safe to put in SQL: schema names are the constants above and table names
    are validated identifiers (dataset names, config/datasets.py; model names, dbt)."""
    return f"{schema}.{table}"


def raw_table(dataset: str) -> str:
    return qualified(RAW, dataset)


def quarantine_table(dataset: str) -> str:
    return qualified(QUARANTINE, dataset)


def meta_table(name: str) -> str:
    return qualified(META, name)
