"""kill -9 of ``migrate apply`` anywhere, then the recovery docs/migrations.md gives.

The recovery after a killed run is to run ``yeko-sql migrate apply`` again: every
round below ends with all 53 bundled migrations applied, recorded as yoyo
records them, checksummed, every index valid, and the schema equal to a clean
run's. The victims are forked from this process (the parsed migrations are
warmed first, so a victim starts at once) and armed by ``tests.migrate_victim``;
one test runs the real ``python -m tests.migrate_victim`` in a subprocess and
kills it in the middle of a ``CREATE INDEX CONCURRENTLY``.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from yoyo import get_backend, read_migrations

from tests.fix_server import ServerInfo
from tests.migrate_victim import arm
from yeko_sql.cli.main import main
from yeko_sql.ops.migrate import (
    apply_migrations,
    invalid_indexes,
    list_migrations,
    migration_status,
    yoyo_url,
)
from yeko_sql.yeko.resources import migrations_dir

ROOT = Path(__file__).resolve().parent.parent
CIC = "0016_index-students-by-name"
CIC_INDEX = "students_school_id_full_name_id_idx"

_SNAPSHOT = """
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type
FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'constraint ' || conrelid::regclass || '.' || conname
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'policy ' || tablename || '.' || policyname FROM pg_policies
UNION ALL
SELECT 'comment ' || c.relname || ' '
       || coalesce(obj_description(c.oid, 'pg_class'), '')
