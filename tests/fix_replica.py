"""A primary and a streaming standby on loopback, for the replica tests.

The primary is a devserver on tmpfs that also lets ``postgres`` replicate
over 127.0.0.1 with its password; the standby is a ``pg_basebackup -R`` of it,
started on its own port as the ``postgres`` user (when the suite runs as
root), and both are removed after the module.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from yeko_sql.ops.devserver import DevServer, find_bindir

_HBA = "host replication postgres 127.0.0.1/32 scram-sha-256\n"


@dataclass
class ReplicaPair:
    """The primary's and the standby's URLs (same database, same owner)."""

    primary_url: str
    standby_url: str
    standby_dir: Path

    def run_standby(self, *args: str) -> None:
        """``pg_ctl`` on the standby: start, stop, …"""
        _as_postgres(
            [
                str(find_bindir() / "pg_ctl"),
                "-D",
                str(self.standby_dir),
                "-l",
                str(self.standby_dir / "server.log"),
                "-w",
                *args,
            ]
        )


def _as_postgres(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(
        args,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd="/",
        stdin=subprocess.DEVNULL,
    )


def _free_port() -> int:
    import socket  # noqa: PLC0415  (only here)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def replica_pair() -> Iterator[ReplicaPair]:
    """A primary with database ``replica_test`` and its hot standby."""
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    root = Path(tempfile.mkdtemp(prefix="yeko-replica-", dir=shm))
    root.chmod(0o755)
    primary = DevServer(root / "primary", fsync=False)
    standby_dir = root / "standby"
    try:
        primary.start()
        url = primary.create_database("replica_test")
        with (primary.data_dir / "pg_hba.conf").open("a") as hba:
            hba.write(_HBA)
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
        standby_dir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(standby_dir, user.pw_uid, user.pw_gid)
        _as_postgres(
            [
                str(find_bindir() / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(standby_dir),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
            env={"PGPASSWORD": primary.password()},
        )
        port = _free_port()
        with (standby_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"port = {port}\nunix_socket_directories = '{standby_dir}'\n")
        pair = ReplicaPair(url, make_conninfo(url, port=port), standby_dir)
        pair.run_standby("start")
        try:
            yield pair
        finally:
            pair.run_standby("stop", "-m", "immediate")
    finally:
        primary.destroy()
        shutil.rmtree(root, ignore_errors=True)
