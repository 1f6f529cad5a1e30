"""The lake's build lock (warehouse/build_lock.py): held in the catalog, named to whoever waits, and
gone with its holder, even one killed with SIGKILL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from config.settings import LAKE_PASSWORD_VARIABLE
from resources.warehouse import transient_cause
from tests.support import postgres
from warehouse.build_lock import BuildLockTimeout, build_lock
from warehouse.ducklake import LakeConnectionError, LakeLocation
from warehouse.faults import Cause

pytestmark = pytest.mark.integration

# Another Dagster instance's build: it takes the lock, says so, and holds it until killed.
OTHER_BUILD = """
import os, sys, time
from warehouse.build_lock import build_lock
from warehouse.ducklake import LakeConnectionError, LakeLocation
lake = LakeLocation(sys.argv[1], "unused", password=os.environ["DATAOPS_LAKE_CATALOG_PASSWORD"])
with build_lock(lake, "run-of-the-other-instance", wait_seconds=60):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_build_waits_for_another_instances_build_names_it_and_goes_once_it_is_killed(lake_catalogs):
    catalog = lake_catalogs()["lake_catalog"]
    lake = LakeLocation(catalog, "unused", password=postgres.PASSWORD)
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_BUILD, catalog],
        env={**os.environ, LAKE_PASSWORD_VARIABLE: postgres.PASSWORD},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        told: list[str] = []
        with (
            pytest.raises(BuildLockTimeout) as waited,
            build_lock(lake, "run-of-this-instance", wait_seconds=1, waiting=told.append),
        ):
            pytest.fail("two builds held the lake's build lock at once")
        assert len(told) == 1 and "dataops build run-of-the-other-instance" in told[0]  # said once, naming it
        assert "dataops build run-of-the-other-instance" in str(waited.value)
        assert f"pid {other.pid}" in str(waited.value)  # the holder's own process, on its host
        assert transient_cause(waited.value) == Cause.BUILD_LOCKED  # the step retries later

        os.kill(other.pid, signal.SIGKILL)  # no goodbye: PostgreSQL ends its session, and the lock
        other.wait()
        started = time.monotonic()
        with build_lock(lake, "run-of-this-instance", wait_seconds=120):
            taken_after = time.monotonic() - started
    finally:
        other.kill()
        other.wait()
    assert taken_after < 60


def test_a_catalog_that_cannot_be_reached_for_the_lock_is_a_named_transient_fault(lake_catalogs):
    catalog = lake_catalogs()["lake_catalog"]
    closed = LakeLocation(re.sub(r"port=\d+", "port=9", catalog), "unused", password=postgres.PASSWORD)
    with pytest.raises(LakeConnectionError) as refused, build_lock(closed, "run", wait_seconds=1):
        pytest.fail("a lock was taken on a server that is not there")
    assert transient_cause(refused.value) == Cause.CATALOG_UNREACHABLE
    assert postgres.PASSWORD not in str(refused.value)
