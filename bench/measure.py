"""Measuring a benchmark's child: wall time and peak memory of its whole process tree.

``resource.getrusage(RUSAGE_CHILDREN)`` only gives the largest single process that has ended.
The pipeline is a tree (the run worker, dbt, a step's own subprocesses), so its memory is
sampled while it runs: every process in the tree, summed, at each sample.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.05
MB = 1024 * 1024


@dataclass
class TreeMemory:
    """Peak resident memory of a process and its descendants, sampled from another thread."""

    pid: int
    peak_tree_mb: float = 0.0  # the most the whole tree held at one sample
    peak_process_mb: float = 0.0  # the most any one process of the tree held
    peak_process: str = ""  # which one (its command name)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0.0
            for process in processes:
                try:
                    rss = process.memory_info().rss / MB
                    name = process.name()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                total += rss
                if rss > self.peak_process_mb:
                    self.peak_process_mb, self.peak_process = rss, name
            self.peak_tree_mb = max(self.peak_tree_mb, total)
            self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> TreeMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def figures(self) -> dict[str, float | str]:
        return {
            "peak_tree_mb": round(self.peak_tree_mb, 1),
            "peak_process_mb": round(self.peak_process_mb, 1),
            "peak_process": self.peak_process,
        }


def run_measured(command: Sequence[str], log: Path, env: dict[str, str] | None = None) -> dict:
    """Run a child that prints one JSON object last; add its wall time and tree memory to it.

    The child's stderr (Dagster's and dbt's logs) goes to ``log``, read only if it fails.
    """
    started = time.perf_counter()
    with log.open("w") as errors:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
        with TreeMemory(child.pid) as memory:
            output, _ = child.communicate()
    if child.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-40:])
        raise RuntimeError(f"{' '.join(command)} exited with {child.returncode}; its log ends:\n{tail}")
    result = json.loads(output.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    return {**result, **memory.figures()}
