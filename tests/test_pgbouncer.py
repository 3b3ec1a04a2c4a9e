"""Behind a real PgBouncer in transaction mode, every call gets its own rows.

Two OS processes open a ``Database`` each through the session's PgBouncer
(``tests.fix_pgbouncer``: two server connections per database and user, so
they take turns on the same backends) and call different queries of one
file for a few seconds: process A reads ``'A'`` rows and confirms items,
process B reads ``'B'`` rows and cancels items, both alone and inside
transactions. A row of the other process's query, an item in the other
process's state or a miscounted write is a wrong result. With
``Settings(pooler="transaction")`` there are no wrong results and no errors;
with the default settings there are no wrong results either, and an error
may only be one that names the ``pooler`` setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest

from tests.fix_domain import World
from tests.fix_pgbouncer import PgBouncer
from tests.fix_sqlfiles import SqlDir
from yeko_sql.query.loader import load_queries
from yeko_sql.runtime.database import Database
from yeko_sql.runtime.database_async import AsyncDatabase
from yeko_sql.settings import Settings

SECONDS = 3.0  # of calls per process and mode
ITEMS = 100  # items per process: A owns 1..100, B owns 101..200
TRANSACTION: dict[str, Any] = {"pooler": "transaction"}
DEFAULT: dict[str, Any] = {}
MODES = {"pooler=transaction": TRANSACTION, "default settings": DEFAULT}
POOL: dict[str, Any] = {"min_size": 2, "max_size": 2, "timeout": 10.0}

QUERIES = """
-- name: read_a :one
SELECT 'A'::text AS tag, :n::int AS n;

-- name: read_b :one
SELECT 'B'::text AS tag, :n::int AS n;

-- name: confirm_item :one
UPDATE pooled_items
SET status = 'confirmed', hits = hits + 1
WHERE id = :id
RETURNING id, status;

-- name: cancel_item :one
UPDATE pooled_items
SET status = 'cancelled', hits = hits + 1
WHERE id = :id
RETURNING id, status;

-- name: backend_pid :scalar
SELECT pg_backend_pid();

-- name: list_student_school_ids :scalar
SELECT coalesce(array_agg(DISTINCT school_id ORDER BY school_id), '{}')
FROM students;
"""

SIDES = {
    "A": ("read_a", "confirm_item", "confirmed", 0),
    "B": ("read_b", "cancel_item", "cancelled", ITEMS),
}

SESSION_PROBE = """
SELECT current_setting('application_name'),
       current_setting('statement_timeout'),
       current_setting('lock_timeout'),
       current_setting('idle_in_transaction_session_timeout'),
       pg_backend_pid()
"""


class Tally(msgspec.Struct, kw_only=True):
    """What one process saw: its calls, wrong results and errors."""

    side: str
    calls: int = 0
    wrong: int = 0
    errors: int = 0
    unexplained: int = 0
    """Errors whose message and notes do not name the ``pooler`` setting."""
    writes: int = 0
    """Item updates that committed (alone, or with their transaction)."""
    messages: list[str] = []
    """The first few distinct error messages."""
    backends: list[int] = []
    """Server backends this process ran on."""

    def error(self, exc: Exception) -> None:
        self.errors += 1
        said = "\n".join([str(exc), *getattr(exc, "__notes__", ())])
        if "pooler" not in said:
            self.unexplained += 1
        text = f"{type(exc).__name__}: {said}".replace("\n", " / ")[:300]
        if len(self.messages) < 5 and text not in self.messages:
            self.messages.append(text)


# -- the worker, in a process of its own ----------------------------------

_start: Any = None  # the spawn context's Barrier, set by _share


def _share(barrier: Any) -> None:
    global _start  # noqa: PLW0603  (one per worker process, set once)
    _start = barrier


def _hammer(url: str, sql_dir: str, settings: dict[str, Any], side: str) -> Tally:
    """Call this side's queries through PgBouncer for SECONDS; count what came."""
    read_name, write_name, status, first = SIDES[side]
    tally = Tally(side=side)
    try:
        db = Database(
            url, queries=load_queries(Path(sql_dir)), settings=Settings(**settings)
        ).open()
    except BaseException:
        _start.abort()  # the other process stops waiting
        raise
    backends: set[int] = set()
    with db:
        read, write = getattr(db.pooled, read_name), getattr(db.pooled, write_name)
        _start.wait(timeout=60)
        deadline = time.monotonic() + SECONDS
        i = 0
        while time.monotonic() < deadline:
            i += 1
            item = first + 1 + i % ITEMS
            try:
                tally.calls += 1
                row = read(n=i)
                tally.wrong += (row.tag, row.n) != (side, i)
                tally.calls += 1
                done = write(id=item)
                tally.wrong += (done.id, done.status) != (item, status)
                tally.writes += 1
                if i % 2:
                    with db.transaction() as tx:
                        tally.calls += 2
                        row = getattr(tx.pooled, read_name)(n=-i)
                        done = getattr(tx.pooled, write_name)(id=item)
                    tally.wrong += (row.tag, row.n) != (side, -i)
                    tally.wrong += (done.id, done.status) != (item, status)
                    tally.writes += 1
                if i % 16 == 0:
                    tally.calls += 1
                    backends.add(db.pooled.backend_pid())
            except Exception as exc:  # noqa: BLE001  (counted, then reported)
                tally.error(exc)
    tally.backends = sorted(backends)
    return tally


