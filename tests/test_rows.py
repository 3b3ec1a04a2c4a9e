"""Rows decode into Structs and, with default settings, a row that does not fit raises.

Every database here runs with ``strict_rows=False``: the checks under test are
the ones the default row path makes (NULL into a field that does not take
None, a value outside a ``Literal``), not msgspec's full validation.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import msgspec
import psycopg
import pytest
from psycopg.adapt import Transformer

from tests.fix_sqlfiles import SqlDir
from yeko_sql.errors import RowDecodeError
from yeko_sql.query.loader import load_queries
from yeko_sql.runtime.database import Database
from yeko_sql.runtime.database_async import AsyncDatabase
from yeko_sql.runtime.rows import StructRows
from yeko_sql.settings import Settings

OpenDb = Callable[..., Database]

VisitStatus = Literal["planned", "done", "cancelled"]


class Visit(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    visitor: str
    guests: int
    status: VisitStatus
    closed_at: datetime
    review: VisitStatus | None = None


class Pair(msgspec.Struct, frozen=True):
    a: str
    b: str


class Note(msgspec.Struct, frozen=True):
    text: str
    stars: int


class Noted(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    note: Note


class Either(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    side: Literal["left"] | Literal["right"]


class Mark(msgspec.Struct, frozen=True, kw_only=True):
    """A Literal too long for a chain of ``!=`` (a set), and one of ints."""

    letter: Literal["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
    level: Literal[1, 2, 3] | None


VISITS = """
-- name: get_visit :one
-- returns: tests.test_rows.Visit
SELECT :id::text AS id, :visitor::text AS visitor, :guests::int AS guests,
       :status::text AS status, :closed_at::timestamptz AS closed_at,
       :review::text AS review;

-- name: list_visits :many
-- returns: tests.test_rows.Visit
SELECT 'v' || g AS id, 'someone' AS visitor, g AS guests,
       CASE WHEN g = :odd_one THEN 'lost' ELSE 'done' END AS status,
       timestamptz '2026-01-01' AS closed_at, NULL::text AS review
FROM generate_series(1, 5) AS g
ORDER BY g;

-- name: list_visit_page :page
-- returns: tests.test_rows.Visit
SELECT 'v' || g AS id, 'someone' AS visitor, g AS guests, 'done' AS status,
       CASE WHEN g = :null_at THEN NULL ELSE timestamptz '2026-01-01' END
           AS closed_at,
       NULL::text AS review, count(*) OVER () AS total_count
FROM generate_series(1, 5) AS g
ORDER BY g
LIMIT :limit OFFSET :offset;

-- name: stream_visits :stream
-- returns: tests.test_rows.Visit
SELECT 'v' || g AS id, CASE WHEN g = 3 THEN NULL ELSE 'someone' END AS visitor,
       g AS guests, 'done' AS status, timestamptz '2026-01-01' AS closed_at,
       NULL::text AS review
FROM generate_series(1, 5) AS g
ORDER BY g;

-- name: get_pair :one
-- returns: tests.test_rows.Pair
SELECT :a::text AS a, :b::text AS b;

-- name: get_noted :one
-- returns: tests.test_rows.Noted
SELECT 'n1' AS id, :note::jsonb AS note;

-- name: get_mark :one
-- returns: tests.test_rows.Mark
SELECT :letter::text AS letter, :level::int AS level;

