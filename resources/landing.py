"""Where files land and where ingested files are kept (both from settings)."""

from pathlib import Path

import dagster as dg


class LandingZoneResource(dg.ConfigurableResource):
    """The landing zone (inbox) and the archive (every ingested file, kept) of this environment."""

    landing_dir: str
    archive_dir: str

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def archive(self) -> Path:
        return Path(self.archive_dir)
