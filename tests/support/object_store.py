"""A local S3-compatible server (moto's server mode, from PyPI) for the lake on object storage.

Only on 127.0.0.1, with throwaway credentials: the same S3 API a run worker on another machine
would use, so the lake's data path really is a bucket, not a folder.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3

from tests.support.processes import free_port

ACCESS_KEY_ID = "test-only-key"
SECRET_ACCESS_KEY = "test-only-secret"
REGION = "us-east-1"
START_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class ObjectStoreServer:
    endpoint: str  # host:port
    pid: int | None = None  # the server's process, for tests that pause or kill it

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=f"http://{self.endpoint}",
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            region_name=REGION,
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def settings(self, bucket: str, prefix: str) -> dict[str, object]:
        """The project's settings for a lake whose data lives in ``bucket``/``prefix``."""
        return {
            "lake_data_path": f"s3://{bucket}/{prefix}/",
            "s3_endpoint": self.endpoint,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY_ID,
            "s3_url_style": "path",
            "s3_use_ssl": False,
        }


def _paused(pid: int) -> bool:
    """Whether a test left the server stopped (SIGSTOP): it would not answer a SIGTERM."""
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "T"
    return False


@contextmanager
def running(log: Path) -> Iterator[ObjectStoreServer]:
    """Start moto's server on a free port; stop it on exit."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        server = ObjectStoreServer(f"127.0.0.1:{port}", process.pid)
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while True:
                try:
                    server.client().list_buckets()
                    break
                except Exception:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"moto_server did not start: {log.read_text()[-2000:]}") from None
                    time.sleep(0.2)
            yield server
        finally:
            if process.poll() is None and _paused(process.pid):
                process.kill()
            else:
                process.terminate()
            process.wait(timeout=30)
