"""A local high-availability cluster: pg_auto_failover's monitor and two nodes.

``yeko-sql cluster start`` creates (once) and runs a monitor and two
PostgreSQL nodes on loopback ports, with synchronous replication
(pg_auto_failover sets ``synchronous_standby_names`` to ``ANY 1 (…)``), and
prints the two URLs an app needs:

- the write URL, ``host=127.0.0.1,127.0.0.1 port=p1,p2 …
  target_session_attrs=read-write``: libpq tries each node and keeps the
  primary, so after a failover a new connection finds the new primary;
- the read URL, the same with ``target_session_attrs=prefer-standby``, for
  ``Database(url, read_url=...)``.

Everything runs as the ``postgres`` user when started as root, in a folder
it owns, with ``pg_autoctl``'s state kept inside that folder (``XDG_*``), so
nothing is left in the user's home. The nodes listen on 127.0.0.1 only and
trust connections from it (``--auth trust``): a local throwaway cluster, as
the devserver is; a deployment sets ``--auth scram-sha-256`` and passwords.
The Debian packages are ``postgresql-15-auto-failover`` and
``pg-auto-failover-cli`` (``.ci/ensure-autofailover`` installs them).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

from yeko_sql.errors import DevServerError
from yeko_sql.ops.devserver import (
    as_service_user,
    find_bindir,
    free_port,
    give_to_service_user,
    run_as_service_user,
)

__all__ = ["MARKER", "Cluster", "ClusterNode"]

MARKER = "cluster.marker"
"""Written at creation: ``destroy`` removes only a folder that holds it."""

_USER = "postgres"
_NODES = ("node1", "node2")
_STATE = "cluster.json"
_HEALTH = {  # the monitor's health checks, in milliseconds
    "health_check_period": 1000,
    "health_check_timeout": 1000,
    "health_check_max_retries": 1,
    "health_check_retry_delay": 500,
    "node_considered_unhealthy_timeout": 5000,
    # How long the monitor waits for a lost primary to demote itself before it
    # promotes the secondary (default 30 s). Safe only while it exceeds the
    # nodes' network_partition_timeout (_PARTITION_S): a primary cut off from
    # the monitor and its standby stops taking writes before then.
    "primary_demote_timeout": 6000,
}
_PARTITION_S = 3  # seconds; pg_auto_failover's default is 20


class _Ports(msgspec.Struct, frozen=True):
    monitor: int
    nodes: list[int]
    dbname: str


@dataclass(frozen=True, slots=True)
class ClusterNode:
    """One data node as the monitor reports it."""

    name: str
    port: int
    reported: str  # primary, secondary, catchingup, …
    assigned: str
    lsn: str


def _free_ports(count: int) -> list[int]:
    """*count* distinct free ports, below the ephemeral range (``free_port``)."""
    found: list[int] = []
    while len(found) < count:
        if (port := free_port()) not in found:
            found.append(port)
    return found


def default_root() -> Path:
    """``.yeko/cluster`` under the working directory, or a folder in
    ``/var/tmp/yeko-sql`` when the ``postgres`` user could not reach it."""
    wanted = Path.cwd() / ".yeko" / "cluster"
    if os.geteuid() != 0 or _reachable(wanted):
        return wanted
    digest = hashlib.sha256(str(wanted).encode()).hexdigest()[:12]
    return Path("/var/tmp/yeko-sql") / f"cluster-{digest}"  # noqa: S108


def _reachable(path: Path) -> bool:
    """Whether every existing folder above *path* lets others pass (x bit)."""
    return all(
        parent.stat().st_mode & 0o001
        for parent in path.parents
        if parent.exists() and parent != Path("/")
    )


class Cluster:
    """pg_auto_failover's monitor and two nodes under one folder."""

    def __init__(self, root: Path | str | None = None, *, dbname: str = "app") -> None:
        self.root = Path(root) if root is not None else default_root()
        self.dbname = dbname

    # -- the folder ----------------------------------------------------------

    @property
    def created(self) -> bool:
        """Whether the monitor and both nodes were created here."""
        return (self.root / MARKER).is_file() and (self.root / _STATE).is_file()

    def _ports(self) -> _Ports:
        return msgspec.json.decode((self.root / _STATE).read_bytes(), type=_Ports)

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "XDG_CONFIG_HOME": str(self.root / "xdg" / "config"),
            "XDG_DATA_HOME": str(self.root / "xdg" / "data"),
            "XDG_RUNTIME_DIR": str(self.root / "xdg" / "run"),
            "PATH": f"{find_bindir()}:{os.environ.get('PATH', '')}",
        }

    def _autoctl(self, *args: str, check: bool = True) -> str:
        done = run_as_service_user(
            ["pg_autoctl", *args],
            label=f"pg_autoctl {' '.join(args[:2])}",
            env=self._env(),
            check=check,
        )
        return done.stdout

    def _run_service(self, name: str) -> None:
        """``pg_autoctl run`` for *name*, detached, its log in the folder."""
        log = self.root / f"{name}.log"
        # ``setsid -f`` forks the service off and returns: it is nobody's child
        # here, and outlives this process, as a server should.
        argv = ["setsid", "-f", "pg_autoctl", "run", "--pgdata", str(self.root / name)]
        with log.open("ab") as out:
            subprocess.run(  # noqa: S603  (our own arguments)
                as_service_user(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._env(),
                cwd="/",
                check=True,
            )
        give_to_service_user(log)

    def _prepare_root(self) -> None:
        if self.root.exists() and any(self.root.iterdir()) and not self.created:
            raise DevServerError(
                f"{self.root} is not empty and was not made by 'yeko-sql cluster': "
                "choose another --dir"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        give_to_service_user(self.root)
        self.root.chmod(0o700)

    # -- lifecycle -----------------------------------------------------------

    def start(self, *, timeout: float = 120.0) -> str:
        """Create (once) and run the cluster; wait for a primary and a secondary.

        Returns the write URL.

        Raises:
            DevServerError: pg_autoctl failed, or the nodes did not reach
                primary and secondary within *timeout* seconds.
        """
        if not self.created:
            self._create()
        elif not self._running():
            for name in ("monitor", *_NODES):
                self._run_service(name)
        self.wait_ready(timeout=timeout)
        return self.url()

    def _create(self) -> None:
        self._prepare_root()
        monitor, *nodes = _free_ports(3)
        ports = _Ports(monitor=monitor, nodes=nodes, dbname=self.dbname)
        pg_ctl = str(find_bindir() / "pg_ctl")
        common = ["--hostname", "127.0.0.1", "--listen", "127.0.0.1"]
        common += ["--auth", "trust", "--ssl-self-signed", "--pgctl", pg_ctl]
        self._autoctl(
            "create", "monitor", "--pgdata", str(self.root / "monitor"),
            "--pgport", str(monitor), *common,
        )  # fmt: skip
        self._run_service("monitor")
        self._fast_health_checks(monitor)
        uri = self._monitor_uri(monitor)
        for name, port in zip(_NODES, nodes, strict=True):
            self._autoctl(
                "create", "postgres", "--pgdata", str(self.root / name),
                "--pgport", str(port), "--name", name, "--dbname", self.dbname,
                "--monitor", uri, *common,
            )  # fmt: skip
            self._autoctl(
                "config", "set", "--pgdata", str(self.root / name),
                "timeout.network_partition_timeout", str(_PARTITION_S),
            )  # fmt: skip
            self._run_service(name)
        (self.root / _STATE).write_bytes(msgspec.json.encode(ports))
        (self.root / MARKER).write_text("made by yeko-sql cluster\n")

    def _fast_health_checks(self, port: int) -> None:
        """Declare a silent node unhealthy after ~5 s, not pg_auto_failover's 20 s,
        and promote 6 s later, not 30 s.

        A local cluster is for seeing failover happen; a deployment tunes
        these on its monitor (``pgautofailover.*`` settings) together with
        each node's ``timeout.network_partition_timeout``.
        """
        import psycopg  # noqa: PLC0415  (the CLI imports this module for --help)

        url = f"host=127.0.0.1 port={port} dbname=pg_auto_failover user={_USER}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
                    for name, value in _HEALTH.items():
                        conn.execute(
                            f"ALTER SYSTEM SET pgautofailover.{name} = '{value}'"
                        )
                    conn.execute("SELECT pg_reload_conf()")
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
            else:
                return

    def _monitor_uri(self, port: int) -> str:
        return (
            f"postgres://autoctl_node@127.0.0.1:{port}/pg_auto_failover?sslmode=require"
        )

    def _running(self) -> bool:
        return all(self._pid(name) is not None for name in ("monitor", *_NODES))

    def _pid(self, name: str) -> int | None:
        """The running postmaster of *name*, from its postmaster.pid."""
        try:
            pid = int((self.root / name / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return None
        return pid

    def postmaster_pid(self, node: str) -> int | None:
        """The postmaster pid of data node *node* (``node1``, ``node2``)."""
        return self._pid(node)

    def wait_ready(self, *, timeout: float = 120.0) -> list[ClusterNode]:
        """Wait until one node is primary and the other secondary."""
        deadline = time.monotonic() + timeout
        while True:
            nodes = self.status()
            states = sorted(n.reported for n in nodes)
            if states == ["primary", "secondary"] and all(
                n.reported == n.assigned for n in nodes
            ):
                return nodes
            if time.monotonic() > deadline:
                shown = ", ".join(f"{n.name} {n.reported}" for n in nodes)
                raise DevServerError(
                    f"the cluster in {self.root} is not ready after {timeout:.0f} s "
                    f"({shown or 'no node reported'}); see its *.log files"
                )
            time.sleep(0.5)

    def status(self) -> list[ClusterNode]:
        """The data nodes as the monitor reports them (empty: monitor down)."""
        out = self._autoctl(
            "show", "state", "--pgdata", str(self.root / "monitor"), "--json",
            check=False,
        )  # fmt: skip
        try:
            rows = json.loads(out)
        except json.JSONDecodeError:
            return []
        return [
            ClusterNode(
                name=row["nodename"],
                port=int(row["nodeport"]),
                reported=row["current_group_state"],
                assigned=row["assigned_group_state"],
                lsn=row.get("reported_lsn", ""),
            )
            for row in rows
        ]

    def failover(self) -> list[ClusterNode]:
        """Have the monitor promote the secondary (``pg_autoctl perform failover``)."""
        self._autoctl("perform", "failover", "--pgdata", str(self.root / "monitor"))
        return self.wait_ready()

    def stop(self) -> bool:
        """Stop the nodes and the monitor; False when nothing ran."""
        if not self.created:
            return False
        ran = False
        for name in (*_NODES, "monitor"):
            if self._pid(name) is not None:
                ran = True
            self._autoctl("stop", "--pgdata", str(self.root / name), check=False)
        deadline = time.monotonic() + 30
        while any(self._pid(n) for n in ("monitor", *_NODES)):
            if time.monotonic() > deadline:
                for name in ("monitor", *_NODES):
                    if (pid := self._pid(name)) is not None:
                        os.kill(pid, signal.SIGQUIT)
                break
            time.sleep(0.2)
        return ran

    def destroy(self) -> bool:
        """Stop and delete the cluster's folder; only one this class made.

        Raises:
            DevServerError: the folder exists but holds no cluster marker.
        """
        if not self.root.exists():
            return False
        if not (self.root / MARKER).is_file():
            raise DevServerError(
                f"{self.root} holds no {MARKER}: not a yeko-sql cluster, "
                "nothing deleted"
            )
        self.stop()
        shutil.rmtree(self.root)
        return True

    # -- URLs ----------------------------------------------------------------

    def url(self, *, read: bool = False, dbname: str | None = None) -> str:
        """The multi-host URL: read-write, or ``prefer-standby`` with *read*."""
        ports = self._ports()
        attrs = "prefer-standby" if read else "read-write"
        return (
            "host=127.0.0.1,127.0.0.1 "
            f"port={','.join(str(p) for p in ports.nodes)} "
            f"dbname={dbname or ports.dbname} user={_USER} "
            f"target_session_attrs={attrs} connect_timeout=2"
        )

    def primary_url(self, *, dbname: str | None = None) -> str:
        """A single-host URL of the current primary (for tools that take one:
        yoyo's migrations, pg_dump).

        Raises:
            DevServerError: no node is primary now.
        """
        for node in self.status():
            if node.reported in {"primary", "wait_primary", "single"}:
                return self.node_url(node.name, dbname=dbname)
        raise DevServerError(f"the cluster in {self.root} has no primary now")

    def node_url(self, node: str, *, dbname: str | None = None) -> str:
        """A URL of one data node."""
        ports = self._ports()
        port = ports.nodes[_NODES.index(node)]
        return (
            f"host=127.0.0.1 port={port} dbname={dbname or ports.dbname} user={_USER}"
        )
