import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import msgspec
import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.errors import NoRowError, ParameterError, RowDecodeError
from yeko_sql.query.loader import load_queries
from yeko_sql.runtime.database import Database
from yeko_sql.runtime.pagination import KeysetPage, Page

OpenDb = Callable[..., Database]

THINGS = """
-- name: list_numbers :many
-- The numbers from 1 to n.
SELECT g AS n, 'number ' || g AS label
FROM generate_series(1, :n) AS g
ORDER BY g;

-- name: get_number :one
SELECT g AS n, 'number ' || g AS label
FROM generate_series(1, 10) AS g
WHERE g = :n;

-- name: find_number :opt
SELECT g AS n, 'number ' || g AS label
FROM generate_series(1, 10) AS g
WHERE g = :n;

-- name: count_numbers :scalar
SELECT count(*) FROM generate_series(1, :n);

-- name: list_number_page :page
SELECT g AS n, 'number ' || g AS label, count(*) OVER () AS total_count
FROM generate_series(1, :upto) AS g
ORDER BY g
LIMIT :limit OFFSET :offset;

-- name: list_numbers_after :keyset
SELECT g AS n, 'number ' || g AS label
FROM generate_series(1, 100) AS g
WHERE g > :after
ORDER BY g
LIMIT :limit;

-- name: stream_numbers :stream
SELECT g AS n, 'number ' || g AS label
FROM generate_series(1, :n) AS g;

-- name: echo_values :one
SELECT :ids::int[] AS ids, :maybe::text AS maybe, :n::int = ANY(:ids) AS has_n;

-- name: divide :scalar
SELECT 1 /
       :zero::int;
"""


class Number(msgspec.Struct, frozen=True, kw_only=True):
    label: str
    n: int


class Echo(msgspec.Struct, frozen=True):
    ids: list[int]
    maybe: str | None
    has_n: bool


@pytest.fixture
def db(sql_dir: SqlDir, open_db: OpenDb) -> Database:
    sql_dir.write("things.sql", THINGS)
    return open_db(load_queries(sql_dir.path))


def test_one_returns_a_row_and_raises_no_row_error_when_there_is_none(
    db: Database,
) -> None:
    row = db.things.get_number(n=3)
    assert (row.n, row.label) == (3, "number 3")
    with pytest.raises(NoRowError, match=r"things\.get_number"):
        db.things.get_number(n=99)


def test_opt_returns_none_when_no_row_matches(db: Database) -> None:
    assert db.things.find_number(n=99) is None
    assert db.things.find_number(n=2).n == 2


def test_many_returns_a_list_and_scalar_the_first_value(db: Database) -> None:
    assert [r.n for r in db.things.list_numbers(n=4)] == [1, 2, 3, 4]
    assert db.things.list_numbers(n=0) == []
    assert db.things.count_numbers(n=7) == 7


def test_exec_returns_none_and_execrows_the_rows_affected(
    sql_dir: SqlDir, open_db: OpenDb, pg: psycopg.Connection
) -> None:
    pg.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
    sql_dir.write(
        "notes.sql",
        """
        -- name: insert_note :exec
        INSERT INTO notes (id, body) VALUES (:id, :body);

        -- name: update_notes_body :execrows
        UPDATE notes SET body = :body WHERE id = ANY(:ids);
        """,
    )
    db = open_db(load_queries(sql_dir.path))
    assert db.notes.insert_note(id=1, body="a") is None
    db.notes.insert_note(id=2, body="b")
    assert db.notes.update_notes_body(body="z", ids=[1, 2, 3]) == 2


def test_page_reports_items_and_the_window_total(db: Database) -> None:
    page = db.things.list_number_page(upto=25, page=3, page_size=10)
    assert isinstance(page, Page)
    assert [r.n for r in page.items] == [21, 22, 23, 24, 25]
    assert (page.total, page.page, page.page_size, page.pages) == (25, 3, 10, 3)
    assert not page.has_next


def test_an_offset_past_the_end_still_reports_the_total(db: Database) -> None:
    page = db.things.list_number_page(upto=25, page=9, page_size=10)
    assert page.items == []
    assert page.total == 25


