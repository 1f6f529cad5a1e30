"""Declarative automation: when derived assets refresh by themselves, and why.

Raw assets are started by the landing sensor. Everything downstream refreshes on its own through
the automation sensor (sensors/automation.py). Labels show in the UI's automation view.

Two kinds of dbt model behave differently:
- A *view* (staging) is a stored query over its input: it is current the moment its input changes,
  so it is rebuilt only when it is missing or its SQL changed, never for new data.
- A *table* (marts) holds a copy: it is rebuilt when an input changed, looking through views to
  the raw tables behind them. It waits while any of those inputs is still loading, so a burst of
  landed files (many raw loads) becomes one dbt build at the end, not one per load.

Why not ``AutomationCondition.eager()``: it waits while *any* partition of an input is missing. A
day whose file failed validation stays missing until it is re-delivered, and eager would then hold
back every later day. Here an input only has to exist; the bad day never reached its raw table.
"""

import dagster as dg

AC = dg.AutomationCondition
MATERIALIZED_TAG = "dbt_materialized"  # set on every dbt asset by assets/dbt_translator.py
VIEWS = dg.AssetSelection.tag(MATERIALIZED_TAG, "view")


def through_views(condition: dg.AutomationCondition) -> dg.AutomationCondition:
    """True if ``condition`` holds for an input, where a view input stands for the inputs behind it."""
    direct = AC.any_deps_match(condition).ignore(VIEWS)
    behind_views = AC.any_deps_match(AC.any_deps_match(condition)).allow(VIEWS)
    return direct | behind_views


INPUTS_EXIST = AC.all_deps_match(~AC.missing() | AC.will_be_requested()).with_label("every input exists")
NOT_RUNNING = (~AC.in_progress()).with_label("not already running")

REFRESH_VIEW = (
    (AC.missing() | AC.code_version_changed()).since_last_handled().with_label("missing, or its SQL changed")
    & INPUTS_EXIST
    & (~AC.any_deps_in_progress()).with_label("its input is not loading")
    & NOT_RUNNING
).with_label("build the view when missing or changed")

REFRESH_ON_UPSTREAM_UPDATE = (
    through_views(AC.newly_updated() | AC.will_be_requested())
    .since_last_handled()
    .with_label("an input (or the table behind a view input) was updated")
    & INPUTS_EXIST
    & (~through_views(AC.in_progress())).with_label("no input is loading (a burst ends first)")
    & NOT_RUNNING
).with_label("refresh when inputs update")

# For assets downstream of dbt: additionally, no error-severity dbt test (a blocking check) failed.
# WARN-severity tests are not blocking, so the known gaps in the real data do not stop analytics.
REFRESH_AFTER_CHECKS_PASS = (
    REFRESH_ON_UPSTREAM_UPDATE & AC.all_deps_blocking_checks_passed().with_label("blocking checks of inputs passed")
).with_label("refresh when inputs update and their blocking checks pass")

# dbt source tests are checks on the raw assets, run by dbt. They run once a load has finished, in
# the same tick (and so the same dbt run) as the table refresh that the load triggers.
RUN_SOURCE_TESTS = (
    AC.any_deps_match(AC.newly_updated()).since_last_handled().with_label("the raw table was loaded")
    & (~AC.any_deps_in_progress()).with_label("the load has finished")
).with_label("test the raw table after each load")

# dbt model tests run whenever their model is built (dbt build does that); saying so lets the
# blocking-check condition above see them coming, so analytics join the same tick as the marts.
# A relationship test also depends on the model on its other side (a staging view): only the table
# it checks is its trigger, never a view.
RUN_WITH_MODEL = AC.any_deps_match(AC.will_be_requested()).ignore(VIEWS).with_label("its table is being built")
