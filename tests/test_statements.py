"""Named queries run on libpq directly: prepared once, kept, and recovered."""

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from tests.fix_db import OpenDb
from tests.fix_sqlfiles import SqlDir
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.runtime._libpq import _Prepared
from yeko_sql.runtime.database import Database
from yeko_sql.runtime.database_async import AsyncDatabase
from yeko_sql.settings import Settings

QUERIES = r"""
-- name: double :scalar
SELECT 2 * :n::int;

-- name: triple :scalar
SELECT 3 * :n::int;

-- name: quadruple :scalar
SELECT 4 * :n::int;

-- name: list_items :many
SELECT * FROM items ORDER BY id;

-- name: accent :scalar
SELECT 'é' || :suffix::text;

-- name: add_item :many
INSERT INTO items (id) VALUES (:id);

-- name: list_prepared :many
-- The named queries this connection has prepared, but this one.
SELECT substring(statement FROM '/\* yeko:(\S+) \*/') AS query
FROM pg_prepared_statements
WHERE name LIKE 'yeko\_%' AND statement NOT LIKE '%pg_prepared_statements%'
ORDER BY 1;
"""


@pytest.fixture
def queries(sql_dir: SqlDir, pg: psycopg.Connection) -> Registry:
    pg.execute("CREATE TABLE items (id int PRIMARY KEY)")
    pg.execute("INSERT INTO items VALUES (1), (2)")
    sql_dir.write("calc.sql", QUERIES)
    return load_queries(sql_dir.path)


