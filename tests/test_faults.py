"""Faults: a restart under load, a killed backend, a killed import, timeouts.

After each fault the invariants of ``tests.stress.check_invariants`` hold
(ledgers match balances, one confirmed enrollment per student and year, every
enrollment has exactly its fee and the other way round), nothing partial is
visible, and the pool is healthy: the next calls succeed and every connection
is back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from tests.fix_db import OpenDb
from tests.fix_sqlfiles import SqlDir
from tests.stress import (
    Student,
    Tally,
    Workload,
    check_invariants,
    enroll_and_pay,
    run_op,
    seed,
    write_queries,
)
from yeko_sql.ops.devserver import DevServer
from yeko_sql.ops.migrate import apply_migrations
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.runtime.database import Database
from yeko_sql.settings import Settings

EXTRA = """
-- name: get_after_sleep :scalar
-- Sleep on the server, then answer (a statement that outlives its timeout).
SELECT count(*)
FROM pg_sleep(:seconds::float8);

-- name: insert_students :execrows
-- Students in bulk; a matricule already there is skipped.
INSERT INTO students (id, school_id, matricule, first_name, last_name)
SELECT id, :school_id, matricule, first_name, last_name
FROM unnest(
    :ids::text[], :matricules::text[], :first_names::text[], :last_names::text[]
) AS t (id, matricule, first_name, last_name)
ON CONFLICT (school_id, matricule) DO NOTHING;
"""


class Seeded:
    """A migrated, seeded database and the workload's queries."""

    def __init__(self, url: str, students: list[Student], queries: Registry) -> None:
        self.url, self.students, self.queries = url, students, queries


@pytest.fixture
def seeded(database_url: str, sql_dir: SqlDir) -> Seeded:
    students = seed(database_url)
    write_queries(sql_dir.path)
    sql_dir.write("extra.sql", EXTRA)
    return Seeded(database_url, students, load_queries(sql_dir.path))


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def pool_is_idle(db: Database) -> bool:
    stats = db.pool.get_stats()
    return (
        stats["pool_available"] == stats["pool_size"]
        and stats.get("requests_waiting", 0) == 0
    )


def notes(exc: BaseException) -> str:
    return "\n".join(getattr(exc, "__notes__", ()))


# -- a server restart in the middle of a load ---------------------------------


@pytest.fixture(scope="module")
def own_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DevServer, Seeded]]:
    server = DevServer(
        tempfile.mkdtemp(prefix="yeko-faults-", dir="/dev/shm"), fsync=False
    )
    try:
        server.start()
        url = server.create_database("yeko_faults")
        apply_migrations(url)
        students = seed(url)
        folder = tmp_path_factory.mktemp("faults-sql")
        yield server, Seeded(url, students, load_queries(write_queries(folder)))
    finally:
        server.destroy()


@pytest.mark.slow
def test_a_restart_under_load_loses_no_commit_and_shows_no_half_transaction(
    own_server: tuple[DevServer, Seeded], capsys: pytest.CaptureFixture[str]
) -> None:
    server, world = own_server
    settings = Settings(min_size=4, max_size=4, timeout=15, reconnect_timeout=30)
    tallies = [Tally() for _ in range(8)]
    failures: list[tuple[float, BaseException]] = []
    successes: list[float] = []
    stop = threading.Event()
    with Database(world.url, queries=world.queries, settings=settings) as db:

        def worker(i: int) -> None:
            workload, tally = Workload(world.students, seed=i), tallies[i]
            while not stop.is_set():
                op = enroll_and_pay(workload.rng.choice(world.students))
                if i % 2:
                    op = workload.pick()  # half the threads run the mixed load
                began = time.perf_counter()
                try:
                    run_op(db, op)
                except Exception as exc:  # noqa: BLE001  (asserted on below)
                    tally.failed(op, exc)
                    failures.append((time.monotonic(), exc))
                else:
                    tally.timed(op, began)
                    successes.append(time.monotonic())

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        restart_began = time.monotonic()
        server.restart()
        restarted = time.monotonic()
        time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        # The next calls succeed, and the pool is whole again.
        for _ in range(20):
            run_op(db, Workload(world.students, seed=99).pick())
        assert wait_until(lambda: pool_is_idle(db)), db.pool.get_stats()
        lost = db.pool.get_stats().get("connections_lost", 0)

    tally = Tally()
    for t in tallies:
        tally.merge(t)
    # Only connection errors, and only while the server was going down or up.
    for _, exc in failures:
        assert isinstance(exc, psycopg.OperationalError), repr(exc)
    first_ok = min(t for t in successes if t > restarted)
    with capsys.disabled():
        print(  # noqa: T201
            f"\nrestart under load: pg_ctl restart {restarted - restart_began:.2f} s,"
            f" first success {1000 * (first_ok - restarted):.0f} ms after it,"
            f" {len(failures)} failed calls ({', '.join(sorted(tally.errors))}),"
            f" {tally.ops} succeeded, {lost} connections replaced by the pool check"
        )
    # psycopg_pool retries a failed connect after ~1 s (its backoff), so the
    # first call after a restart may wait that long; it does not fail.
    assert first_ok - restarted < 3.0
    assert all(at < restarted + 1.0 for at, _ in failures)
    found = check_invariants(world.url)["enrollment_ids"]
    assert tally.committed <= found  # every acknowledged commit survived
    assert found <= tally.committed | tally.uncertain  # nothing from nowhere


