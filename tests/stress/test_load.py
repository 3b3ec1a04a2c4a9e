"""Load: 64 threads, then 256 asyncio tasks, over a pool of 10, with pgbench alongside.

Each test drives the shared workload (``tests.stress``) against this module's
own server for its share of ``YEKO_STRESS_SECONDS`` (30 by default: 40 %
threads, 40 % asyncio, 20 % the overload variant), then checks that nothing
failed, no connection leaked and the data invariants hold, and prints
throughput and p50/p95/p99 latency. pgbench, built from the same ``.sql``
file by ``yeko_sql.ops.pgbench``, runs 4 clients against the same database at the
same time as an independent second client.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import psycopg
import pytest
from psycopg_pool import TooManyRequests

from tests.stress import (
    Student,
    Tally,
    Workload,
    check_invariants,
    run_op,
    run_op_async,
    seed,
    write_queries,
)
from yeko_sql.ops.devserver import DevServer
from yeko_sql.ops.migrate import apply_migrations
from yeko_sql.ops.pgbench import PgbenchResult, PgbenchScript, build_script, run_pgbench
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.runtime.database import Database
from yeko_sql.runtime.database_async import AsyncDatabase
from yeko_sql.settings import Settings

pytestmark = pytest.mark.stress

SECONDS = float(os.environ.get("YEKO_STRESS_SECONDS", "30"))
THREADS = 64
TASKS = 256
POOL = 10
PGBENCH_CLIENTS = 4


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """This module's server: its URL, seeded students and workload queries."""

    url: str
    students: list[Student]
    queries: Registry


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    server = DevServer(
        tempfile.mkdtemp(prefix="yeko-stress-", dir="/dev/shm"), fsync=False
    )
    try:
        server.start()
        url = server.create_database("yeko_stress")
        apply_migrations(url)
        students = seed(url)
        queries = load_queries(write_queries(tmp_path_factory.mktemp("stress-sql")))
        yield Target(url=url, students=students, queries=queries)
    finally:
        server.destroy()


def settings(name: str, **overrides: Any) -> Settings:
    """A pool of 10 for one variant, named so pg_stat_activity tells them apart."""
    return Settings(
        min_size=2, max_size=POOL, application_name=f"yeko-stress-{name}", **overrides
    )


def pgbench_script(t: Target) -> PgbenchScript:
    """Reads and a no-op balance update from the workload file."""
    s = t.students[0]
    names = [
        "get_student",
        "get_student_balance",
        "count_student_enrollments",
        "list_class_roster",
        "update_balance",
    ]
    values = {
        "school_id": s.school_id,
        "id": s.id,
        "student_id": s.id,
        "class_id": s.class_id,
        "delta": 0,
    }
    return build_script([t.queries[f"stress.{n}"] for n in names], values)


def in_background(fn: Callable[[], PgbenchResult]) -> Callable[[], PgbenchResult]:
    """Start *fn* in a thread now; the returned callable joins it."""
    box: list[PgbenchResult] = []
    thread = threading.Thread(target=lambda: box.append(fn()))
    thread.start()

    def join() -> PgbenchResult:
        thread.join()
        return box[0]

    return join


def drive_threads(db: Database, t: Target, *, threads: int, seconds: float) -> Tally:
    """Run the workload from *threads* threads for *seconds*."""
    tallies = [Tally() for _ in range(threads)]
    deadline = time.monotonic() + seconds

    def worker(i: int) -> None:
        workload, tally = Workload(t.students, seed=i), tallies[i]
        while time.monotonic() < deadline:
            op = workload.pick()
            began = time.perf_counter()
            try:
                run_op(db, op)
            except TooManyRequests as exc:
                tally.failed(op, exc)
                time.sleep(0.002)  # a caller told "busy" backs off a little
            except Exception as exc:  # noqa: BLE001  (counted and asserted on)
                tally.failed(op, exc)
            else:
                tally.timed(op, began)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=seconds + 60)
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total


async def drive_tasks(
    db: AsyncDatabase, t: Target, *, tasks: int, seconds: float
) -> Tally:
    """Run the workload from *tasks* asyncio tasks for *seconds*."""
    total = Tally()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def worker(i: int) -> None:
        workload = Workload(t.students, seed=1000 + i)
        while loop.time() < deadline:
            op = workload.pick()
            began = time.perf_counter()
            try:
                await run_op_async(db, op)
            except Exception as exc:  # noqa: BLE001  (counted and asserted on)
                total.failed(op, exc)
            else:
                total.timed(op, began)

    await asyncio.gather(*(worker(i) for i in range(tasks)))
    return total


def wait_idle(get_stats: Callable[[], dict[str, int]]) -> dict[str, int]:
    """Pool stats once every connection is back (or after 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        stats = get_stats()
        idle = stats["pool_available"] == stats["pool_size"]
        if (idle and stats.get("requests_waiting", 0) == 0) or (
            time.monotonic() > deadline
        ):
            return stats
        time.sleep(0.05)


def server_sessions(url: str, application_name: str) -> dict[str, int]:
    """The pool's sessions as the server sees them, by state."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT state, count(*) FROM pg_stat_activity"
            " WHERE application_name = %s GROUP BY state",
            [application_name],
        ).fetchall()
    return {str(state): int(n) for state, n in rows}