# -- the tests ---------------------------------------------------------------


@pytest.fixture
def pooled_sql(sql_dir: SqlDir) -> Path:
    sql_dir.write("pooled.sql", QUERIES)
    return sql_dir.path


@pytest.fixture
def bounced_url(pgbouncer: PgBouncer, database_url: str) -> str:
    """This test's database, through PgBouncer."""
    return pgbouncer.url(database_url)


@pytest.fixture
def items(pg: psycopg.Connection) -> psycopg.Connection:
    """A table of items, A's then B's, every one pending."""
    pg.execute(
        "CREATE TABLE pooled_items (id int PRIMARY KEY, side text NOT NULL,"
        " status text NOT NULL DEFAULT 'pending', hits int NOT NULL DEFAULT 0)"
    )
    pg.execute(
        "INSERT INTO pooled_items (id, side)"
        " SELECT n, CASE WHEN n <= %s THEN 'A' ELSE 'B' END"
        " FROM generate_series(1, %s) AS n",
        [ITEMS, 2 * ITEMS],
    )
    return pg


def run_two_processes(
    url: str, sql_dir: Path, settings: dict[str, Any]
) -> dict[str, Tally]:
    """Run A and B at once, each in a spawned process; their tallies by side."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    with ProcessPoolExecutor(
        2, mp_context=context, initializer=_share, initargs=(barrier,)
    ) as pool:
        futures = {
            side: pool.submit(_hammer, url, str(sql_dir), settings, side)
            for side in SIDES
        }
        return {side: future.result(timeout=120) for side, future in futures.items()}


def misplaced_writes(pg: psycopg.Connection, tallies: dict[str, Tally]) -> int:
    """Items in the other side's state, plus hits no committed call of theirs made."""
    wrong = 0
    for side, (_, _, status, _) in SIDES.items():
        row = pg.execute(
            "SELECT count(*) FILTER (WHERE status NOT IN ('pending', %s)),"
            " coalesce(sum(hits), 0)"
            " FROM pooled_items WHERE side = %s",
            [status, side],
        ).fetchone()
        assert row is not None
        wrong += row[0] + abs(row[1] - tallies[side].writes)
    return wrong


def summary(mode: str, tallies: dict[str, Tally], misplaced: int) -> str:
    a, b = tallies["A"], tallies["B"]
    shared = sorted(set(a.backends) & set(b.backends))
    return (
        f"{mode}: {a.calls + b.calls} calls, {a.wrong + b.wrong} wrong rows, "
        f"{misplaced} misplaced writes, {a.errors + b.errors} errors "
        f"(A {a.calls}/{a.wrong}/{a.errors}, B {b.calls}/{b.wrong}/{b.errors}; "
        f"backends shared: {len(shared)}); "
        f"errors: {sorted(set(a.messages + b.messages))}"
    )


@pytest.mark.parametrize("mode", list(MODES))
def test_two_processes_behind_pgbouncer_only_ever_get_their_own_results(
    bounced_url: str,
    pooled_sql: Path,
    items: psycopg.Connection,
    pgbouncer_figures: Callable[[str], None],
    mode: str,
) -> None:
    settings = MODES[mode]
    tallies = run_two_processes(bounced_url, pooled_sql, {**POOL, **settings})
    misplaced = misplaced_writes(items, tallies)
    pgbouncer_figures(summary(mode, tallies, misplaced))
    a, b = tallies["A"], tallies["B"]
    assert min(a.calls, b.calls) > 100  # both really ran, at the same time
    assert set(a.backends) & set(b.backends)  # and took turns on one backend
    assert (a.wrong, b.wrong, misplaced) == (0, 0, 0)
    if settings is TRANSACTION:
        assert (a.errors, b.errors) == (0, 0), a.messages + b.messages
    else:
        assert (a.unexplained, b.unexplained) == (0, 0), a.messages + b.messages


def probe_backends(url: str, count: int) -> list[tuple[tuple[str, ...], int]]:
    """The session settings of *count* backends, probed at the same time.

    Each probe stays in its transaction until all have run, so with *count*
    the pool size, PgBouncer must lend every server connection it has.
    """
    with contextlib.ExitStack() as stack:
        probes = []
        for _ in range(count):
            conn = stack.enter_context(psycopg.connect(url))  # in a transaction
            row = conn.execute(SESSION_PROBE).fetchone()
            assert row is not None
            *settings, pid = row
            probes.append((tuple(settings), pid))
        return probes