# -- a backend killed inside a transaction ------------------------------------


def test_a_backend_killed_inside_a_transaction_commits_nothing(
    seeded: Seeded, open_db: OpenDb, pg: psycopg.Connection
) -> None:
    db = open_db(seeded.queries, max_size=2)
    op = enroll_and_pay(seeded.students[0])
    (enroll, enroll_args), (pay, pay_args), _ = op.calls
    with pytest.raises(psycopg.OperationalError) as caught, db.transaction() as tx:
        getattr(tx.stress, enroll)(**enroll_args)
        pid = tx.connection.info.backend_pid
        pg.execute("SELECT pg_terminate_backend(%s)", [pid])
        getattr(tx.stress, pay)(**pay_args)
    assert isinstance(caught.value, errors.AdminShutdown), repr(caught.value)
    assert "terminating connection due to administrator command" in str(caught.value)
    assert "while running yeko:stress.insert_payment" in notes(caught.value)
    assert db.pool.get_stats()["returns_bad"] == 1  # discarded, not reused
    assert (
        db.stress.count_student_enrollments(
            school_id=seeded.students[0].school_id, student_id=seeded.students[0].id
        )
        == 0
    )
    assert wait_until(lambda: pool_is_idle(db))
    assert check_invariants(seeded.url)["payments"] == 0


def kill_idle_backend(db: Database, pg: psycopg.Connection, *, gone: str) -> None:
    """Terminate the pool's one idle backend; wait until it is *gone* from a view.

    *gone* is ``"process"`` (the backend has exited: its socket is closed) or
    ``"activity"`` (it left pg_stat_activity: its FATAL message is sent, but
    the process may still hold the socket open for a moment).
    """
    assert db.extra.get_after_sleep(seconds=0) == 1  # the connection exists
    (pid,) = pg.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'yeko-sql'"
        " AND datname = current_database()"
    ).fetchone() or (None,)
    assert pid is not None
    pg.execute("SELECT pg_terminate_backend(%s)", [pid])
    listed = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
    assert wait_until(lambda: pg.execute(listed, [pid]).fetchone() == (0,))
    if gone == "process":
        assert wait_until(lambda: not Path(f"/proc/{pid}").exists())


def test_a_backend_killed_between_calls_costs_no_failed_call(
    seeded: Seeded, open_db: OpenDb, pg: psycopg.Connection
) -> None:
    db = open_db(seeded.queries, min_size=1, max_size=1)
    s = seeded.students[0]
    for _ in range(5):
        kill_idle_backend(db, pg, gone="process")
        assert db.stress.get_student(school_id=s.school_id, id=s.id).id == s.id
    assert db.pool.get_stats()["connections_lost"] == 5


def test_a_backend_killed_a_moment_ago_costs_no_failed_call(
    seeded: Seeded, open_db: OpenDb, pg: psycopg.Connection
) -> None:
    db = open_db(seeded.queries, min_size=1, max_size=1)
    s = seeded.students[0]
    for _ in range(20):  # before the check closed such connections, half failed
        kill_idle_backend(db, pg, gone="activity")
        assert db.stress.get_student(school_id=s.school_id, id=s.id).id == s.id


# -- a bulk import killed with SIGKILL half-way --------------------------------

IMPORT = """\
import sys

from yeko_sql.bulk.chunks import load_in_chunks
from yeko_sql.runtime.database import Database
from yeko_sql.query.loader import load_queries
from yeko_sql.settings import Settings

url, sql_dir, school_id, total, pause = sys.argv[1:]
rows = [(f"blk{i:018d}", f"B{i:06d}") for i in range(int(total))]


def apply(tx, chunk):
    tx.execute("SELECT pg_sleep($1)", [float(pause)])  # a slow network, say
    return tx.extra.insert_students(
        school_id=school_id,
        ids=[r[0] for r in chunk],
        matricules=[r[1] for r in chunk],
        first_names=["Awa"] * len(chunk),
        last_names=[f"Kone {r[1]}" for r in chunk],
    )


settings = Settings(min_size=1, max_size=1, application_name="yeko-import")
with Database(url, queries=load_queries(sql_dir), settings=settings) as db:
    report = load_in_chunks(db, rows, apply, size=500)
    report.raise_for_failure()
    print(report.rows)
"""

