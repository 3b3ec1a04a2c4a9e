"""Failover under load: kill -9 the primary of a pg_auto_failover cluster.

A writer inserts parent/child pairs through ``Database`` on the cluster's
multi-host URL, each pair one statement with a client-made id, retried on a
failover's errors (``retry_on=FAILOVER``, safe: the insert is idempotent);
every pair the call acknowledged is recorded. Meanwhile the primary node dies
(``kill -9`` of its ``pg_autoctl`` and postmaster, as a crashed machine) and
the monitor promotes the secondary. Afterwards: every acknowledged pair is on
the new primary, no pair is half there, the same ``Database`` kept working
(its pool reconnected through the multi-host URL), and the outage (the first
failed attempt to the first success after it) is printed.

``make test`` runs it for a short while (``YEKO_STRESS_SECONDS`` scales the
writing before and after the kill); ``make stress`` longer.
"""

from __future__ import annotations

import functools
import os
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql import Database, Settings
from yeko_sql.cli.main import main
from yeko_sql.ops.cluster import Cluster
from yeko_sql.query.loader import load_queries
from yeko_sql.runtime.retry import FAILOVER, retry

pytestmark = pytest.mark.stress

SECONDS = float(os.environ.get("YEKO_STRESS_SECONDS", "30"))

PAIRS = """
-- name: add_pair :execrows
-- A parent and its child in one statement: both or neither.
WITH parent AS (
    INSERT INTO ha_parent (id) VALUES (:id)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
)
INSERT INTO ha_child (id, parent_id)
SELECT id || '-child', id FROM parent;
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    root = Path(tempfile.mkdtemp(prefix="yeko-cluster-", dir=shm)) / "cluster"
    root.parent.chmod(0o755)
    made = Cluster(root, dbname="ha")
    try:
        made.start()
        with psycopg.connect(made.url(), autocommit=True) as conn:
            conn.execute("CREATE TABLE ha_parent (id text PRIMARY KEY)")
            conn.execute(
                "CREATE TABLE ha_child (id text PRIMARY KEY,"
                " parent_id text NOT NULL REFERENCES ha_parent)"
            )
        yield made
    finally:
        made.destroy()
        root.parent.rmdir()


NOTES = """
-- name: add_note :exec
INSERT INTO ha_note (id, body) VALUES (:id, :body);

-- name: find_note :opt
-- replica: ok
SELECT id, body FROM ha_note WHERE id = :id;

-- name: on_standby :scalar
-- replica: ok
SELECT pg_is_in_recovery();
"""


def test_reads_on_the_secondary_see_their_writes_through_a_token(
    cluster: Cluster, sql_dir: SqlDir
) -> None:
    """The cluster's read URL reaches the secondary; consistent_reads() waits for
    its replay; paused replay shows that without the wait a read misses."""
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE ha_note (id int PRIMARY KEY, body text NOT NULL)")
    sql_dir.write("notes.sql", NOTES)
    db = Database(
        cluster.url(),
        read_url=cluster.url(read=True),
        queries=load_queries(sql_dir.path),
        settings=Settings(min_size=1, replica_wait_ms=200),
    )
    secondary = next(n for n in cluster.status() if n.reported == "secondary")
    with db:
        assert db.notes.on_standby() is True  # the read pool is the secondary's
        with db.consistent_reads() as held:
            for i in range(200):
                db.notes.add_note(id=i, body=f"note {i}")
                found = db.notes.find_note(id=i)
                assert found is not None, i
        assert held.fell_back <= 20, held.fell_back
        with psycopg.connect(cluster.node_url(secondary.name), autocommit=True) as st:
            st.execute("SELECT pg_wal_replay_pause()")
            try:
                db.notes.add_note(id=1000, body="while paused")
                assert db.notes.find_note(id=1000) is None  # the lag exists
            finally:
                st.execute("SELECT pg_wal_replay_resume()")


def test_the_cli_shows_the_nodes_and_fails_over_on_request(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--dir", str(cluster.root)]
    assert main(["cluster", "status", *where]) == 0
    shown = capsys.readouterr().out
    assert "primary" in shown
    assert "secondary" in shown
    before = {n.name: n.reported for n in cluster.status()}
    assert main(["cluster", "failover", *where]) == 0
    after = {n.name: n.reported for n in cluster.status()}
    assert {before[name] for name in before} == {after[name] for name in after}
    assert all(before[name] != after[name] for name in before)  # the roles swapped
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        port = conn.execute("SELECT inet_server_port()").fetchone()
    primary = next(n for n in cluster.status() if n.reported == "primary")
    assert port == (primary.port,)  # the write URL finds the new primary


def _kill_node(cluster: Cluster, node: str) -> None:
    """kill -9 every process of *node*, as a crashed machine.

    ``pg_autoctl run`` starts its own session (``setsid``); its children
    rename themselves (``pg_autoctl: start/stop postgres``), so the session
    id, not the command line, finds them all: the supervisor, the keeper, the
    child that would restart PostgreSQL, and the postmaster with its backends.
    """
    data = str(cluster.root / node).encode()
    sessions = {
        _session(pid)
        for pid, argv in _processes()
        if argv[:1] == [b"pg_autoctl"] and data in argv
    }
    sessions.discard(None)
    assert sessions, f"no pg_autoctl runs {node}"
    for pid, _ in _processes():
        if _session(pid) in sessions:
            os.kill(pid, signal.SIGKILL)


def _processes() -> Iterator[tuple[int, list[bytes]]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                yield int(entry.name), (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue


def _session(pid: int) -> int | None:
    """The session id of *pid* (field 6 of /proc/PID/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[3])