-- name: get_either :one
-- returns: tests.test_rows.Either
SELECT 'e1' AS id, :side::text AS side;
"""

NOON = datetime.fromisoformat("2026-01-01T12:00:00+00:00")


def visit_args(**changes: object) -> dict[str, object]:
    args: dict[str, object] = {
        "id": "v1",
        "visitor": "Awa",
        "guests": 2,
        "status": "done",
        "closed_at": NOON,
        "review": None,
    }
    return args | changes


@pytest.fixture
def db(sql_dir: SqlDir, open_db: OpenDb) -> Database:
    sql_dir.write("visits.sql", VISITS)
    return open_db(load_queries(sql_dir.path), strict_rows=False)


def test_null_into_a_field_that_does_not_take_none_names_query_column_and_field(
    db: Database,
) -> None:
    assert db.visits.get_visit(**visit_args()) == Visit(
        id="v1", visitor="Awa", guests=2, status="done", closed_at=NOON
    )
    assert db.visits.get_visit(**visit_args(review="planned")).review == "planned"
    with pytest.raises(RowDecodeError) as caught:
        db.visits.get_visit(**visit_args(closed_at=None))
    error = caught.value
    assert (error.query, error.column, error.field) == (
        "visits.get_visit",
        "closed_at",
        "closed_at",
    )
    assert str(error) == (
        "visits.get_visit: column 'closed_at' (timestamptz, nullable) does not fit "
        "Visit.closed_at (datetime); make the field 'datetime | None'"
    )


@pytest.mark.parametrize(
    ("column", "pg_type", "python_type"),
    [("id", "text", "str"), ("visitor", "text", "str"), ("guests", "int4", "int")],
)
def test_null_into_a_str_or_int_field_raises(
    db: Database, column: str, pg_type: str, python_type: str
) -> None:
    with pytest.raises(RowDecodeError) as caught:
        db.visits.get_visit(**visit_args(**{column: None}))
    assert (caught.value.column, caught.value.field) == (column, column)
    assert f"({pg_type}, nullable) does not fit Visit.{column} ({python_type})" in str(
        caught.value
    )


def test_null_into_a_positional_struct_raises(db: Database) -> None:
    """Pair's columns line up with its fields: the maker used to be ``S(*values)``."""
    assert db.visits.get_pair(a="x", b="y") == Pair("x", "y")
    with pytest.raises(RowDecodeError) as caught:
        db.visits.get_pair(a="x", b=None)
    assert (caught.value.column, caught.value.field) == ("b", "b")


def test_a_value_outside_a_literal_names_the_value_column_and_field(
    db: Database,
) -> None:
    with pytest.raises(RowDecodeError) as caught:
        db.visits.get_visit(**visit_args(status="archived"))
    error = caught.value
    assert (error.query, error.column, error.field) == (
        "visits.get_visit",
        "status",
        "status",
    )
    assert str(error).startswith(
        "visits.get_visit: column 'status' (text) holds 'archived', which does not "
        "fit Visit.status (Literal['cancelled', 'done', 'planned']); add 'archived' "
        "to the Literal"
    )


def test_null_into_a_literal_field_that_does_not_take_none_raises(
    db: Database,
) -> None:
    with pytest.raises(RowDecodeError, match=r"\(text, nullable\) does not fit"):
        db.visits.get_visit(**visit_args(status=None))


def test_an_optional_literal_alias_takes_null_and_refuses_other_values(
    db: Database,
) -> None:
    assert db.visits.get_visit(**visit_args(review=None)).review is None
    with pytest.raises(RowDecodeError) as caught:
        db.visits.get_visit(**visit_args(review="meh"))
    assert (caught.value.column, caught.value.field) == ("review", "review")
    assert "holds 'meh'" in str(caught.value)


def test_a_union_of_literals_takes_each_and_refuses_others(db: Database) -> None:
    assert db.visits.get_either(side="right").side == "right"
    with pytest.raises(RowDecodeError, match="holds 'up'"):
        db.visits.get_either(side="up")


def test_long_and_integer_literals_are_checked(db: Database) -> None:
    assert db.visits.get_mark(letter="j", level=None) == Mark(letter="j", level=None)
    assert db.visits.get_mark(letter="a", level=3).level == 3
    with pytest.raises(RowDecodeError, match="'letter' \\(text\\) holds 'k'"):
        db.visits.get_mark(letter="k", level=1)
    with pytest.raises(RowDecodeError, match="'letter' \\(text, nullable\\)"):
        db.visits.get_mark(letter=None, level=1)
    with pytest.raises(RowDecodeError, match="'level' \\(int4\\) holds 4"):
        db.visits.get_mark(letter="a", level=4)


def test_any_row_of_a_list_page_or_stream_is_checked(db: Database) -> None:
    assert len(db.visits.list_visits(odd_one=0)) == 5
    with pytest.raises(RowDecodeError, match="holds 'lost'"):
        db.visits.list_visits(odd_one=4)
    page = db.visits.list_visit_page(null_at=0, page=1, page_size=2)
    assert (len(page.items), page.total) == (2, 5)
    with pytest.raises(RowDecodeError, match="'closed_at'"):
        db.visits.list_visit_page(null_at=2, page=1, page_size=2)
    with pytest.raises(RowDecodeError, match="'visitor'"):
        list(db.visits.stream_visits())