def test_page_takes_page_and_page_size_not_limit_and_offset(db: Database) -> None:
    with pytest.raises(ParameterError, match="pass page and page_size"):
        db.things.list_number_page(upto=5, limit=1, offset=0)
    with pytest.raises(ParameterError, match="page must be within"):
        db.things.list_number_page(upto=5, page=0, page_size=10)


def test_keyset_says_whether_more_rows_follow(db: Database) -> None:
    first = db.things.list_numbers_after(after=0, limit=40)
    assert isinstance(first, KeysetPage)
    assert [r.n for r in first.items] == list(range(1, 41))
    assert first.has_more
    assert first.last is not None
    last = db.things.list_numbers_after(after=80, limit=40)
    assert [r.n for r in last.items] == list(range(81, 101))
    assert not last.has_more


def test_stream_yields_every_row_without_a_list(db: Database) -> None:
    rows = db.things.stream_numbers(n=2500)
    assert not isinstance(rows, list)
    assert sum(r.n for r in rows) == 2500 * 2501 // 2


def test_a_missing_or_unexpected_keyword_fails_before_anything_is_sent(
    db: Database,
) -> None:
    with pytest.raises(ParameterError) as caught:
        db.things.divide()
    assert str(caught.value) == "things.divide: missing parameter 'zero'; it takes zero"
    with pytest.raises(ParameterError, match="unexpected parameter 'x'"):
        db.things.get_number(n=1, x=2)
    with pytest.raises(TypeError):
        db.things.get_number(1)


def test_lists_bind_as_arrays_and_none_as_null(db: Database) -> None:
    row = db.things.echo_values(ids=[1, 2, 3], maybe=None, n=2)
    assert (row.ids, row.maybe, row.has_n) == ([1, 2, 3], None, True)


def test_queries_without_returns_get_a_struct_derived_from_the_columns(
    db: Database,
) -> None:
    row = db.things.get_number(n=1)
    assert isinstance(row, msgspec.Struct)
    assert type(row).__name__ == "GetNumberRow"
    assert msgspec.structs.asdict(row) == {"n": 1, "label": "number 1"}
    assert type(db.things.get_number(n=2)) is type(row)  # derived once per shape


def test_returns_struct_is_built_by_field_name_whatever_the_order(
    sql_dir: SqlDir, open_db: OpenDb
) -> None:
    sql_dir.write(
        "things.sql",
        """
        -- name: get_number :one
        -- returns: tests.test_database.Number
        SELECT g AS n, 'number ' || g AS label
        FROM generate_series(1, 3) AS g
        WHERE g = :n;
        """,
    )
    db = open_db(load_queries(sql_dir.path))
    assert db.things.get_number(n=2) == Number(label="number 2", n=2)


def test_a_column_that_does_not_fit_its_field_names_query_column_and_field(
    sql_dir: SqlDir, open_db: OpenDb
) -> None:
    sql_dir.write(
        "things.sql",
        """
        -- name: get_wrong_type :one
        -- returns: tests.test_database.Number
        SELECT 'x' AS n, 'label' AS label;

        -- name: get_extra_column :one
        -- returns: tests.test_database.Number
        SELECT 1 AS n, 'label' AS label, 2 AS surprise;

        -- name: get_missing_column :one
        -- returns: tests.test_database.Number
        SELECT 1 AS n;

        -- name: get_null_label :one
        -- returns: tests.test_database.Number
        SELECT 1 AS n, NULL::text AS label;
        """,
    )
    db = open_db(load_queries(sql_dir.path))
    with pytest.raises(RowDecodeError) as caught:
        db.things.get_wrong_type()
    assert (caught.value.query, caught.value.column, caught.value.field) == (
        "things.get_wrong_type",
        "n",
        "n",
    )
    assert "column 'n' (text) does not fit Number.n (int)" in str(caught.value)
    with pytest.raises(
        RowDecodeError, match="column 'surprise' has no field in Number"
    ):
        db.things.get_extra_column()
    with pytest.raises(RowDecodeError, match=r"Number\.label has no column"):
        db.things.get_missing_column()
    with pytest.raises(RowDecodeError) as null:
        db.things.get_null_label()  # checked on the default row path too
    assert (null.value.column, null.value.field) == ("label", "label")


