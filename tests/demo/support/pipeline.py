"""The demo's pipeline helper: the core's (tests/support/pipeline.py), delivering the real files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from demo.nycflights import day_csv, fed, source_bytes
from tests.support import pipeline
from tests.support.pipeline import audited_marts, audited_model

__all__ = ["Pipeline", "audited_marts", "audited_model"]


class Pipeline(pipeline.Pipeline):
    def land_real_days(self, days: Sequence[date], reference: bool = True) -> None:
        """Deliver and load the real files: the reference data (unless told not to), then the
        flights and weather of ``days`` in one load run."""
        reference_data = [dataset.name for dataset in fed(self.datasets, "reference")]
        daily = [dataset.name for dataset in fed(self.datasets, "daily")]
        if reference:
            for name in reference_data:
                self.deliver(name, None, source_bytes(name))
            self.load(reference_data)
        for day in days:
            for name in daily:
                self.deliver(name, day, day_csv(name, day))
        self.load(daily, days)
