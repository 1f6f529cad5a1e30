"""The Dagster instance a command records its runs in: DAGSTER_HOME's, when it is set."""

from __future__ import annotations

import os

import dagster as dg


def instance_or_none() -> dg.DagsterInstance | None:
    """The instance of DAGSTER_HOME, or None when the variable is unset.

    Asked of the environment, not by catching Dagster's error, so a broken dagster.yaml is reported
    as itself rather than taken for "no home".
    """
    if not os.environ.get("DAGSTER_HOME"):
        return None
    return dg.DagsterInstance.get()
