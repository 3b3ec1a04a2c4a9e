"""The runtime keeps its word: one regression test per defect of issue 12.

Each test here failed on the code before the fix it names: statement names
that meant other SQL in other processes, connections lost to cancellation and
interrupts, streams that outlived their transaction, migrations that broke
warm statements, a ``-- timeout:`` that did nothing, nested scopes that were
independent transactions, timeouts reported for commits, session state that
leaked, and paging values that reached the server.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.fix_domain import World
from tests.fix_sqlfiles import SqlDir
from yeko_sql.errors import (
    ParameterError,
    RowSecurityError,
    ScopeError,
    TransactionClosedError,
)
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.runtime import _libpq as statements
from yeko_sql.runtime.database import Database, _select_readable, socket_is_healthy
from yeko_sql.runtime.database_async import AsyncDatabase
from yeko_sql.runtime.retry import retry
from yeko_sql.settings import Settings

QUERIES = """
-- name: double :scalar
SELECT 2 * :n::int;

-- name: echo :scalar
SELECT :text::text;

-- name: backend :scalar
SELECT pg_backend_pid();

-- name: school_setting :scalar
SELECT current_setting('yeko.school_id', true);

-- name: show_statement_timeout :scalar
SELECT current_setting('statement_timeout');

-- name: show_role :scalar
SELECT current_user::text;

-- name: count_moods :scalar
SELECT count(*) FROM moods WHERE mood = :mood;

-- name: sleep :scalar
-- timeout: 100ms
SELECT pg_sleep(:seconds::float8)::text;

-- name: quick :scalar
-- timeout: 5s
SELECT current_setting('statement_timeout');

-- name: count_students :scalar
SELECT count(*) FROM students WHERE school_id = :school_id;

-- name: stream_students :stream
SELECT id FROM students WHERE school_id = :school_id ORDER BY id;

-- name: add_note :exec
INSERT INTO notes (id) VALUES (:id);

-- name: count_notes :scalar
SELECT count(*) FROM notes WHERE id = ANY(:ids);

-- name: list_page :page
SELECT g AS n, count(*) OVER () AS total_count
FROM generate_series(1, 10) AS g
ORDER BY g
LIMIT :limit OFFSET :offset;

