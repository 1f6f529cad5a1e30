"""Declarative automation: when derived assets refresh by themselves, and why.

Raw assets are started by the landing sensor. Everything downstream refreshes on its own when its
inputs change, through the automation sensor (sensors/automation.py). Labels show in the UI's
automation view, so each clause explains itself there.

Why not ``AutomationCondition.eager()``: it waits while *any* partition of an input is missing.
A day whose file failed validation stays missing until it is re-delivered, and eager would then
hold back every later day. Here an input only has to exist (one materialised partition); the bad
day's rows never reached its raw table, so refreshing without it publishes nothing unvalidated.
"""

import dagster as dg

AC = dg.AutomationCondition

REFRESH_ON_UPSTREAM_UPDATE = (
    AC.any_deps_updated().since_last_handled().with_label("an input was updated since the last refresh")
    & AC.all_deps_match(~AC.missing() | AC.will_be_requested()).with_label("every input table exists")
    # A burst of landed files queues many raw loads: waiting for them all coalesces one refresh.
    & (~AC.any_deps_in_progress()).with_label("no input is being loaded right now")
    & (~AC.in_progress()).with_label("not already refreshing")
).with_label("refresh when inputs update")

# For assets downstream of dbt: additionally, no error-severity dbt test (a blocking check) failed.
# WARN-severity tests are not blocking, so the known gaps in the real data do not stop analytics.
REFRESH_AFTER_CHECKS_PASS = (
    REFRESH_ON_UPSTREAM_UPDATE & AC.all_deps_blocking_checks_passed().with_label("blocking checks of inputs passed")
).with_label("refresh when inputs update and their blocking checks pass")
