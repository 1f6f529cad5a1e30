"""Every name this project takes from dagster-dbt's internals, and why.

dagster-dbt is pinned in uv.lock, so these move only with a deliberate upgrade; this is the one
module to read when doing one. A name gone fails every import of the code location; a changed
behaviour fails tests/resources/test_dbt_in_process.py and the dbt asset's tests.

dbt runs in the run worker's own process (resources/dbt.py, resources/dbt_in_process.py). The
resource builds that invocation as ``DbtCliResource.cli`` builds its subprocess's: the same run
selection from the context (the run's subset of models and checks), the same per-invocation target
folder, seeded with the last parse state. These are the helpers ``cli`` builds it with.
"""

from dagster_dbt.asset_utils import extract_runtime_selection_from_args, get_updated_cli_invocation_params_for_context
from dagster_dbt.core.dbt_cli_invocation import PARTIAL_PARSE_FILE_NAME, _get_dbt_target_path
from dagster_dbt.dagster_dbt_translator import validate_opt_translator
from dagster_dbt.dbt_manifest import DbtManifestParam, validate_manifest

__all__ = [
    "PARTIAL_PARSE_FILE_NAME",
    "DbtManifestParam",
    "_get_dbt_target_path",
    "extract_runtime_selection_from_args",
    "get_updated_cli_invocation_params_for_context",
    "validate_manifest",
    "validate_opt_translator",
]