def count_leaks(
    pgbouncer: PgBouncer, database_url: str, queries: Path, settings: dict[str, Any]
) -> tuple[int, int]:
    """Probe every backend behind PgBouncer after yeko's calls, ten times.

    Returns how many probes saw a setting other than a fresh session has, and
    how many probes ran.
    """
    ((plain, _),) = probe_backends(database_url, 1)  # a direct, fresh session
    leaks = probes = 0
    url = pgbouncer.url(database_url)
    with Database(
        url, queries=load_queries(queries), settings=Settings(**POOL, **settings)
    ) as db:
        for i in range(10):
            try:
                db.pooled.read_a(n=i)
                with db.transaction() as tx:
                    tx.pooled.read_b(n=i)
            except psycopg.Error as exc:
                # Default settings behind a transaction pooler may fail, and
                # then say which setting fixes it; never silently.
                notes = "\n".join(getattr(exc, "__notes__", []))
                if settings is not DEFAULT or "pooler" not in notes:
                    raise
            seen = probe_backends(url, pgbouncer.pool_size)
            assert len({pid for _, pid in seen}) == pgbouncer.pool_size
            probes += len(seen)
            leaks += sum(found != plain for found, _ in seen)
    return leaks, probes


def test_session_settings_never_reach_other_clients_of_pgbouncer(
    pgbouncer: PgBouncer,
    database_url: str,
    pooled_sql: Path,
    pgbouncer_figures: Callable[[str], None],
) -> None:
    leaks, probes = count_leaks(pgbouncer, database_url, pooled_sql, TRANSACTION)
    before, _ = count_leaks(pgbouncer, database_url, pooled_sql, DEFAULT)
    pgbouncer_figures(
        "plain clients that saw yeko's session settings (application_name, "
        f"timeouts): pooler=transaction {leaks} of {probes}; "
        f"default settings {before} of {probes}"
    )
    assert leaks == 0


def test_for_school_scopes_rows_to_one_school_through_pgbouncer(
    pgbouncer: PgBouncer,
    database_url: str,
    pooled_sql: Path,
    world: World,
) -> None:
    app_url = pgbouncer.url(
        psycopg.conninfo.make_conninfo(database_url, user="yeko_app")
    )
    schools = [school.school_id for school in world.schools]
    with Database(
        app_url,
        queries=load_queries(pooled_sql),
        settings=Settings(**POOL, **TRANSACTION),
    ) as db:
        for i in range(20):
            school = schools[i % 2]
            with db.for_school(school) as tx:
                assert tx.pooled.list_student_school_ids() == [school]
            assert db.pooled.list_student_school_ids() == []
            with psycopg.connect(app_url, autocommit=True) as plain:
                row = plain.execute(
                    "SELECT current_setting('yeko.school_id', true),"
                    " (SELECT count(*) FROM students)"
                ).fetchone()
            assert row is not None
            assert (row[0] or "", row[1]) == ("", 0)


def test_asyncio_tasks_behind_pgbouncer_only_ever_get_their_own_results(
    pgbouncer: PgBouncer,
    database_url: str,
    pooled_sql: Path,
    world: World,
    pgbouncer_figures: Callable[[str], None],
) -> None:
    """AsyncDatabase twins the sync path: two pools (two clients), mixed calls."""
    url = pgbouncer.url(psycopg.conninfo.make_conninfo(database_url, user="yeko_app"))
    queries = load_queries(pooled_sql)
    school = world.first.school_id

    async def client(tag: str, stop: float) -> tuple[int, int]:
        calls = wrong = 0
        settings = Settings(**POOL, **TRANSACTION)
        async with AsyncDatabase(url, queries=queries, settings=settings) as adb:
            read = adb.pooled.read_a if tag == "A" else adb.pooled.read_b
            while time.monotonic() < stop:
                n = calls
                row = await read(n=n)
                async with adb.for_school(school) as tx:
                    scoped = await tx.pooled.list_student_school_ids()
                calls += 1
                wrong += (row.tag, row.n) != (tag, n) or scoped != [school]
        return calls, wrong

    async def main() -> list[tuple[int, int]]:
        stop = time.monotonic() + 2.0
        return list(await asyncio.gather(client("A", stop), client("B", stop)))

    results = asyncio.run(main())
    pgbouncer_figures(
        "asyncio, pooler=transaction: "
        + ", ".join(f"{calls} calls, {wrong} wrong" for calls, wrong in results)
    )
    assert all(calls > 50 for calls, _ in results)
    assert [wrong for _, wrong in results] == [0, 0]
