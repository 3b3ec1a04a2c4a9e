"""A hot standby of a local devserver: streaming replication on loopback.

``Standby(primary, folder).create()`` lets the ``postgres`` role replicate
from 127.0.0.1 with its password (one ``pg_hba.conf`` line), takes a
``pg_basebackup -R`` of the primary into *folder* and starts it on a free
port, as the ``postgres`` user when this process is root. ``url()`` is the
primary's URL pointed at the standby: the same role and password, a
read-only server. It is what ``Database(url, read_url=...)`` is tested and
benchmarked against; a deployment's replicas come from its own tooling
(pg_auto_failover's secondary: ``yeko-sql cluster``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from yeko_sql.errors import DevServerError
from yeko_sql.ops.devserver import (
    DevServer,
    free_port,
    give_to_service_user,
    run_as_service_user,
)

__all__ = ["Standby"]

_HBA = "host replication postgres 127.0.0.1/32 scram-sha-256\n"
_USER = "postgres"


class Standby:
    """A streaming standby of *primary* in *folder* (which must not exist yet)."""

    def __init__(self, primary: DevServer, folder: Path | str) -> None:
        self.primary = primary
        self.data_dir = Path(folder)

    def create(self) -> str:
        """Back up the running primary into the folder, start it; return ``url()``.

        Raises:
            DevServerError: the primary is not running, or a tool failed.
        """
        port = self.primary.port
        if port is None:
            raise DevServerError(f"{self.primary.data_dir}: start the primary first")
        hba = self.primary.data_dir / "pg_hba.conf"
        if _HBA not in hba.read_text():
            with hba.open("a") as out:
                out.write(_HBA)
            with psycopg.connect(self.primary.url(), autocommit=True) as conn:
                conn.execute("SELECT pg_reload_conf()")
        self.data_dir.mkdir(mode=0o700)
        give_to_service_user(self.data_dir)
        run_as_service_user(
            [
                str(self.primary.bindir / "pg_basebackup"),
                *("-h", "127.0.0.1", "-p", str(port), "-U", _USER),
                *("-D", str(self.data_dir), "-R", "-X", "stream", "-c", "fast"),
            ],
            label=f"{self.data_dir}: pg_basebackup",
            env={"PGPASSWORD": self.primary.password()},
        )
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"port = {free_port()}\n"
                f"unix_socket_directories = '{self.data_dir}'\n"
            )
        self.start()
        return self.url()

    @property
    def port(self) -> int:
        """The standby's port, from the configuration ``create`` wrote."""
        for line in (self.data_dir / "postgresql.auto.conf").read_text().splitlines():
            if line.startswith("port = "):
                return int(line.removeprefix("port = "))
        raise DevServerError(f"{self.data_dir}: no standby was created here")

    def url(self, dbname: str = "postgres") -> str:
        """The primary's URL for *dbname*, on the standby's port."""
        return make_conninfo(self.primary.url(dbname), port=self.port)

    def start(self) -> None:
        """Start the standby and wait until it accepts connections."""
        self._pg_ctl("start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the standby (``immediate`` to crash it)."""
        self._pg_ctl("stop", "-m", mode)

    def destroy(self) -> None:
        """Stop the standby if it runs and delete its folder."""
        if (self.data_dir / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate", check=False)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        log = str(self.data_dir / "server.log")
        argv = [str(self.primary.bindir / "pg_ctl"), "-D", str(self.data_dir)]
        run_as_service_user(
            [*argv, "-l", log, "-w", *args],
            label=f"{self.data_dir}: pg_ctl {args[0]}",
            check=check,
        )