FROM pg_class AS c WHERE c.relnamespace = 'public'::regnamespace
"""


def _snapshot(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return sorted(r[0] for r in conn.execute(_SNAPSHOT).fetchall())


@pytest.fixture
def clean_schema(database_url: str) -> list[str]:
    """The schema a clean, unkilled run leaves (the session's template)."""
    return _snapshot(database_url)


@pytest.fixture
def scratch(pg_server: ServerInfo, request: pytest.FixtureRequest) -> Iterator[str]:
    """This test's own empty database (recreated by :func:`_renew`)."""
    digest = hashlib.sha1(request.node.name.encode()).hexdigest()[:8]  # noqa: S324
    name = f"kill_{request.node.originalname[:40]}_{digest}".lower()
    _renew(pg_server, name)
    try:
        yield pg_server.url(name)
    finally:
        with psycopg.connect(pg_server.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )


def _renew(server: ServerInfo, name: str) -> None:
    with psycopg.connect(server.url(), autocommit=True) as conn:
        for stmt in ("DROP DATABASE IF EXISTS {} WITH (FORCE)", "CREATE DATABASE {}"):
            conn.execute(sql.SQL(stmt).format(sql.Identifier(name)))


def _fork_apply(url: str, at: str | None = None) -> int:
    """Start ``apply_migrations`` in a forked child, armed to die at *at*."""
    list_migrations()  # parse (and cache) the files before forking
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            if at:
                point, _, target = at.partition(":")
                arm(point, target)
            apply_migrations(url, lock_timeout=30)
            code = 0
        except BaseException:  # noqa: BLE001  (reported, then the child exits)
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


def _wait(pid: int) -> int:
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _recover(url: str) -> None:
    """The documented recovery: run apply again."""
    assert (
        main(["migrate", "apply", "--database-url", url, "--lock-timeout", "30"]) == 0
    )


def _assert_whole(url: str, clean_schema: list[str]) -> None:
    ids = [m for m, _ in list_migrations()]
    backend = get_backend(yoyo_url(url))
    try:  # yoyo itself sees every migration applied
        assert list(backend.to_apply(read_migrations(str(migrations_dir())))) == []
    finally:
        backend.connection.close()
    states = migration_status(url)
    assert [s.id for s in states if not s.applied] == []
    assert [s.id for s in states if s.unverified or s.edited] == []
    assert [s.id for s in states if s.invalid_indexes] == []
    assert invalid_indexes(url) == []
    with psycopg.connect(url) as conn:
        checksummed = {
            r[0]
            for r in conn.execute(
                "SELECT migration_id FROM yeko_migration_checksums"
            ).fetchall()
        }
        logged = conn.execute(
            "SELECT count(DISTINCT migration_id) FROM _yoyo_log"
            " WHERE operation = 'apply'"
        ).fetchone()
    assert checksummed == set(ids)
    assert logged == (len(ids),)
    assert _snapshot(url) == clean_schema


NAMED_POINTS = [
    "mark:0001_create-schools",  # yoyo's window: steps committed, record not yet
    "steps:0017_create-enrollments",
    "checkpoint:recorded:0017_create-enrollments",
    "checkpoint:committed:0029_create-marks",
    "step:0036_create-app-role:3",  # in the middle of a transactional one
    f"step:{CIC}:3",  # index built, COMMENT not yet
    f"mark:{CIC}",  # every step done, not recorded
]


@pytest.mark.parametrize("at", NAMED_POINTS)
def test_a_run_killed_at_a_named_point_recovers_by_applying_again(
    scratch: str, clean_schema: list[str], at: str
) -> None:
    assert _wait(_fork_apply(scratch, at)) == -signal.SIGKILL
    _recover(scratch)
    _assert_whole(scratch, clean_schema)


def test_twenty_random_kills_each_recover_by_applying_again(
    pg_server: ServerInfo, scratch: str, clean_schema: list[str]
) -> None:
    seed = int(os.environ.get("YEKO_TEST_KILL_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)  # noqa: S311  (kill times, not secrets)
    name = psycopg.conninfo.conninfo_to_dict(scratch)["dbname"]
    kills = rounds = 0
    while kills < 20:
        rounds += 1
        assert rounds <= 40, f"seed {seed}: most runs finished before their kill"
        for _ in range(3):  # up to three killed runs in a row, then the recovery
            pid = _fork_apply(scratch)
            time.sleep(rng.uniform(0.0, 0.8))
            os.kill(pid, signal.SIGKILL)
            code = _wait(pid)
            assert code in (0, -signal.SIGKILL), f"seed {seed}"
            if code == 0:  # it finished first: nothing left to interrupt
                break
            kills += 1
        _recover(scratch)
        _assert_whole(scratch, clean_schema)
        _renew(pg_server, str(name))


def _backend_of(url: str, query_prefix: str) -> tuple[int, str | None] | None:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid, wait_event_type FROM pg_stat_activity"
            " WHERE datname = current_database() AND query ILIKE %s"
            " AND pid <> pg_backend_pid()",
            [query_prefix + "%"],
        ).fetchone()
    return (row[0], row[1]) if row else None


def test_a_cli_run_killed_inside_create_index_concurrently(
    scratch: str, clean_schema: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # An open snapshot makes the CREATE INDEX CONCURRENTLY of 0016 wait with its
    # index already in the catalog, not yet valid: the victim is killed there.
    blocker = psycopg.connect(scratch)
    blocker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    blocker.execute("SELECT 1")
    victim = subprocess.Popen(
        [sys.executable, "-m", "tests.migrate_victim", scratch],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while (found := _backend_of(scratch, "CREATE INDEX CONCURRENTLY")) is None or (
            found[1] != "Lock"
        ):
            assert victim.poll() is None, "the victim ended before the build"
            assert time.monotonic() < deadline, "the build never waited"
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        assert victim.wait() == -signal.SIGKILL
        # The server notices the dead client by itself (the session's
        # client_connection_check_interval), cancels the build and so lets the
        # advisory lock go: nothing is left that looks alive.
        deadline = time.monotonic() + 10
        while _backend_of(scratch, "CREATE INDEX CONCURRENTLY") is not None:
            assert time.monotonic() < deadline, "the killed run's build goes on"
            time.sleep(0.1)
    finally:
        blocker.rollback()
        blocker.close()
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    # What kill -9 left: 0016 unrecorded, its index invalid; status says so.
    with psycopg.connect(scratch) as conn:
        row = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
            [CIC_INDEX],
        ).fetchone()
    assert row == (False,)
    capsys.readouterr()
    assert main(["migrate", "status", "--database-url", scratch]) == 1
    out = capsys.readouterr().out
    assert f"DROP INDEX CONCURRENTLY public.{CIC_INDEX}" in out
    _recover(scratch)
    out = capsys.readouterr().out
    assert f"index public.{CIC_INDEX} of {CIC} was invalid" in out
    _assert_whole(scratch, clean_schema)
