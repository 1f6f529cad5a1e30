"""What a copy of the project holds after a contract change, for tests/contract/test_contract_change.py.

    python -m tests.demo.support.contract_change [--versions | --build]

Run in the copy (tests/support/new_dataset.py: run_in), with its settings. Prints one JSON line:
raw flights per day, the new column's filled rows per day in raw and in fct_flights, the raw
columns' types, how many versions were published, and whether the published marts equal what a
full refresh of the same warehouse publishes (it runs one, last).
"""

from __future__ import annotations

import json
import sys

from config.settings import get_settings
from publishing.marts import PUBLISHED, VERSIONS
from tests.demo.support.pipeline import Pipeline
from tests.support.warehouse import query


def per_day(settings, sql: str) -> dict[str, int]:
    return {str(day): count for day, count in query(settings, sql)}


def published_versions(settings) -> int:
    return query(settings, f"SELECT count(*) FROM {VERSIONS} WHERE outcome = ?", [PUBLISHED])[0][0]


def main() -> None:
    settings = get_settings()
    if sys.argv[1:] == ["--versions"]:  # only how many versions were published so far
        print(json.dumps({"published_versions": published_versions(settings)}))
        return
    if sys.argv[1:] == ["--build"]:  # a build before any file of the new shape loaded, as automation may run it
        result = Pipeline(settings).run_build()
        failures = [str(event.step_failure_data.error) for event in result.all_events if event.is_step_failure]
        seats = query(settings, "SELECT count(*), count(seats) FROM marts.fct_flights") if result.success else []
        print(json.dumps({"success": result.success, "failures": failures, "fct_rows_and_seats": seats}))
        return
    report = {
        "raw": per_day(settings, "SELECT _partition_date, count(*) FROM raw.flights GROUP BY 1"),
        "raw_seats": per_day(settings, "SELECT _partition_date, count(seats) FROM raw.flights GROUP BY 1"),
        "raw_tail_numbers": per_day(settings, "SELECT _partition_date, count(tail_number) FROM raw.flights GROUP BY 1"),
        "raw_types": dict(query(settings, "SELECT column_name, column_type FROM (DESCRIBE raw.flights)")),
        "quarantined": query(settings, "SELECT count(*) FROM quarantine.flights")[0][0],
        "fct": per_day(settings, "SELECT flight_date, count(*) FROM marts.fct_flights GROUP BY 1"),
        "fct_seats": per_day(settings, "SELECT flight_date, count(seats) FROM marts.fct_flights GROUP BY 1"),
        "published_versions": published_versions(settings),
    }
    pipeline = Pipeline(settings)
    published = pipeline.marts()
    pipeline.build(full_refresh=True)
    refreshed = pipeline.marts()
    report["differ_from_a_full_refresh"] = sorted(
        name for name in refreshed if not published[name].equals(refreshed[name])
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
