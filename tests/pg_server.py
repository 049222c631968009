"""A throwaway PostgreSQL server for the tests: initdb into a temporary folder, start, stop.

The server listens on 127.0.0.1 on a free port (and on a unix socket inside the temporary
folder), trusts local connections, and is tuned for speed over durability (fsync off). PostgreSQL
refuses to run as root, so when the tests run as root the cluster belongs to an unprivileged user
(``nobody``) and every server command runs as that user.

One server is started per test session, on first use (:func:`get_server`), and stopped (and its
folder removed) when the interpreter exits; :meth:`PostgresServer.new_database` gives each test
module or test an empty database of its own.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

UNPRIVILEGED_USERS = ("nobody", "postgres")


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found:
        folder = Path(os.path.realpath(found)).parent
        if (folder / "pg_ctl").exists():
            return folder
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit()
        else 0,
    )
    for initdb in reversed(candidates):
        folder = Path(initdb).parent
        if (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """A running throwaway cluster. ``dsn`` connects as the superuser ``postgres``."""

    bin_dir: Path
    root: Path
    port: int
    user: str | None  # the OS user running the server; None = the current user

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        kwargs = {}
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            kwargs = dict(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]], capture_output=True, text=True,
            timeout=timeout, cwd=self.root, check=False, **kwargs,
        )

    @classmethod
    def start(cls) -> PostgresServer:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise FileNotFoundError(
                "initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin")
        user = None
        if os.geteuid() == 0:
            user = next((u for u in UNPRIVILEGED_USERS if _user_exists(u)), None)
            if user is None:
                raise RuntimeError("running as root and no unprivileged user "
                                   f"({', '.join(UNPRIVILEGED_USERS)}) to run PostgreSQL as")
        root = Path(tempfile.mkdtemp(prefix="rfmkit-pg-"))
        server = cls(bin_dir=bin_dir, root=root, port=_free_port(), user=user)
        server.socket_dir.mkdir()
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in (root, server.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        try:
            done = server._run("initdb", "-D", str(server.data_dir), "-U", "postgres",
                               "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
            if done.returncode != 0:
                raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
            options = (f"-c listen_addresses=127.0.0.1 -p {server.port} "
                       f"-k {server.socket_dir} -c fsync=off -c synchronous_commit=off "
                       "-c full_page_writes=off -c max_connections=30")
            done = server._run("pg_ctl", "-D", str(server.data_dir), "-l",
                               str(server.root / "server.log"), "-o", options, "-w", "-t", "60",
                               "start")
            if done.returncode != 0:
                log = (server.root / "server.log")
                raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n"
                                   f"{log.read_text() if log.exists() else ''}")
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    def stop(self) -> None:
        if self.data_dir.exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop",
                      timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        """Create an empty database; return its DSN (isolates tests from each other)."""
        import psycopg
        from psycopg import sql

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


_SERVER: PostgresServer | None = None
_FAILURE: str | None = None


def get_server() -> PostgresServer:
    """The session's server, started on first call (skips the test when it cannot start)."""
    global _SERVER, _FAILURE
    if _SERVER is not None:
        return _SERVER
    if _FAILURE is not None:
        pytest.skip(_FAILURE)
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install "
                                          "'rfmkit[postgres]')")
    if find_bin_dir() is None:
        _FAILURE = ("PostgreSQL server binaries not found: initdb/pg_ctl are neither on PATH nor "
                    "in /usr/lib/postgresql/*/bin (install the postgresql package)")
        pytest.skip(_FAILURE)
    _SERVER = PostgresServer.start()
    atexit.register(_SERVER.stop)
    return _SERVER