@contextmanager
def _fail_after(seconds: float) -> Iterator[None]:
    def hung(signum: int, frame: object) -> None:
        raise TimeoutError(f"still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _prepared(db: Database) -> list[str]:
    return [row.query for row in db.calc.list_prepared()]


def test_a_named_query_is_prepared_once_and_reused(
    open_db: OpenDb, queries: Registry
) -> None:
    db = open_db(queries, max_size=1)
    assert [db.calc.double(n=n) for n in (1, 2, 3)] == [2, 4, 6]
    assert _prepared(db) == ["calc.double"]


def test_prepare_threshold_none_never_prepares_and_two_waits_two_runs(
    open_db: OpenDb, queries: Registry
) -> None:
    never = open_db(queries, max_size=1, prepare_threshold=None)
    for n in range(5):
        never.calc.double(n=n)
    assert _prepared(never) == []

    later = open_db(queries, max_size=1, prepare_threshold=2)
    later.calc.double(n=1)
    later.calc.double(n=2)
    assert _prepared(later) == []
    later.calc.double(n=3)
    assert _prepared(later) == ["calc.double"]


def test_prepared_max_drops_the_least_recently_used(
    open_db: OpenDb, queries: Registry
) -> None:
    db = open_db(queries, max_size=1, prepared_max=3)
    db.calc.double(n=1)
    db.calc.triple(n=1)
    db.calc.double(n=1)  # triple is now the least recently used
    db.calc.quadruple(n=1)  # list_prepared, run by _prepared, is the third
    assert _prepared(db) == ["calc.double", "calc.quadruple"]
    assert db.calc.triple(n=5) == 15


def test_a_statement_the_server_forgot_is_prepared_again(
    open_db: OpenDb, queries: Registry
) -> None:
    db = open_db(queries, max_size=1)
    assert db.calc.double(n=1) == 2
    with db.pool.connection() as conn:
        conn.execute("DEALLOCATE ALL")
    assert db.calc.double(n=4) == 8
    with db.pool.connection() as conn:
        conn.execute("DISCARD ALL")
    assert db.calc.double(n=5) == 10


def test_a_plan_a_migration_changed_is_replanned_outside_a_transaction(
    open_db: OpenDb, queries: Registry, pg: psycopg.Connection
) -> None:
    db = open_db(queries, max_size=1, strict_rows=False)
    assert [r.id for r in db.calc.list_items()] == [1, 2]
    pg.execute("ALTER TABLE items ADD COLUMN label text DEFAULT 'x'")
    rows = db.calc.list_items()
    assert [(r.id, r.label) for r in rows] == [(1, "x"), (2, "x")]

    pg.execute("ALTER TABLE items DROP COLUMN label")
    with (
        pytest.raises(psycopg.errors.FeatureNotSupported) as caught,
        db.transaction() as tx,
    ):
        tx.calc.list_items()  # the error aborted the transaction: no retry
    assert "while running yeko:calc.list_items" in "".join(caught.value.__notes__)
    with db.transaction() as tx:  # but the next one plans it anew
        assert [r.id for r in tx.calc.list_items()] == [1, 2]


def test_a_statement_forgotten_inside_a_transaction_fails_that_one_only(
    open_db: OpenDb, queries: Registry
) -> None:
    db = open_db(queries, max_size=1)
    db.calc.double(n=1)
    with db.pool.connection() as conn:
        conn.execute("DEALLOCATE ALL")
    with (
        pytest.raises(psycopg.errors.InvalidSqlStatementName),
        db.transaction() as tx,
    ):
        tx.calc.double(n=2)
    with db.transaction() as tx:
        assert tx.calc.double(n=3) == 6


def test_closing_a_statement_the_server_dropped_keeps_the_transaction_going(
    open_db: OpenDb, queries: Registry
) -> None:
    db = open_db(queries, max_size=1, prepared_max=1)
    db.calc.double(n=1)
    with db.pool.connection() as conn:
        conn.execute("DEALLOCATE ALL")
    with db.transaction() as tx:
        assert tx.calc.triple(n=2) == 6  # closes double's statement, already gone
        assert tx.calc.quadruple(n=2) == 8


def test_prepared_max_zero_runs_every_statement_unnamed(
    open_db: OpenDb, queries: Registry
) -> None:
    db = open_db(queries, max_size=1, prepared_max=0)
    assert [db.calc.double(n=n) for n in (1, 2)] == [2, 4]
    assert _prepared(db) == []


def test_the_sql_text_goes_in_the_connection_encoding(
    open_db: OpenDb, queries: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGCLIENTENCODING", "LATIN1")
    db = open_db(queries, max_size=1)
    with db.pool.connection() as conn:
        assert conn.info.encoding == "iso8859-1"
    assert db.calc.accent(suffix="!") == "é!"


def test_a_row_kind_on_a_statement_without_rows_is_refused(
    open_db: OpenDb, queries: Registry
) -> None:
    db = open_db(queries, max_size=1)
    with pytest.raises(psycopg.ProgrammingError, match="use :exec") as caught:
        db.calc.add_item(id=3)
    assert "while running yeko:calc.add_item" in "".join(caught.value.__notes__)


def test_pipeline_mode_is_refused_rather_than_left_waiting(
    open_db: OpenDb, queries: Registry
) -> None:
    db = open_db(queries, max_size=1)
    with (
        pytest.raises(psycopg.NotSupportedError, match="pipeline"),
        _fail_after(seconds=5),  # a result that never comes would hang the suite
        db.transaction() as tx,
        tx.connection.pipeline(),
    ):
        tx.calc.double(n=1)
    assert db.calc.double(n=2) == 4


def test_run_counts_are_kept_for_the_most_recent_statements_only() -> None:
    prepared = _Prepared(threshold=5, limit=10)
    for n in range(2000):
        assert prepared.name_for((str(n).encode(), ())) == (None, False)
    assert len(prepared.seen) == 10


def test_a_rolled_back_transaction_keeps_the_prepared_statements(
    open_db: OpenDb, queries: Registry
) -> None:
    db = open_db(queries, max_size=1)
    db.calc.double(n=1)
    with pytest.raises(psycopg.errors.DivisionByZero), db.transaction() as tx:
        tx.calc.double(n=2)
        tx.execute("SELECT 1 / 0")
    with db.transaction() as tx:
        assert tx.calc.double(n=3) == 6
    assert _prepared(db) == ["calc.double"]


def test_tasks_sharing_a_transaction_take_turns_on_its_connection(
    database_url: str, queries: Registry
) -> None:
    async def main() -> list[Any]:
        settings = Settings(min_size=1, max_size=1)
        async with (
            AsyncDatabase(database_url, queries=queries, settings=settings) as adb,
            adb.transaction() as tx,
        ):
            return await asyncio.gather(*(tx.calc.double(n=n) for n in range(50)))

    assert asyncio.run(main()) == [2 * n for n in range(50)]


def test_the_school_scope_statement_is_prepared_like_a_named_query(
    database_url: str, queries: Registry
) -> None:
    app_url = psycopg.conninfo.make_conninfo(database_url, user="yeko_app")
    with Database(
        app_url, queries=queries, settings=Settings(min_size=1, max_size=1)
    ) as db:
        for school in ("school-a", "school-b"):
            with db.for_school(school) as tx:
                assert tx.calc.double(n=1) == 2
        assert _prepared(db) == ["calc.double", "scope", "scope.tables"]
