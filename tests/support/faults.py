"""Faults made for real during a test run: the lake's catalog server stopped, or its object store
unplugged, at a chosen moment."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

import psutil

from resources.dbt import DBT_EXECUTABLE
from tests.support import postgres

# Generous: on a busy machine a dbt process takes seconds to start and to fail.
WAIT_SECONDS = 300


def dbt_build_child() -> psutil.Process | None:
    """This process's `dbt build` child, if one is running."""
    for child in psutil.Process().children(recursive=True):
        with suppress(psutil.Error):
            command = child.cmdline()
            if Path(DBT_EXECUTABLE).name in " ".join(command) and "build" in command:
                return child
    return None


@contextmanager
def down_during_the_next_dbt_build(stop: Callable[[], None], start: Callable[[], None]) -> Iterator[list[str]]:
    """Take a service down (``stop``) as soon as a `dbt build` child starts; bring it back (``start``)
    once that child has exited. Yields what happened, in order."""
    happened: list[str] = []

    def watch() -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while (child := dbt_build_child()) is None:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        stop()
        happened.append("stopped")
        with suppress(psutil.Error):
            child.wait(timeout=WAIT_SECONDS)
        start()
        happened.append("started again")

    with _watching(watch):
        yield happened


def catalog_down_during_the_next_dbt_build(data_dir: Path) -> AbstractContextManager[list[str]]:
    """The catalog's server (``postgres.start`` in ``data_dir``) stopped during the next `dbt build`."""
    return down_during_the_next_dbt_build(lambda: postgres.stop(data_dir), lambda: postgres.start_again(data_dir))


@contextmanager
def catalog_down_until(data_dir: Path, condition: Callable[[], bool]) -> Iterator[None]:
    """Stop the server now; start it again once ``condition()`` holds (polled), or at the block's end."""
    postgres.stop(data_dir)
    done = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not done.is_set() and not condition() and time.monotonic() < deadline:
            time.sleep(0.1)
        postgres.start_again(data_dir)

    with _watching(watch):
        try:
            yield
        finally:
            done.set()


@contextmanager
def _watching(watch: Callable[[], None]) -> Iterator[None]:
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        watcher.join(timeout=WAIT_SECONDS)
