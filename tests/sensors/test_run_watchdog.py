"""The run watchdog's view of a worker: alive, gone, or its pid taken by a newer process."""

import os
import subprocess
import time

import dagster as dg

from sensors.run_watchdog import died_unreported, process_alive, process_facts


def test_a_running_process_is_alive():
    assert process_alive(os.getpid(), not_started_after=time.time())


def test_a_process_that_exited_is_gone():
    child = subprocess.Popen(["true"])
    child.wait()
    assert not process_alive(child.pid, not_started_after=time.time())


def test_a_pid_that_a_newer_process_took_is_not_the_worker():
    # This process started well after the "run" below: its pid cannot be that run's worker.
    facts = process_facts(os.getpid())
    assert facts is not None
    started = facts[0]
    assert abs(started - time.time()) < 24 * 3600
    assert not process_alive(os.getpid(), not_started_after=started - 3600)


def exited_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_run_whose_worker_is_gone_while_it_is_still_started_died_unreported():
    with dg.instance_for_test() as instance:
        run = instance.add_run(dg.DagsterRun(job_name="ingest", status=dg.DagsterRunStatus.STARTED))
        assert died_unreported(instance, run.run_id, exited_pid(), started=time.time())


def test_a_run_that_ended_between_the_listing_and_the_pid_check_is_left_alone():
    # The sensor lists STARTED runs, then looks at their workers. A worker that stored the run's
    # success and exited in between is gone, and its run is not a dead one (failing it re-ran its
    # last step: seen as an extra analytics run in the daemon tests).
    with dg.instance_for_test() as instance:
        listed = instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", status=dg.DagsterRunStatus.STARTED))
        instance.handle_run_event(
            listed.run_id,
            dg.DagsterEvent(event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name="__ASSET_JOB"),
        )
        assert instance.get_run_by_id(listed.run_id).status == dg.DagsterRunStatus.SUCCESS
        assert not died_unreported(instance, listed.run_id, exited_pid(), started=time.time())