def report(
    capsys: pytest.CaptureFixture[str], label: str, tally: Tally, seconds: float
) -> None:
    p50, p95, p99 = tally.percentiles()
    errors = ", ".join(f"{k}: {v}" for k, v in tally.errors.items()) or "none"
    with capsys.disabled():
        print(  # noqa: T201  (the stress report is the point)
            f"\n{label:<32} {tally.ops:>8} ops {tally.ops / seconds:>8.0f} ops/s"
            f"  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms"
            f"  errors: {errors}"
        )


def report_pgbench(capsys: pytest.CaptureFixture[str], result: PgbenchResult) -> None:
    with capsys.disabled():
        print(  # noqa: T201
            f"{'  pgbench -c 4 alongside':<32} {result.transactions:>8} tx "
            f"{result.tps:>11.0f} tps  latency avg {result.latency_ms or 0:.1f} ms"
            f"  failed: {result.failed}"
        )


def assert_clean(
    t: Target,
    tally: Tally,
    db_stats: dict[str, int],
    sessions: dict[str, int],
    before: set[str],
) -> None:
    """No leaked connection; the invariants hold; the commits, no more, no less."""
    assert db_stats["pool_available"] == db_stats["pool_size"], db_stats
    assert db_stats.get("requests_waiting", 0) == 0, db_stats
    assert set(sessions) <= {"idle"}, sessions  # nothing left in a transaction
    assert sum(sessions.values()) == db_stats["pool_size"], sessions
    # Every acknowledged enrollment is there, and no other: no failed call
    # in these runs could have committed (a pool refusal sends nothing).
    assert check_invariants(t.url)["enrollment_ids"] - before == tally.committed


def enrollments(t: Target) -> set[str]:
    """The enrollments already in the database (earlier tests of this module)."""
    ids: set[str] = check_invariants(t.url)["enrollment_ids"]
    return ids


def test_64_threads_over_a_pool_of_10_with_pgbench_alongside(
    target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    seconds = SECONDS * 0.4
    before = enrollments(target)
    pgbench = in_background(
        lambda: run_pgbench(
            target.url, pgbench_script(target), clients=PGBENCH_CLIENTS, seconds=seconds
        )
    )
    with Database(
        target.url, queries=target.queries, settings=settings("threads")
    ) as db:
        tally = drive_threads(db, target, threads=THREADS, seconds=seconds)
        stats = wait_idle(db.pool.get_stats)
        sessions = server_sessions(target.url, db.settings.application_name)
        bench = pgbench()
        report(capsys, f"threads x{THREADS}, pool {POOL}", tally, seconds)
        report_pgbench(capsys, bench)
        assert not tally.errors, tally.errors
        assert tally.ops > 0
        assert_clean(target, tally, stats, sessions, before)
    assert bench.ok, bench.output


def test_256_asyncio_tasks_over_a_pool_of_10_with_pgbench_alongside(
    target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    seconds = SECONDS * 0.4
    before = enrollments(target)

    async def scenario() -> tuple[Tally, dict[str, int], dict[str, int], PgbenchResult]:
        async with AsyncDatabase(
            target.url,
            queries=target.queries,
            settings=settings("asyncio", max_waiting=TASKS * 2),
        ) as adb:
            bench, tally = await asyncio.gather(
                asyncio.to_thread(
                    run_pgbench,
                    target.url,
                    pgbench_script(target),
                    clients=PGBENCH_CLIENTS,
                    seconds=seconds,
                ),
                drive_tasks(adb, target, tasks=TASKS, seconds=seconds),
            )
            stats = await asyncio.to_thread(wait_idle, adb.pool.get_stats)
            sessions = await asyncio.to_thread(
                server_sessions, target.url, adb.settings.application_name
            )
            return tally, stats, sessions, bench

    tally, stats, sessions, bench = asyncio.run(scenario())
    report(capsys, f"asyncio x{TASKS}, pool {POOL}", tally, seconds)
    report_pgbench(capsys, bench)
    assert not tally.errors, tally.errors
    assert tally.ops > 0
    assert_clean(target, tally, stats, sessions, before)
    assert bench.ok, bench.output


def test_past_max_waiting_the_only_error_is_the_counted_pool_refusal(
    target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    seconds = SECONDS * 0.2
    before = enrollments(target)
    with Database(
        target.url,
        queries=target.queries,
        settings=settings("overload", max_waiting=4),
    ) as db:
        tally = drive_threads(db, target, threads=THREADS, seconds=seconds)
        stats = wait_idle(db.pool.get_stats)
        sessions = server_sessions(target.url, db.settings.application_name)
        report(capsys, f"threads x{THREADS}, max_waiting 4", tally, seconds)
        unexpected = {k: v for k, v in tally.first.items() if k != "TooManyRequests"}
        assert not unexpected, "\n".join(unexpected.values())
        assert stats["requests_errors"] == tally.errors["TooManyRequests"]
        assert tally.ops > 0  # the callers that got a connection were served
        assert_clean(target, tally, stats, sessions, before)