TOTAL = 5000


def test_an_import_killed_half_way_keeps_whole_chunks_and_a_rerun_completes(
    seeded: Seeded, sql_dir: SqlDir, pg: psycopg.Connection, tmp_path: Path
) -> None:
    script = tmp_path / "import_students.py"
    script.write_text(IMPORT)
    school_id = seeded.students[0].school_id
    args = [sys.executable, str(script), seeded.url, str(sql_dir.path), school_id]

    def imported() -> int:
        row = pg.execute("SELECT count(*) FROM students WHERE matricule LIKE 'B%'")
        return int(row.fetchone()[0])  # type: ignore[index]

    def import_sessions() -> int:
        row = pg.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            ["yeko-import"],
        )
        return int(row.fetchone()[0])  # type: ignore[index]

    proc = subprocess.Popen(
        [*args, str(TOTAL), "0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert wait_until(lambda: imported() >= 1500, timeout=30)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    # The server notices the dead client and rolls its open chunk back.
    assert wait_until(lambda: import_sessions() == 0)
    committed = imported()
    assert 1500 <= committed < TOTAL
    assert committed % 500 == 0  # whole chunks only
    rows = pg.execute(
        "SELECT min(matricule), max(matricule) FROM students WHERE matricule LIKE 'B%'"
    ).fetchone()
    assert rows == ("B000000", f"B{committed - 1:06d}")  # the first chunks, in order

    rerun = subprocess.run(
        [*args, str(TOTAL), "0"], capture_output=True, text=True, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    assert int(rerun.stdout) == TOTAL - committed  # the rest, nothing twice
    assert imported() == TOTAL
    distinct = pg.execute(
        "SELECT count(DISTINCT matricule), count(DISTINCT id) FROM students"
        " WHERE matricule LIKE 'B%'"
    ).fetchone()
    assert distinct == (TOTAL, TOTAL)


# -- statement, lock and idle-in-transaction timeouts ---------------------------


def test_a_statement_timeout_cancels_the_call_and_keeps_the_connection(
    seeded: Seeded, open_db: OpenDb
) -> None:
    db = open_db(seeded.queries, max_size=1, statement_timeout_ms=100)
    with pytest.raises(errors.QueryCanceled, match="statement timeout") as caught:
        db.extra.get_after_sleep(seconds=2)
    assert "while running yeko:extra.get_after_sleep" in notes(caught.value)
    assert db.extra.get_after_sleep(seconds=0) == 1
    stats = db.pool.get_stats()
    assert stats.get("returns_bad", 0) == 0  # a cancelled statement is no bad conn
    assert pool_is_idle(db)


def test_a_lock_timeout_fails_the_waiting_call_and_the_pool_recovers(
    seeded: Seeded, open_db: OpenDb
) -> None:
    db = open_db(seeded.queries, max_size=1, lock_timeout_ms=100)
    s = seeded.students[0]
    with psycopg.connect(seeded.url) as holder:
        holder.execute("SELECT id FROM students WHERE id = %s FOR UPDATE", [s.id])
        started = time.monotonic()
        with pytest.raises(errors.LockNotAvailable) as caught, db.transaction() as tx:
            tx.stress.lock_student(school_id=s.school_id, id=s.id)
        assert time.monotonic() - started < 2
        assert "while running yeko:stress.lock_student" in notes(caught.value)
    with db.transaction() as tx:  # the holder is gone: the lock is free
        assert tx.stress.lock_student(school_id=s.school_id, id=s.id) == s.id
    assert pool_is_idle(db)


def test_an_idle_transaction_is_ended_by_the_server_and_nothing_is_kept(
    seeded: Seeded, open_db: OpenDb
) -> None:
    db = open_db(seeded.queries, max_size=1, idle_in_transaction_session_timeout_ms=150)
    s = seeded.students[0]
    op = enroll_and_pay(s)
    (enroll, enroll_args), (pay, pay_args), _ = op.calls
    with (
        pytest.raises(
            (errors.IdleInTransactionSessionTimeout, psycopg.OperationalError)
        ) as caught,
        db.transaction() as tx,
    ):
        getattr(tx.stress, enroll)(**enroll_args)
        time.sleep(0.5)  # the caller forgot about its transaction
        getattr(tx.stress, pay)(**pay_args)
    assert "idle-in-transaction timeout" in str(caught.value) or "closed" in str(
        caught.value
    )
    assert db.pool.get_stats()["returns_bad"] == 1
    count = db.stress.count_student_enrollments(school_id=s.school_id, student_id=s.id)
    assert count == 0
    assert wait_until(lambda: pool_is_idle(db))
    check_invariants(seeded.url)
