"""The dbt project names the warehouse's schemas as warehouse/layout.py does (YAML cannot import them)."""

import yaml

from config.project import IDENTIFIER
from config.settings import DBT_PROJECT_DIR
from warehouse.layout import AUDIT, MARTS, STAGING


def test_dbt_writes_staging_and_audit_and_publishes_to_the_marts_schema():
    models = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["models"][IDENTIFIER]
    assert models["staging"]["+schema"] == STAGING
    assert models["marts"]["+schema"] == AUDIT
    assert models["marts"]["+meta"]["publish_to"] == MARTS
