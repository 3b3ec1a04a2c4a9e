"""A real PgBouncer in transaction mode in front of the session server.

``pgbouncer`` starts Debian's PgBouncer (``.ci/ensure-pgbouncer`` installs it;
``PGBOUNCER`` may name another binary) once per session: loopback only,
SCRAM authentication with each role's password in ``userlist.txt`` (the
devserver's; PgBouncer logs in to the server with the same),
``pool_mode = transaction``, every database of the session
server (``* = host=... port=...``), and two server connections per database
and user, so clients really take turns on the same backends. PgBouncer refuses
to run as root: as root it runs as ``postgres`` through ``runuser``, in a
folder on tmpfs that user owns. It never skips: a missing binary fails the
tests that need it, with the command that installs it.

``pgbouncer_figures`` records lines (calls, wrong results, errors) that the
terminal summary prints at the end of the run, with or without ``-s``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fix_server import ServerInfo

_SERVICE_USER = "postgres"
_POOL_SIZE = 2
# Roles the suite connects as through PgBouncer, each listed in auth_file.
_ROLES = ("postgres", "yeko_app", "yeko_analytics", "yeko_platform")
_INSTALL = "run 'make pgbouncer' (bash .ci/ensure-pgbouncer) or set PGBOUNCER"
_FIGURES = pytest.StashKey[list[str]]()


class PgBouncer:
    """How tests reach the session's PgBouncer."""

    def __init__(self, host: str, port: int, version: str, pool_size: int) -> None:
        self.host = host
        self.port = port
        self.version = version
        self.pool_size = pool_size
        """Server connections per database and user (``default_pool_size``)."""

    def url(self, database_url: str) -> str:
        """*database_url* (same database, user and password) through PgBouncer."""
        return psycopg.conninfo.make_conninfo(
            database_url, host=self.host, port=self.port
        )


def find_pgbouncer() -> str | None:
    """The PgBouncer binary: ``PGBOUNCER``, then PATH, then Debian's place."""
    if (named := os.environ.get("PGBOUNCER")) and os.access(named, os.X_OK):
        return named
    found = shutil.which("pgbouncer")
    if found:
        return found
    debian = "/usr/sbin/pgbouncer"
    return debian if os.access(debian, os.X_OK) else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _quote(value: str) -> str:
    """A value for PgBouncer's connection strings (libpq quoting)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _config(folder: Path, server: ServerInfo, port: int) -> str:
    """PgBouncer's configuration.

    ``server_reset_query`` is empty, as transaction mode wants: nothing cleans
    a server connection between clients. ``server_check_delay = 0`` checks a
    server connection before each reuse: every test's database has the same
    name and is dropped after the test, which ends the backends PgBouncer
    keeps for it. ``extra_float_digits`` is a startup parameter some drivers
    send that PgBouncer would otherwise refuse.
    """
    target = f"host={server.host} port={server.port}"
    auth_type = "scram-sha-256"
    if server.devserver is None:  # YEKO_TEST_DATABASE_URL: its password, if any
        auth_type = "trust"
        if server.password:
            target += f" password={_quote(server.password)}"
    return f"""\
[databases]
* = {target}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir = {folder}
auth_type = {auth_type}
auth_file = {folder / "userlist.txt"}
admin_users = {server.user}
pool_mode = transaction
default_pool_size = {_POOL_SIZE}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
server_reset_query =
server_check_delay = 0
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
"""


def _userlist(server: ServerInfo) -> str:
    """``auth_file``: each role and its password (plain, so PgBouncer can log
    in to the server as that role with SCRAM too)."""
    roles = dict.fromkeys((server.user, *_ROLES))
    devserver = server.devserver
    return "".join(
        f'"{role}" "{devserver.password(role) if devserver else ""}"\n'
        for role in roles
    )


class _Process:
    """One PgBouncer process, in its own folder, until ``stop``."""

    def __init__(self, binary: str, server: ServerInfo) -> None:
        self.binary = binary
        self.server = server
        self.folder = Path(tempfile.mkdtemp(prefix="yeko-pgbouncer-", dir=_tmpfs()))
        self.log = self.folder / "pgbouncer.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._as_service_user = os.geteuid() == 0

    def start(self) -> None:
        for _attempt in range(3):  # another program may take the free port first
            self.port = _free_port()
            self._write(_config(self.folder, self.server, self.port))
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    self._command(),
                    cwd=self.folder,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if self._ready(timeout=15.0):
                return
            self.stop()
        pytest.fail(f"PgBouncer did not start; its log:\n{self._log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        # runuser passes SIGTERM on; PgBouncer then shuts down at once.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _command(self) -> list[str]:
        command = [self.binary, "--quiet", str(self.folder / "pgbouncer.ini")]
        if not self._as_service_user:
            return command
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        return [runuser, "-u", _SERVICE_USER, "--", *command]

    def _write(self, config: str) -> None:
        (self.folder / "pgbouncer.ini").write_text(config, encoding="utf-8")
        userlist = self.folder / "userlist.txt"
        userlist.touch(mode=0o600)  # it holds passwords
        userlist.write_text(_userlist(self.server), encoding="utf-8")
        if self._as_service_user:
            try:
                user = pwd.getpwnam(_SERVICE_USER)
            except KeyError:
                pytest.fail(
                    f"running as root, but there is no {_SERVICE_USER!r} system "
                    "user to run PgBouncer as (it refuses root); create it"
                )
            for path in (self.folder, *self.folder.iterdir()):
                os.chown(path, user.pw_uid, user.pw_gid)

    def _ready(self, timeout: float) -> bool:
        url = psycopg.conninfo.make_conninfo(
            self.server.url(), host="127.0.0.1", port=self.port, connect_timeout=2
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("SELECT 1")
            except psycopg.OperationalError:
                time.sleep(0.05)
            else:
                return True
        return False

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _tmpfs() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _version(binary: str) -> str:
    result = subprocess.run(
        [binary, "--version"],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    first = (result.stdout or result.stderr).strip().splitlines()
    return first[0] if first else "PgBouncer (unknown version)"


@pytest.fixture(scope="session")
def pgbouncer(
    pg_server: ServerInfo, request: pytest.FixtureRequest
) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the session server."""
    request.getfixturevalue("postgresql_noproc")  # the roles have their passwords
    binary = find_pgbouncer()
    if binary is None:
        pytest.fail(f"PgBouncer is not installed; {_INSTALL}", pytrace=False)
    process = _Process(binary, pg_server)
    try:
        process.start()
        yield PgBouncer("127.0.0.1", process.port, _version(binary), _POOL_SIZE)
    finally:
        process.destroy()


@pytest.fixture
def pgbouncer_figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a line for the PgBouncer figures of the terminal summary."""
    figures = request.config.stash.setdefault(_FIGURES, [])

    def record(line: str) -> None:
        figures.append(f"{request.node.name}: {line}")

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures the PgBouncer tests recorded."""
    figures = terminalreporter.config.stash.get(_FIGURES, [])
    if figures:
        terminalreporter.section("PgBouncer figures")
        for line in figures:
            terminalreporter.write_line(line)
