"""The run watchdog's view of a worker: alive, gone, or its pid taken by a newer process."""

import os
import subprocess
import time

from sensors.run_watchdog import process_alive, process_start_time


def test_a_running_process_is_alive():
    assert process_alive(os.getpid(), not_started_after=time.time())


def test_a_process_that_exited_is_gone():
    child = subprocess.Popen(["true"])
    child.wait()
    assert not process_alive(child.pid, not_started_after=time.time())


def test_a_pid_that_a_newer_process_took_is_not_the_worker():
    # This process started well after the "run" below: its pid cannot be that run's worker.
    started = process_start_time(os.getpid())
    assert started is not None and abs(started - time.time()) < 24 * 3600
    assert not process_alive(os.getpid(), not_started_after=started - 3600)
