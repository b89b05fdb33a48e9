"""Real servers the tests start themselves, on loopback only, and stop: PostgreSQL (Debian's
`postgresql` package, a throwaway cluster in a temporary folder) and Redis (`redis-server`).

Nothing here is mocked: the suite's PostgreSQL run, the two-app-server test and the shared
rate-limit store all talk to these processes over TCP on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

POSTGRES_ROOT = Path("/usr/lib/postgresql")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen | None, what: str,
                   timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited early with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin folder, or None."""
    versions = sorted((p for p in POSTGRES_ROOT.glob("*/bin") if (p / "initdb").exists()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return versions[-1] if versions else None


class PostgresServer:
    """A PostgreSQL cluster of its own: initdb in a temporary folder, pg_ctl start on a free
    loopback port, trust authentication (reachable from this machine only), durability
    settings off because the cluster is thrown away at the end."""

    user = "postgres"  # the superuser, as on a Debian server

    def __init__(self) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed (scripts/system-deps.sh test "
                               "installs Debian's postgresql; `make test` runs it)")
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="cbassess-pg-"))
        self.data = self.root / "data"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            shutil.chown(self.root, user="postgres", group="postgres")
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "--pgdata", str(self.data), "--username", self.user,
                  "--auth", "trust", "--encoding", "UTF8", "--no-locale", "--no-sync")
        options = " ".join([
            "-c listen_addresses=127.0.0.1", f"-c port={self.port}",
            f"-c unix_socket_directories={self.root}", "-c fsync=off",
            "-c synchronous_commit=off", "-c full_page_writes=off",
            "-c max_connections=300", "-c shared_buffers=64MB",
        ])
        self._run("pg_ctl", "--pgdata", str(self.data), "--log", str(self.root / "server.log"),
                  "--options", options, "--wait", "start")
        _wait_for_port(self.port, None, "PostgreSQL")

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([*self._as_postgres, str(self.bin / program), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def execute(self, *statements: str) -> None:
        """Run statements outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(self.url(driver="postgresql"), autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def create_database(self, name: str, template: str | None = None) -> str:
        clause = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{clause}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log_text(self) -> str:
        log = self.root / "server.log"
        return log.read_text(errors="replace")[-4000:] if log.exists() else ""

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "--pgdata", str(self.data), "--mode", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """redis-server on a free loopback port, nothing persisted."""

    def __init__(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed (scripts/system-deps.sh test "
                               "installs it; `make test` runs it)")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="cbassess-redis-"))
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port, self.process, "redis-server")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