def test_a_killed_primary_loses_no_acknowledged_write(
    cluster: Cluster, sql_dir: SqlDir
) -> None:
    sql_dir.write("ha.sql", PAIRS)
    primary = _current_primary(cluster)
    acknowledged: list[str] = []
    unknown: list[str] = []
    failures: list[float] = []  # time of each failed attempt
    successes: list[float] = []
    stop = threading.Event()
    db = Database(
        cluster.url(),
        queries=load_queries(sql_dir.path),
        settings=Settings(min_size=2, max_size=4, timeout=5.0, reconnect_timeout=60),
    )

    def attempt(tx: object, key: str) -> int:
        try:
            done: int = tx.ha.add_pair(id=key)  # type: ignore[attr-defined]
        except FAILOVER:
            failures.append(time.monotonic())
            raise
        return done

    def writer() -> None:
        while not stop.is_set():
            key = uuid.uuid4().hex
            try:
                retry(
                    db,
                    functools.partial(attempt, key=key),
                    attempts=400,
                    backoff=0.05,
                    max_backoff=0.2,
                    retry_on=FAILOVER,
                )
            except Exception:  # noqa: BLE001  (a COMMIT whose outcome is unknown)
                unknown.append(key)
                failures.append(time.monotonic())
                continue
            acknowledged.append(key)
            successes.append(time.monotonic())

    with db:
        thread = threading.Thread(target=writer)
        thread.start()
        try:
            time.sleep(max(2.0, SECONDS / 10))
            killed_at = time.monotonic()
            before = len(acknowledged)
            _kill_node(cluster, primary)
            deadline = time.monotonic() + 90
            while not [s for s in successes if s > killed_at + 0.5]:
                assert time.monotonic() < deadline, "no write succeeded after the kill"
                time.sleep(0.1)
            time.sleep(max(2.0, SECONDS / 10))
        finally:
            stop.set()
            thread.join()
    after_kill = [f for f in failures if f >= killed_at]
    first_failure = min(after_kill) if after_kill else killed_at
    first_success = min(s for s in successes if s > first_failure)
    outage = first_success - first_failure
    print(  # noqa: T201  (the measurement make test reports)
        f"\nfailover: {len(acknowledged):,} acknowledged writes ({before:,} before the"
        f" kill), {len(unknown)} with an unknown outcome, outage {outage:.1f} s"
        f" (first failed attempt to first success), killed {primary}"
    )
    _check_new_primary(cluster, primary, acknowledged, before)


def _current_primary(cluster: Cluster) -> str:
    """The node the write URL reaches, checked: the monitor calls it primary and
    the other node is in recovery."""
    nodes = cluster.status()
    with psycopg.connect(cluster.url(), autocommit=True) as conn:  # read-write
        row = conn.execute("SELECT inet_server_port()").fetchone()
    primary = next(n.name for n in nodes if (n.port,) == row)
    standby = next(n for n in nodes if n.name != primary)
    with psycopg.connect(cluster.node_url(standby.name), autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
    assert {n.name: n.reported for n in nodes}[primary] == "primary"
    return primary


def _check_new_primary(
    cluster: Cluster, killed: str, acknowledged: list[str], before: int
) -> None:
    new_primary = next(n for n in cluster.status() if n.name != killed)
    assert new_primary.reported in {"primary", "wait_primary"}
    url = cluster.node_url(new_primary.name)
    with psycopg.connect(url, autocommit=True) as conn:
        parents = {r[0] for r in conn.execute("SELECT id FROM ha_parent")}
        children = {r[0] for r in conn.execute("SELECT parent_id FROM ha_child")}
        recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    assert recovery == (False,)
    assert set(acknowledged) <= parents  # nothing acknowledged was lost
    assert parents == children  # no pair is half there
    assert len(acknowledged) > before  # the same Database wrote after the failover
