"""Every name this project takes from Dagster's private modules (``dagster._*``), and why.

Dagster is pinned exactly (pyproject.toml), so these move only with a deliberate upgrade; this is
the one module to read when doing one. tests/compat/test_dagster.py fails, naming the name and this
module, when an upgrade moves one of them. Everything else in the project uses Dagster's public API.
"""

# What ``dg.FreshnessPolicy.time_window(...)`` returns, to read its windows back: the freshness
# alerts and the performance report judge an asset's age against them. Dagster exports only the
# ``FreshnessPolicy`` factory, whose result has no public accessor for the windows. Tried: keeping
# the windows beside the policy in the dataset config only; the policy on the asset is what Dagster
# itself evaluates and shows, so the alerts read that, not a copy that could disagree.
from dagster._core.definitions.freshness import TimeWindowFreshnessPolicy

# What ``dg.define_asset_job`` returns, for type hints of the functions that build and pass jobs
# around (jobs/, sensors/). Dagster does not export the class. Tried: ``dg.JobDefinition``, which is
# what the job becomes only once resolved against the definitions; a job built by a factory is not one.
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

# The status of an asset check's execution (succeeded, failed, skipped) in the records the
# performance report counts. Not exported. Tried: comparing the enum's value as text, which would
# break silently instead of at import.
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

__all__ = [
    "AssetCheckExecutionRecordStatus",
    "TimeWindowFreshnessPolicy",
    "UnresolvedAssetJobDefinition",
]
