"""How the exporter labels a check's latest outcome (observability/metrics.py)."""

from observability.dagster_state import LatestCheck
from observability.metrics import check_failing


def test_every_failed_check_is_counted_whatever_its_kind():
    assert check_failing(LatestCheck("pandera_validation", "FAILED", "ERROR")) == ("ERROR", True)
    assert check_failing(LatestCheck("volume_anomaly", "FAILED", "WARN")) == ("WARN", True)
    # A check whose execution failed was never evaluated, so it has no severity of its own: it counts
    # as an ERROR, so that the DataopsCheckFailing alert (severity="ERROR") fires for it.
    assert check_failing(LatestCheck("pandera_validation", "EXECUTION_FAILED", None)) == ("ERROR", True)
    assert check_failing(LatestCheck("schema_drift", "SUCCEEDED", "WARN")) == ("WARN", False)
    assert check_failing(LatestCheck("schema_drift", "NOT_EVALUATED", None)) is None
