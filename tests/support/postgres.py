"""A throwaway PostgreSQL server from Debian's packages, for the production-instance tests and CI.

    python3 tests/support/postgres.py start DIR     initdb + start; prints the DSN to use
    python3 tests/support/postgres.py stop DIR      stop it (the caller removes DIR)

Standard library only: `.ci/run` starts the server before the project's environment exists, and
hands the DSN to the tests in DATAOPS_TEST_POSTGRES. Without that variable the test fixture starts
its own server with the same code. The server listens on 127.0.0.1 with password authentication
(SCRAM), so the credentials really travel through the environment as in production.

PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user that Debian's
package creates.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

USER = "dataops"
PASSWORD = "dataops-test-only"
DATABASE = "dagster"
START_TIMEOUT_SECONDS = 60


class PostgresNotInstalled(RuntimeError):
    pass


def bin_dir() -> Path:
    """The newest Debian PostgreSQL server binaries (`/usr/lib/postgresql/<major>/bin`)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise PostgresNotInstalled(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install Debian's "
            "`postgresql` package (`.ci/run` does), or point DATAOPS_TEST_POSTGRES at a server"
        )
    return found[-1].parent


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


# Like tests/support/processes.free_port, which this file cannot import: that module needs the project's
# environment, and `.ci/run` starts the server before it is installed.
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dsn(port: int, database: str = DATABASE) -> str:
    return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/{database}"


def psql(server_dsn: str, *arguments: str, database: str | None = None) -> None:
    """psql (from the same Debian package) as the server's owner, stopping at the first error."""
    url = urlsplit(server_dsn)
    subprocess.run(
        [
            str(bin_dir() / "psql"),
            "-h",
            url.hostname or "127.0.0.1",
            "-p",
            str(url.port),
            "-U",
            url.username or USER,
            "-d",
            database or url.path.lstrip("/") or DATABASE,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            *arguments,
        ],
        check=True,
        env={**os.environ, "PGPASSWORD": url.password or PASSWORD},
        capture_output=True,
    )


def _admin(server_dsn: str, sql: str) -> None:
    psql(server_dsn, "-c", sql)


def create_database(server_dsn: str, prefix: str, copy_of: str | None = None) -> str:
    """A new database on the server, empty or a copy of ``copy_of`` (which nobody may be connected to)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    _admin(server_dsn, f"CREATE DATABASE {name}" + (f" TEMPLATE {copy_of}" if copy_of else ""))
    return name


def drop_database(server_dsn: str, name: str) -> None:
    _admin(server_dsn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def conninfo(server_dsn: str, database: str, user: str = USER) -> str:
    """A libpq key=value DSN for ``database`` on the server, without the password."""
    url = urlsplit(server_dsn)
    return f"host={url.hostname} port={url.port} dbname={database} user={user}"


def create_lake_reader(server_dsn: str, database: str, password: str) -> str:
    """A role that can only read the lake catalog in ``database`` (deploy/postgres/lake_reader.sql).

    Returns its DSN (without the password), as dev and test set DATAOPS_PROD_LAKE_CATALOG.
    """
    reader = f"reader_{database}"
    script = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "lake_reader.sql"
    psql(server_dsn, "-v", f"reader={reader}", "-v", f"password={password}", "-f", str(script), database=database)
    return conninfo(server_dsn, database, user=reader)


def database_of(conninfo_: str) -> str:
    return dict(pair.split("=", 1) for pair in conninfo_.split())["dbname"]


def start(data_dir: Path) -> str:
    """Create a cluster in ``data_dir`` (new or empty), start it, create the database.

    As root, ``data_dir`` is handed to the `postgres` user, so its parent must be one that user
    can enter (e.g. directly under /tmp).
    """
    binaries = bin_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    password_file = data_dir / "password"
    password_file.write_text(PASSWORD)
    cluster = data_dir / "cluster"
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres")
        shutil.chown(password_file, "postgres")
    subprocess.run(
        _as_server_user(
            [
                str(binaries / "initdb"),
                "-D",
                str(cluster),
                "--username",
                USER,
                f"--pwfile={password_file}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={data_dir} -c fsync=off"
    subprocess.run(
        _as_server_user(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(cluster),
                "-o",
                options,
                "-l",
                str(data_dir / "server.log"),
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE],
        check=True,
        env={**os.environ, "PGPASSWORD": PASSWORD},
    )
    return dsn(port)


@contextmanager
def own_server(prefix: str = "dataops-pg-own-") -> Iterator[tuple[Path, str]]:
    """A server for one test module alone, as (data folder, DSN): for tests that stop it or fill its
    connections, which the shared server (serving the other test session too) must never see."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield data_dir, start(data_dir)
    finally:
        stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


def start_again(data_dir: Path) -> None:
    """Start a server that ``stop`` stopped, on the same port with the same options (a restart that
    clients see as the server gone for a while). Its output goes to the server log, not to a pipe:
    the server outlives pg_ctl and would hold a pipe open."""
    cluster = data_dir / "cluster"
    options = (cluster / "postmaster.opts").read_text().split(None, 1)[1].replace('"', "")
    options = options.replace(f"-D {cluster}", "").strip()
    with (data_dir / "server.log").open("a") as log:
        subprocess.run(
            _as_server_user(
                [
                    str(bin_dir() / "pg_ctl"),
                    "-D",
                    str(cluster),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(START_TIMEOUT_SECONDS),
                    "start",
                ]
            ),
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(data_dir: Path) -> None:
    cluster = data_dir / "cluster"
    if not (cluster / "postmaster.pid").exists():
        return
    subprocess.run(
        _as_server_user([str(bin_dir() / "pg_ctl"), "-D", str(cluster), "-m", "fast", "-w", "stop"]),
        check=True,
        capture_output=True,
    )


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in {"start", "stop"}:
        print(__doc__)
        sys.exit(2)
    target = Path(sys.argv[2]).resolve()
    if sys.argv[1] == "start":
        print(start(target))
    else:
        stop(target)