-- name: list_after :keyset
SELECT g AS n FROM generate_series(1, 10) AS g WHERE g > :after ORDER BY g LIMIT :limit;
"""


@pytest.fixture
def queries(sql_dir: SqlDir, pg: psycopg.Connection) -> Registry:
    pg.execute("CREATE TYPE mood AS ENUM ('happy', 'sad')")
    pg.execute("CREATE TABLE moods (id int PRIMARY KEY, mood text NOT NULL)")
    pg.execute("INSERT INTO moods VALUES (1, 'happy'), (2, 'sad'), (3, 'happy')")
    pg.execute("CREATE TABLE notes (id text PRIMARY KEY)")
    pg.execute("GRANT SELECT, INSERT ON moods, notes TO yeko_app")
    sql_dir.write("t.sql", QUERIES)
    return load_queries(sql_dir.path)


@pytest.fixture
def app_url(database_url: str) -> str:
    return psycopg.conninfo.make_conninfo(database_url, user="yeko_app")


@pytest.fixture
def make_db(queries: Registry) -> Iterator[Any]:
    opened: list[Database] = []

    def make(url: str, **settings: Any) -> Database:
        settings.setdefault("min_size", 1)
        db = Database(url, queries=queries, settings=Settings(**settings))
        opened.append(db.open())
        return db

    yield make
    for db in opened:
        db.close()


def _available(pool: Any) -> tuple[int, int]:
    stats = pool.get_stats()
    return stats["pool_size"], stats["pool_available"]


# -- 1. statement names ------------------------------------------------------


def test_a_statement_name_is_a_hash_of_its_sql_so_every_process_agrees(
    make_db: Any, database_url: str, pg: psycopg.Connection
) -> None:
    names = []
    for _ in range(2):  # two pools: two clients, as two processes would be
        db = make_db(database_url, max_size=1)
        assert db.t.double(n=2) == 4
        assert db.t.echo(text="x") == "x"
        with db.pool.connection() as conn:
            rows = conn.execute(
                "SELECT name FROM pg_prepared_statements WHERE name LIKE 'yeko%'"
            ).fetchall()
        names.append({name for (name,) in rows})
    assert names[0] == names[1]
    assert len(names[0]) == 2
    assert all(re.fullmatch(r"yeko_[0-9a-f]{32}", name) for name in names[0])


def test_a_name_another_client_prepared_on_the_connection_is_success(
    make_db: Any, database_url: str
) -> None:
    db = make_db(database_url, max_size=1)
    assert db.t.double(n=1) == 2
    with db.pool.connection() as conn:
        # This client forgets; the server connection keeps the statement, as a
        # pooler's server connection does when another client prepared it.
        statements.prepare_on(conn, threshold=0, limit=512)
    assert db.t.double(n=3) == 6


def test_a_migration_changing_a_parameters_type_re_prepares_warm_statements(
    make_db: Any, database_url: str, pg: psycopg.Connection
) -> None:
    db = make_db(database_url, max_size=1)
    assert db.t.count_moods(mood="happy") == 2
    pg.execute("ALTER TABLE moods ALTER mood TYPE mood USING mood::mood")
    # Before: "operator does not exist: mood = text" until max_lifetime.
    assert db.t.count_moods(mood="happy") == 2
    with db.transaction() as tx:  # later transactions work too
        assert tx.t.count_moods(mood="sad") == 1


# -- 2 and 11. cancellation and interrupts never drain the pool --------------


def test_a_storm_of_tiny_asyncio_deadlines_leaves_every_connection_in_the_pool(
    database_url: str, queries: Registry
) -> None:
    async def main() -> tuple[int, int, list[int]]:
        settings = Settings(min_size=4, max_size=4, timeout=5.0)
        async with AsyncDatabase(
            database_url, queries=queries, settings=settings
        ) as adb:
            stop = time.monotonic() + 5.0

            async def storm(seed: int) -> None:
                rng = random.Random(seed)  # noqa: S311  (test deadlines)
                while time.monotonic() < stop:
                    deadline = rng.uniform(0.00001, 0.003)
                    work = rng.choice(("call", "transaction", "stream"))
                    try:
                        async with asyncio.timeout(deadline):
                            if work == "call":
                                await adb.t.double(n=1)
                            elif work == "transaction":
                                async with adb.transaction() as tx:
                                    await tx.t.double(n=2)
                                    async with adb.transaction() as inner:
                                        await inner.t.double(n=3)
                            else:
                                async for _ in adb.t.stream_students(school_id="x"):
                                    pass
                    except TimeoutError:
                        pass

            await asyncio.gather(*(storm(seed) for seed in range(16)))
            await asyncio.sleep(0.2)  # returns finishing in the background
            answers = await asyncio.gather(*(adb.t.double(n=n) for n in range(8)))
            await asyncio.sleep(0.1)
            size, available = _available(adb.pool)
            return size, available, answers

    size, available, answers = asyncio.run(main())
    assert answers == [2 * n for n in range(8)]
    assert (size, available) == (4, 4)


class _InterruptAt(logging.Filter):
    """Raises KeyboardInterrupt where psycopg_pool logs *message*.

    psycopg_pool logs "connection given by" after its own check, just before
    getconn returns, and "returning connection to" at the start of putconn:
    an interrupt at either point (a signal handler runs at any bytecode
    boundary) used to lose the connection for good.
    """

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message
        self.fired = 0

    def filter(self, record: logging.LogRecord) -> bool:
        # Signal handlers run in the main thread only.
        main = threading.current_thread() is threading.main_thread()
        if main and record.msg.startswith(self.message):
            self.fired += 1
            raise KeyboardInterrupt
        return True


@pytest.mark.parametrize(
    "message", ["connection given by", "returning connection to"]
)
def test_keyboard_interrupts_in_checkout_or_return_leave_every_connection(
    make_db: Any, database_url: str, message: str
) -> None:
    db = make_db(database_url, min_size=4, max_size=4, timeout=2.0)
    pool_logger = logging.getLogger("psycopg.pool")
    interrupt = _InterruptAt(message)
    level = pool_logger.level
    pool_logger.setLevel(logging.INFO)
    pool_logger.addFilter(interrupt)
    try:
        for _ in range(100):
            with pytest.raises(KeyboardInterrupt):
                db.t.double(n=1)
            with pytest.raises(KeyboardInterrupt), db.transaction() as tx:
                tx.t.double(n=2)
    finally:
        pool_logger.removeFilter(interrupt)
        pool_logger.setLevel(level)
    assert interrupt.fired >= 200
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda n=n: answers.append(db.t.double(n=n)))
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [2 * n for n in range(8)]
    time.sleep(0.2)
    assert _available(db.pool) == (4, 4)


# -- 3. streams end with their transaction ------------------------------------


def test_a_stream_read_after_its_school_scope_raises(
    make_db: Any, app_url: str, world: World
) -> None:
    db = make_db(app_url, max_size=2)
    school = world.first.school_id
    with db.for_school(school) as tx:
        inside = tx.t.stream_students(school_id=school)
        first = next(inside)
        later = tx.t.stream_students(school_id=school)
    assert first is not None
    with pytest.raises(TransactionClosedError):
        next(inside)
    with pytest.raises(TransactionClosedError):
        next(later)
    assert _available(db.pool)[1] == _available(db.pool)[0]


def test_an_async_stream_read_after_its_transaction_raises(
    database_url: str, queries: Registry, world: World
) -> None:
    async def main() -> None:
        async with AsyncDatabase(
            database_url, queries=queries, settings=Settings(min_size=1)
        ) as adb:
            async with adb.transaction() as tx:
                rows = tx.t.stream_students(school_id=world.first.school_id)
            with pytest.raises(TransactionClosedError):
                await anext(rows)

    asyncio.run(main())


# -- 4 is above; 5. -- timeout: applies ---------------------------------------


def test_a_query_timeout_header_cancels_the_statement(
    make_db: Any, database_url: str
) -> None:
    db = make_db(database_url, max_size=1)
    started = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        db.t.sleep(seconds=2)
    assert time.monotonic() - started < 1.0
    assert db.t.show_statement_timeout() == "30s"  # the session's, untouched
    with db.transaction() as tx:
        assert tx.t.quick() == "5s"
        assert tx.t.show_statement_timeout() == "30s"  # put back after it
    with pytest.raises(psycopg.errors.QueryCanceled), db.transaction() as tx:
        tx.t.sleep(seconds=2)


# -- 7. nested scopes join the outer transaction ------------------------------


def test_for_school_inside_a_transaction_is_a_savepoint_of_it(
    make_db: Any, app_url: str, world: World
) -> None:
    db = make_db(app_url, max_size=2)
    school, other = world.first.school_id, world.schools[1].school_id
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.t.add_note(id="outer")
        with db.for_school(school) as scoped:
            assert scoped is tx
            assert scoped.t.backend() == tx.t.backend()
            students = len(world.first.student_ids)
            assert scoped.t.count_students(school_id=school) == students
            assert scoped.t.count_students(school_id=other) == 0
            scoped.t.add_note(id="inner")
        assert tx.t.school_setting() == ""  # unscoped again after the block
        raise RuntimeError
    assert db.t.count_notes(ids=["outer", "inner"]) == 0  # all rolled back


def test_nested_scopes_share_one_school_and_refuse_another(
    make_db: Any, app_url: str, world: World
) -> None:
    db = make_db(app_url, max_size=1)  # a second connection would time out
    school, other = world.first.school_id, world.schools[1].school_id
    with db.for_school(school) as tx:
        with db.transaction() as inner:
            students = len(world.first.student_ids)
            assert inner.t.count_students(school_id=school) == students
        with db.for_school(school) as again:
            assert again is tx
        with pytest.raises(ScopeError), db.for_school(other):
            pass


def test_for_school_refuses_a_connection_that_row_level_security_skips(
    make_db: Any, database_url: str, world: World
) -> None:
    db = make_db(database_url)  # the superuser
    with pytest.raises(RowSecurityError, match="does not apply"), db.for_school(
        world.first.school_id
    ):
        pass


# -- 8. a committed transaction is never reported as a timeout ----------------


def test_an_asyncio_deadline_never_reports_a_committed_transaction_as_failed(
    database_url: str, queries: Registry
) -> None:
    async def main() -> tuple[list[str], list[str]]:
        ok: list[str] = []
        timed_out: list[str] = []
        settings = Settings(min_size=4, max_size=4)
        async with AsyncDatabase(
            database_url, queries=queries, settings=settings
        ) as adb:

            async def one(i: int) -> None:
                key = f"n{i}"
                try:
                    deadline = random.uniform(0.0005, 0.004)  # noqa: S311
                    async with asyncio.timeout(deadline):
                        async with adb.transaction() as tx:
                            await tx.t.add_note(id=key)
                    ok.append(key)
                except TimeoutError:
                    timed_out.append(key)

            for start in range(0, 400, 8):
                await asyncio.gather(*(one(i) for i in range(start, start + 8)))
            assert await adb.t.count_notes(ids=ok) == len(ok)
            assert await adb.t.count_notes(ids=timed_out) == 0
        return ok, timed_out

    ok, timed_out = asyncio.run(main())
    assert ok
    assert timed_out


def test_retry_never_reruns_a_transaction_whose_commit_was_never_answered(
    make_db: Any, database_url: str, pg: psycopg.Connection
) -> None:
    db = make_db(database_url, max_size=2)
    runs = []

    def work(tx: Any) -> None:
        runs.append(tx.t.backend())
        tx.t.add_note(id=f"r{len(runs)}")
        # The server goes away just before COMMIT is answered: it may have
        # committed, and retry must not run the work again.
        pg.execute("SELECT pg_terminate_backend(%s)", [runs[-1]])

    with pytest.raises(psycopg.OperationalError) as caught:
        retry(db, work, retry_on=(psycopg.OperationalError,), backoff=0)
    assert len(runs) == 1
    assert "may have committed" in "\n".join(caught.value.__notes__)


# -- 9. session state never leaks ---------------------------------------------


def test_a_raw_statement_cannot_leave_its_school_or_role_on_the_pooled_session(
    make_db: Any, app_url: str
) -> None:
    db = make_db(app_url, max_size=1)
    with db.transaction() as tx:
        tx.execute("SELECT set_config('yeko.school_id', 'B', false)")
        tx.execute("SET statement_timeout = 0")
        tx.execute("CREATE TEMPORARY TABLE scratch (id int)")
    assert db.t.school_setting() in ("", None)
    assert db.t.show_statement_timeout() == "30s"
    with db.transaction() as tx:
        assert tx.execute("SELECT 1 FROM pg_tables WHERE tablename = 'scratch'") == 0


def test_discard_all_on_a_pooled_connection_brings_back_its_settings(
    make_db: Any, database_url: str
) -> None:
    db = make_db(database_url, max_size=1)
    assert db.t.double(n=1) == 2
    with db.pool.connection() as conn:
        conn.execute("DISCARD ALL")  # as a pooler in session mode does
    assert db.t.show_statement_timeout() == "30s"
    assert db.t.double(n=2) == 4


# -- 10. dead peers are noticed -----------------------------------------------


def test_pooled_connections_have_keepalives_and_a_user_timeout(
    make_db: Any, database_url: str
) -> None:
    db = make_db(database_url.replace("host=127.0.0.1", "host=127.0.0.1"))
    with db.pool.connection() as conn:
        options = conn.info.get_parameters()
    assert options.get("keepalives") == "1"
    assert options.get("keepalives_idle") == "30"
    assert options.get("tcp_user_timeout") == "30000"


def test_the_idle_check_works_without_poll(
    make_db: Any, database_url: str, pg: psycopg.Connection
) -> None:
    db = make_db(database_url, max_size=1)
    with db.pool.connection() as conn:
        assert not _select_readable(conn.pgconn.socket)
        pg.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
        time.sleep(0.2)
        assert _select_readable(conn.pgconn.socket)
        with pytest.raises(psycopg.OperationalError):
            socket_is_healthy(conn)


# -- 12. paging values are bounded before anything is sent --------------------


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"page": 10**17, "page_size": 20}, "page must be within"),
        ({"page": 1, "page_size": True}, "integers"),
        ({"page": True, "page_size": 5}, "integers"),
        ({"page": 1, "page_size": 1001}, "page_size must be within"),
    ],
)
def test_hostile_page_values_are_parameter_errors(
    make_db: Any, database_url: str, kwargs: dict[str, object], problem: str
) -> None:
    db = make_db(database_url)
    with pytest.raises(ParameterError, match=problem) as caught:
        db.t.list_page(**kwargs)
    assert caught.value.query == "t.list_page"


@pytest.mark.parametrize("limit", [0, 10**6, True, 2.5])
def test_a_keyset_limit_is_bounded(
    make_db: Any, database_url: str, limit: object
) -> None:
    db = make_db(database_url)
    with pytest.raises(ParameterError, match=r"within 1\.\.1000"):
        db.t.list_after(after=0, limit=limit)
