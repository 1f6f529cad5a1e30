"""A catalog that goes away right after a load's commit does not fail the load that committed.

The lake's catalog is a PostgreSQL server of this module's own, stopped between the load's commit
and the report it makes afterwards (the day's row count against its history). The rows are in and
the file has left landing, so a failed load would leave nothing to re-request them: the load must
succeed, say that its volume was not judged and why, and the next load judges its own days.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from ingestion.load import load_partitions
from resources.warehouse import WarehouseResource
from tests.support import postgres
from tests.support.warehouse import query
from tests.synthetic import feed
from warehouse.faults import Cause, cause_of

pytestmark = pytest.mark.integration

DAYS = [day.isoformat() for day in feed.days(2)]


def test_a_catalog_gone_after_the_commit_leaves_the_load_committed_and_its_volume_unjudged(
    own_postgres, own_lake, datasets
):
    data_dir, _ = own_postgres
    settings = own_lake
    feed.land(settings, feed.days(2))
    warehouse = WarehouseResource.for_settings(settings)
    sessions = 0

    @contextmanager
    def writer_that_loses_its_catalog_after_the_commit():
        """The warehouse's own writer; the server stops before the session after the commit opens."""
        nonlocal sessions
        sessions += 1
        if sessions == 2:  # one batch: its commit was session 1, the volume report is session 2
            postgres.stop(data_dir)
        with warehouse.writer() as connection:
            yield connection

    try:
        outcome = load_partitions(
            datasets["orders"],
            DAYS[:1],
            settings.landing,
            settings.archive,
            writer_that_loses_its_catalog_after_the_commit,
            "catalog-gone",
        )
    finally:
        postgres.start_again(data_dir)

    assert sessions == 2
    assert outcome.complete and outcome.volume is None
    assert outcome.volume_unread is not None and cause_of(outcome.volume_unread) == Cause.CATALOG_UNREACHABLE
    assert postgres.PASSWORD not in outcome.volume_unread
    assert query(settings, "SELECT count(*) FROM raw.orders") == [(feed.orders_frame(feed.FIRST_DAY).height,)]
    # The next day's load, the catalog back, judges its own day.
    following = load_partitions(
        datasets["orders"], DAYS[1:], settings.landing, settings.archive, warehouse.writer, "catalog-back"
    )
    assert following.volume is not None and following.volume_unread is None
