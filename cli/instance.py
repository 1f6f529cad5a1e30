"""The Dagster instance a command records its runs in: DAGSTER_HOME's, when it is set."""

from __future__ import annotations

import dagster as dg

from config.settings import Settings


def instance_or_none(settings: Settings) -> dg.DagsterInstance | None:
    """The instance of DAGSTER_HOME, or None when the variable is unset.

    Asked of the settings, not by catching Dagster's error, so a broken dagster.yaml is reported
    as itself rather than taken for "no home".
    """
    return dg.DagsterInstance.get() if settings.dagster_home is not None else None
