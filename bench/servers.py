"""The PostgreSQL server that the benchmarks' lakes keep their catalogs on."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tests.support import postgres


class Server:
    """DATAOPS_TEST_POSTGRES if set, else a server started from Debian's packages for this run."""

    def __init__(self) -> None:
        # Its own folder directly under the temporary root: run as root, the server runs as the
        # `postgres` user, who cannot enter a benchmark's private (0700) working folder.
        own = not os.environ.get("DATAOPS_TEST_POSTGRES")
        self.own = Path(tempfile.mkdtemp(prefix="bench-postgres-")) if own else None
        self.dsn = os.environ.get("DATAOPS_TEST_POSTGRES") or postgres.start(self.own)  # type: ignore[arg-type]
        # As production passes it: the catalog's password is an environment variable, never a setting.
        os.environ["DATAOPS_LAKE_CATALOG_PASSWORD"] = postgres.PASSWORD

    def new_lake(self, data_dir: Path) -> dict[str, str]:
        """Settings for a new, empty lake: its catalog a new database, its files under ``data_dir``."""
        name = postgres.create_database(self.dsn, prefix="bench_lake")
        return {
            "backend": "ducklake",
            "lake_catalog": postgres.conninfo(self.dsn, name),
            "lake_data_path": f"{data_dir / 'lake'}/",
        }

    def stop(self) -> None:
        if self.own is not None:
            postgres.stop(self.own)
            shutil.rmtree(self.own, ignore_errors=True)
