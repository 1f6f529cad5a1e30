"""Where files land and where ingested files are kept (both from settings)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from config.settings import DEFAULT_LOAD_BATCH_MB, Settings


class LandingZoneResource(dg.ConfigurableResource):
    """The landing zone (inbox), the archive (every ingested file, kept) and the rejected folder."""

    landing_dir: str
    archive_dir: str
    rejected_dir: str
    # MB of landed files a load takes at a time (Settings.load_batch_mb).
    batch_mb: int = DEFAULT_LOAD_BATCH_MB
    # Seconds a landing sensor tick watches for a file when there is none (Settings.landing_watch_seconds).
    watch_seconds: float = 0.0

    @classmethod
    def for_settings(cls, settings: Settings) -> LandingZoneResource:
        return cls(
            landing_dir=str(settings.landing),
            archive_dir=str(settings.archive),
            rejected_dir=str(settings.rejected),
            batch_mb=settings.load_batch_mb,
            watch_seconds=settings.landing_watch_seconds,
        )

    @property
    def batch_bytes(self) -> int:
        return self.batch_mb * 1024 * 1024

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def archive(self) -> Path:
        return Path(self.archive_dir)

    @property
    def rejected(self) -> Path:
        return Path(self.rejected_dir)