def test_postgres_errors_are_not_wrapped_but_noted_with_the_file_line(
    db: Database, sql_dir: SqlDir
) -> None:
    with pytest.raises(psycopg.errors.DivisionByZero) as caught:
        db.things.divide(zero=0)
    path = sql_dir.path / "things.sql"
    lines = path.read_text().splitlines()
    header = lines.index("-- name: divide :scalar") + 1
    assert caught.value.__notes__ == [
        f"while running yeko:things.divide ({path}:{header})"
    ]


def test_a_server_position_points_at_the_line_inside_the_file(
    sql_dir: SqlDir, open_db: OpenDb
) -> None:
    path = sql_dir.write(
        "broken.sql",
        """
        -- name: get_broken :one
        SELECT 1 AS a,
               no_such_column AS b;
        """,
    )
    db = open_db(load_queries(sql_dir.path))
    with pytest.raises(psycopg.errors.UndefinedColumn) as caught:
        db.broken.get_broken()
    assert caught.value.__notes__ == [
        f"while running yeko:broken.get_broken ({path}:3)"
    ]


def test_every_statement_carries_its_name_to_pg_stat_statements(
    db: Database, pg: psycopg.Connection
) -> None:
    pg.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    db.things.count_numbers(n=3)
    found = pg.execute(
        "SELECT query FROM pg_stat_statements"
        " WHERE query LIKE '/* yeko:things.count_numbers */%'"
    ).fetchall()
    assert found


def test_pooled_connections_autocommit_with_the_configured_session(
    sql_dir: SqlDir, open_db: OpenDb
) -> None:
    sql_dir.write(
        "session.sql",
        """
        -- name: get_session :one
        SELECT current_setting('statement_timeout') AS statement_timeout,
               current_setting('lock_timeout') AS lock_timeout,
               current_setting('idle_in_transaction_session_timeout') AS idle,
               current_setting('application_name') AS application_name;
        """,
    )
    db = open_db(
        load_queries(sql_dir.path),
        statement_timeout_ms=1234,
        lock_timeout_ms=55,
        idle_in_transaction_session_timeout_ms=7000,
        application_name="yeko-test",
    )
    row = db.session.get_session()
    assert (row.statement_timeout, row.lock_timeout, row.idle) == (
        "1234ms",
        "55ms",
        "7s",
    )
    assert row.application_name == "yeko-test"
    with db.pool.connection() as conn:
        assert conn.autocommit  # no BEGIN/COMMIT round trips around a call


def test_transaction_commits_at_the_end_and_rolls_back_on_exception(
    sql_dir: SqlDir, open_db: OpenDb, pg: psycopg.Connection
) -> None:
    pg.execute("CREATE TABLE ledger (id int PRIMARY KEY)")
    sql_dir.write(
        "ledger.sql",
        """
        -- name: insert_entry :exec
        INSERT INTO ledger (id) VALUES (:id);

        -- name: count_entries :scalar
        SELECT count(*) FROM ledger;
        """,
    )
    db = open_db(load_queries(sql_dir.path))
    with db.transaction() as tx:
        tx.ledger.insert_entry(id=1)
        tx.ledger.insert_entry(id=2)
    assert db.ledger.count_entries() == 2
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.ledger.insert_entry(id=3)
        raise RuntimeError
    assert db.ledger.count_entries() == 2
    with db.transaction() as tx:
        tx.ledger.insert_entry(id=4)
        with pytest.raises(psycopg.errors.UniqueViolation), tx.transaction() as inner:
            inner.ledger.insert_entry(id=5)
            inner.ledger.insert_entry(id=1)  # fails: only the savepoint rolls back
        tx.ledger.insert_entry(id=6)
    assert db.ledger.count_entries() == 4  # 1, 2, 4, 6


