"""The freshness evaluation on its own: late once, recovered once, and data that never came."""

from observability.freshness import FreshnessPolicy, evaluate

HOUR = 3600.0
POLICY = {"raw/orders": FreshnessPolicy("raw/orders", fail_after=48 * HOUR, expected="orders_{date}.csv")}


def run(ticks: list[tuple[float, float | None]]) -> list[list[tuple[str, str]]]:
    """Evaluate at each (now, last materialisation); the alerts of each tick as (kind, title)."""
    state, raised = {}, []
    for now, last in ticks:
        state, alerts = evaluate(POLICY, {"raw/orders": last}, state, now)
        raised.append([(alert.kind, alert.title) for alert in alerts])
    return raised


def test_data_past_its_policy_alerts_once_and_once_more_when_it_recovers():
    loaded = 1_000_000.0
    raised = run(
        [
            (loaded + 1 * HOUR, loaded),  # fresh: a first look says nothing
            (loaded + 47.9 * HOUR, loaded),
            (loaded + 48 * HOUR, loaded),  # late from the moment the window has passed
            (loaded + 49 * HOUR, loaded),  # still late: no second alert
            (loaded + 72 * HOUR, loaded),
            (loaded + 73 * HOUR, loaded + 72.5 * HOUR),  # a new file was loaded
            (loaded + 74 * HOUR, loaded + 72.5 * HOUR),
        ]
    )
    assert raised == [
        [],
        [],
        [("late_data", "raw/orders is late: nothing new for 48.0 h (policy: late after 48.0 h)")],
        [],
        [],
        [("data_recovered", "raw/orders is fresh again after 25.0 h late")],
        [],
    ]


def test_data_that_never_came_is_late_a_policy_window_after_the_watch_began():
    began = 5_000_000.0
    raised = run([(began, None), (began + 47 * HOUR, None), (began + 48.5 * HOUR, None), (began + 60 * HOUR, None)])
    assert raised[:2] == [[], []]
    [(kind, title)] = raised[2]
    assert (kind, title) == ("late_data", "raw/orders is late: nothing new for 48.5 h (policy: late after 48.0 h)")
    assert raised[3] == []


def test_the_alert_says_what_was_expected_and_when_it_last_came():
    state, [alert] = evaluate(POLICY, {"raw/orders": 0.0}, {}, 50 * HOUR)
    assert alert.asset == "raw/orders"
    assert alert.details.startswith("Expected: orders_{date}.csv. Last materialised 1970-01-01T00:00:00+00:00.")
    assert state["raw/orders"].late