def test_jsonb_that_does_not_fit_its_struct_field_is_a_row_decode_error(
    db: Database,
) -> None:
    good = db.visits.get_noted(note='{"text": "ok", "stars": 4}')
    assert good.note == Note("ok", 4)
    with pytest.raises(RowDecodeError) as caught:
        db.visits.get_noted(note='{"text": "ok"}')
    assert (caught.value.column, caught.value.field) == ("note", "note")
    with pytest.raises(RowDecodeError) as null:
        db.visits.get_noted(note=None)
    assert "(jsonb, nullable) does not fit Noted.note (Note)" in str(null.value)


def test_the_asyncio_twin_checks_rows_too(sql_dir: SqlDir, database_url: str) -> None:
    sql_dir.write("visits.sql", VISITS)
    queries = load_queries(sql_dir.path)

    async def main() -> None:
        settings = Settings(strict_rows=False, min_size=1)
        async with AsyncDatabase(
            database_url, queries=queries, settings=settings
        ) as adb:
            with pytest.raises(RowDecodeError, match="holds 'archived'"):
                await adb.visits.get_visit(**visit_args(status="archived"))

    asyncio.run(main())


# -- the row maker cache: keyed by column names as well as types ------------


def load(rows: StructRows, conn: psycopg.Connection[Any], query: bytes) -> list[Any]:
    res = conn.pgconn.exec_(query)
    tx = Transformer(conn)
    tx.set_pgresult(res)
    return tx.load_rows(0, res.ntuples, rows.for_result(res))


def test_results_with_the_same_types_but_other_names_get_their_own_maker(
    pg: psycopg.Connection[Any],
) -> None:
    rows = StructRows("pairs.get_pair", Pair)
    assert load(rows, pg, b"SELECT 'x'::text AS a, 'y'::text AS b") == [Pair("x", "y")]
    assert load(rows, pg, b"SELECT 'x'::text AS b, 'y'::text AS a") == [Pair("y", "x")]
    derived = StructRows("pairs.get_row", None)
    first = load(derived, pg, b"SELECT 'x'::text AS a, 'y'::text AS b")[0]
    second = load(derived, pg, b"SELECT 'x'::text AS c, 'y'::text AS d")[0]
    assert msgspec.structs.asdict(first) == {"a": "x", "b": "y"}
    assert msgspec.structs.asdict(second) == {"c": "x", "d": "y"}


def test_columns_renamed_by_a_migration_land_in_their_new_fields(
    sql_dir: SqlDir, open_db: OpenDb, pg: psycopg.Connection[Any]
) -> None:
    """Swapped names, same types: the re-prepared statement must not reuse the maker."""
    pg.execute("CREATE TABLE pairs (a text, b text)")
    pg.execute("INSERT INTO pairs VALUES ('first', 'second')")
    sql_dir.write(
        "pairs.sql",
        """
        -- name: get_pair :one
        -- returns: tests.test_rows.Pair
        SELECT * FROM pairs;

        -- name: get_row :one
        SELECT * FROM pairs;
        """,
    )
    db = open_db(load_queries(sql_dir.path), strict_rows=False, max_size=1)
    assert db.pairs.get_pair() == Pair("first", "second")
    assert msgspec.structs.asdict(db.pairs.get_row()) == {"a": "first", "b": "second"}
    pg.execute("ALTER TABLE pairs RENAME a TO c")
    pg.execute("ALTER TABLE pairs RENAME b TO a")
    pg.execute("ALTER TABLE pairs RENAME c TO b")
    assert db.pairs.get_pair() == Pair(a="second", b="first")
    assert msgspec.structs.asdict(db.pairs.get_row()) == {"b": "first", "a": "second"}


def test_a_field_named_by_a_python_keyword_is_still_filled(
    pg: psycopg.Connection[Any],
) -> None:
    """``defstruct`` allows a field called ``class``; no literal keyword can pass it."""
    lesson = msgspec.defstruct("Lesson", [("class", str), ("room", int)], kw_only=True)
    rows = StructRows("lessons.get_lesson", lesson)
    [row] = load(rows, pg, b"SELECT 'CM2' AS class, 4 AS room")
    assert msgspec.structs.asdict(row) == {"class": "CM2", "room": 4}
    with pytest.raises(RowDecodeError, match="'class' \\(text, nullable\\)"):
        load(rows, pg, b"SELECT NULL::text AS class, 4 AS room")