def test_a_slow_transaction_is_logged_with_the_queries_it_ran(
    sql_dir: SqlDir, open_db: OpenDb, caplog: pytest.LogCaptureFixture
) -> None:
    sql_dir.write("things.sql", THINGS)
    db = open_db(load_queries(sql_dir.path), slow_transaction_ms=0)
    with caplog.at_level(logging.WARNING, logger="yeko_sql"), db.transaction() as tx:
        tx.things.count_numbers(n=1)
        tx.things.get_number(n=1)
    assert "slow transaction" in caplog.text
    assert "things.count_numbers, things.get_number" in caplog.text


def test_an_unknown_namespace_or_query_lists_what_exists(db: Database) -> None:
    with pytest.raises(
        AttributeError, match="no query file 'thing'; namespaces: things"
    ):
        _ = db.thing
    with pytest.raises(AttributeError, match="no query named 'get_numbr'"):
        _ = db.things.get_numbr


def test_a_killed_backend_costs_no_failed_call(
    db: Database, pg: psycopg.Connection
) -> None:
    assert db.things.count_numbers(n=1) == 1
    ours = (
        "FROM pg_stat_activity"
        " WHERE application_name = 'yeko-sql' AND datname = current_database()"
    )
    pg.execute(f"SELECT pg_terminate_backend(pid) {ours}")
    for _ in range(100):  # termination is asynchronous: wait until it happened
        row = pg.execute(f"SELECT count(*) {ours}").fetchone()
        if row is not None and row[0] == 0:
            break
        time.sleep(0.02)
    time.sleep(0.05)
    assert db.things.count_numbers(n=2) == 2


class Kitchen(msgspec.Struct, frozen=True, kw_only=True):
    class Settings(msgspec.Struct, frozen=True):
        theme: str
        size: int

    id: str
    title: str
    small: int
    big: int
    money: Decimal
    flag: bool
    at: datetime
    day: date
    doc: dict[str, Any]
    settings: Settings
    tags: list[str]
    scores: list[int]
    status: Literal["pending", "confirmed"]
    note: str | None


def test_every_schema_type_round_trips(
    sql_dir: SqlDir, open_db: OpenDb, pg: psycopg.Connection
) -> None:
    pg.execute(
        """
        CREATE TABLE kitchen (
            id text PRIMARY KEY, title text NOT NULL, small int NOT NULL,
            big bigint NOT NULL, money numeric(14, 2) NOT NULL, flag boolean NOT NULL,
            at timestamptz NOT NULL, day date NOT NULL, doc jsonb NOT NULL,
            settings jsonb NOT NULL, tags text[] NOT NULL, scores int[] NOT NULL,
            status text NOT NULL CHECK (status IN ('pending', 'confirmed')), note text
        )
        """
    )
    sql_dir.write(
        "kitchen.sql",
        """
        -- name: create_kitchen :one
        -- returns: tests.test_database.Kitchen
        INSERT INTO kitchen (id, title, small, big, money, flag, at, day, doc,
                             settings, tags, scores, status, note)
        VALUES (:id, :title, :small, :big, :money, :flag, :at, :day, :doc,
                :settings, :tags, :scores, :status, :note)
        RETURNING id, title, small, big, money, flag, at, day, doc, settings,
                  tags, scores, status, note;
        """,
    )
    db = open_db(load_queries(sql_dir.path))
    values = Kitchen(
        id="k" * 21,
        title="Lycée Sainte-Thérèse 🎓 'quoted' %s :name",
        small=-7,
        big=2**40,
        money=Decimal("125000.50"),
        flag=True,
        at=datetime(2026, 9, 1, 7, 30, tzinfo=UTC),
        day=date(2026, 9, 1),
        doc={"a": [1, 2], "b": None},
        settings=Kitchen.Settings(theme="dark", size=3),
        tags=["a", "b"],
        scores=[1, 2, 3],
        status="confirmed",
        note=None,
    )
    row = db.kitchen.create_kitchen(**msgspec.structs.asdict(values))
    assert row == values
    assert row.at.tzinfo is not None
    assert isinstance(row.settings, Kitchen.Settings)
