"""The automation sensor that evaluates the assets' automation conditions (assets/automation.py).

Dagster's built-in one starts stopped; this one is on by default, so landing a file is enough to
refresh everything downstream.
"""

import dagster as dg

# Evaluating conditions is cheap; a short interval keeps file-to-mart latency low.
AUTOMATION_INTERVAL_SECONDS = 5

automation_sensor = dg.AutomationConditionSensorDefinition(
    name="automation_sensor",
    target=dg.AssetSelection.all(),
    # Evaluated in the code server, like the other sensors: the conditions include one written in
    # Python (NoLoadInFlight, assets/automation.py), which the daemon alone cannot run.
    use_user_code_server=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=AUTOMATION_INTERVAL_SECONDS,
    description="Refreshes dbt models and analytics when their inputs update (see assets/automation.py).",
)
