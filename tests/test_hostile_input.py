"""Hostile input through real queries: stored verbatim, or refused cleanly.

Values are server-side parameters, never SQL text, so injection strings,
quotes, ``%``, ``:name``, ``$1``, unicode and emoji are data like any other.
What PostgreSQL or Python cannot hold (a NUL byte, a lone surrogate) and
values of the wrong type fail with a clear error before or at the statement,
and a failed bulk statement writes nothing.
"""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import errors

from tests.fix_db import OpenDb
from tests.fix_sqlfiles import SqlDir
from yeko_sql.errors import ParameterError
from yeko_sql.ids import new_id
from yeko_sql.query.loader import load_queries
from yeko_sql.runtime.database import Database

HOSTILE_SQL = """
-- name: create_school :one
-- A school; every text field is the caller's.
INSERT INTO schools (id, name, code, city, address, settings)
VALUES (:id, :name, :code, :city, :address, :settings)
RETURNING id, name, code, city, address, settings;

-- name: get_school :one
-- A school by id.
SELECT id, name, code, city, address, settings
FROM schools
WHERE id = :id;

-- name: list_schools_named :many
-- Schools with exactly this name.
SELECT id, name
FROM schools
WHERE name = :name
ORDER BY id;

-- name: list_schools_containing :many
-- Schools whose name contains the text (no LIKE wildcards involved).
SELECT id, name
FROM schools
WHERE strpos(name, :search) > 0
ORDER BY id;

-- name: create_student :one
-- One student.
INSERT INTO students (id, school_id, matricule, first_name, last_name)
VALUES (:id, :school_id, :matricule, :first_name, :last_name)
RETURNING id, matricule, first_name, last_name, full_name;

-- name: count_students_among :scalar
-- How many of these ids are students of the school.
SELECT count(*)
FROM students
WHERE school_id = :school_id
  AND id = ANY(:ids);

-- name: count_numbers :scalar
-- The length of an int array.
SELECT count(*)
FROM unnest(:numbers::int[]);

-- name: insert_students :execrows
-- Students in bulk, one statement.
INSERT INTO students (id, school_id, matricule, first_name, last_name, gender)
SELECT id, :school_id, matricule, first_name, last_name, gender
FROM unnest(
    :ids::text[], :matricules::text[], :first_names::text[], :last_names::text[],
    :genders::text[]
) AS t (id, matricule, first_name, last_name, gender)
ON CONFLICT (school_id, matricule) DO UPDATE
SET first_name = EXCLUDED.first_name;

-- name: list_students :many
-- sort: name = full_name, id | newest = created_at DESC, id DESC | code = matricule, id
-- A school's students in a declared order.
SELECT id, matricule, full_name
FROM students
WHERE school_id = :school_id
ORDER BY :sort
LIMIT :limit;
"""

HOSTILE = [
    "'; DROP TABLE students; --",
    "Robert'); DROP TABLE schools;--",
    "' OR '1'='1",
    '" OR ""="',
    "%",
    "%%",
    "%s",
    "%(name)s",
    "{name}",
    ":name",
    ":school_id::text",
    "$1",
    "$$",
    "$tag$ x $tag$",
    "\\",
    "\\x00",
    "E'\\''",
    "/* unclosed comment",
    "-- a comment",
    "?",
    ";",
    "é à ç ñ ü ß",
    "日本語のテキスト",
    "🎓👩🏾‍🎓🏫",
    "\u202etxet desrever",
    "\ufeffBOM",
    "\t\r\n\x01\x1f\x7f",
    "a" * 20_000,
    " ",
    "",
]


@pytest.fixture
def hostile_db(sql_dir: SqlDir, open_db: OpenDb) -> Database:
    sql_dir.write("hostile.sql", HOSTILE_SQL)
    return open_db(load_queries(sql_dir.path))


@pytest.fixture
def school_id(hostile_db: Database) -> str:
    school = hostile_db.hostile.create_school(
        id=new_id(), name="Lycee", code="LY1", city=None, address=None, settings={}
    )
    return str(school.id)


def create(db: Database, text: str) -> object:
    return db.hostile.create_school(
        id=new_id(),
        name=text,
        code=new_id(),
        city=text,
        address=text,
        settings={text: text, "list": [text]},
    )


def test_hostile_text_is_stored_and_returned_verbatim(
    hostile_db: Database, school_id: str, pg: psycopg.Connection
) -> None:
    db = hostile_db
    for n, text in enumerate(HOSTILE):
        made = create(db, text)
        got = db.hostile.get_school(id=made.id)  # type: ignore[attr-defined]
        assert (got.name, got.city, got.address) == (text, text, text), repr(text)
        assert got.settings == {text: text, "list": [text]}
        assert [s.id for s in db.hostile.list_schools_named(name=text)] == [got.id]
        student = db.hostile.create_student(
            id=new_id(),
            school_id=school_id,
            matricule=f"H{n}",
            first_name=text,
            last_name=text,
        )
        assert (student.first_name, student.full_name) == (text, f"{text} {text}")
    found = db.hostile.list_schools_containing(search="DROP TABLE")
    assert {s.name for s in found} == {HOSTILE[0], HOSTILE[1]}
    tables = pg.execute(
        "SELECT count(*) FROM pg_tables WHERE tablename IN ('schools', 'students')"
    ).fetchone()
    assert tables == (2,)
    assert pg.execute("SELECT count(*) FROM schools").fetchone() == (1 + len(HOSTILE),)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=st.text(
        st.characters(codec="utf-8", exclude_characters="\x00"),
        max_size=200,
    )
)
def test_any_text_without_nul_round_trips_unchanged(
    hostile_db: Database, text: str
) -> None:
    made = create(hostile_db, text)
    got = hostile_db.hostile.get_school(id=made.id)  # type: ignore[attr-defined]
    assert (got.name, got.city, got.settings[text]) == (text, text, text)


def test_a_nul_byte_is_a_clear_error_and_nothing_is_written(
    hostile_db: Database, school_id: str, pg: psycopg.Connection
) -> None:
    with pytest.raises(psycopg.DataError, match="cannot contain NUL") as caught:
        create(hostile_db, "before\x00after")
    assert "while running yeko:hostile.create_school" in caught.value.__notes__[0]
    with pytest.raises(errors.UntranslatableCharacter, match="Unicode escape"):
        hostile_db.hostile.create_school(
            id=new_id(),
            name="ok",
            code="NUL1",
            city=None,
            address=None,
            settings={"k": "\x00"},  # jsonb refuses \u0000 on the server
        )
    assert pg.execute("SELECT count(*) FROM schools").fetchone() == (1,)


def test_a_lone_surrogate_fails_before_anything_is_sent(
    hostile_db: Database, school_id: str, pg: psycopg.Connection
) -> None:
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        create(hostile_db, "half \ud83c of an emoji")
    assert pg.execute("SELECT count(*) FROM schools").fetchone() == (1,)
    assert hostile_db.hostile.get_school(id=school_id).code == "LY1"


def bulk(school_id: str, n: int, **change: tuple[int, str]) -> dict[str, object]:
    """Arrays for insert_students; *change* sets ``column=(row, value)``."""
    columns: dict[str, list[str | None]] = {
        "ids": [new_id() for _ in range(n)],
        "matricules": [f"K{i:05d}" for i in range(n)],
        "first_names": ["Awa"] * n,
        "last_names": [f"Kone {i}" for i in range(n)],
        "genders": ["F"] * n,
    }
    for column, (row, value) in change.items():
        columns[column][row] = value
    return {"school_id": school_id, **columns}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"last_names": (700, "Kone\x00")}, psycopg.DataError),  # refused locally
        ({"genders": (700, "X")}, errors.CheckViolation),  # CHECK on row 700
        ({"matricules": (700, "K00001")}, errors.CardinalityViolation),  # twice
        ({"ids": (700, "short")}, errors.CheckViolation),  # char_length(id) = 21
    ],
)
def test_a_failed_bulk_statement_writes_no_row_at_all(
    hostile_db: Database,
    school_id: str,
    pg: psycopg.Connection,
    change: dict[str, tuple[int, str]],
    error: type[Exception],
) -> None:
    with pytest.raises(error) as caught:
        hostile_db.hostile.insert_students(**bulk(school_id, 1000, **change))
    assert "while running yeko:hostile.insert_students" in caught.value.__notes__[0]
    assert pg.execute("SELECT count(*) FROM students").fetchone() == (0,)
    assert hostile_db.hostile.insert_students(**bulk(school_id, 1000)) == 1000


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"limit": "ten"}, errors.InvalidTextRepresentation, 'bigint: "ten"'),
        ({"school_id": 123}, errors.UndefinedFunction, "operator does not exist"),
        ({"school_id": object()}, psycopg.ProgrammingError, "cannot adapt"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_clear_error_naming_the_query(
    hostile_db: Database,
    school_id: str,
    kwargs: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    call = {"school_id": school_id, "limit": 10, **kwargs}
    with pytest.raises(error, match=message) as caught:
        hostile_db.hostile.list_students(**call)
    assert "while running yeko:hostile.list_students" in caught.value.__notes__[-1]
    assert hostile_db.hostile.list_students(school_id=school_id, limit=1) == []


def test_text_where_an_array_is_expected_is_refused(
    hostile_db: Database, school_id: str
) -> None:
    with pytest.raises(errors.InvalidTextRepresentation, match="malformed array"):
        hostile_db.hostile.count_students_among(school_id=school_id, ids="abc")
    with pytest.raises(ParameterError, match="unexpected parameter 'idz'"):
        hostile_db.hostile.count_students_among(school_id=school_id, idz=[])


def test_a_list_where_text_is_expected_is_a_clear_error(
    hostile_db: Database, school_id: str
) -> None:
    # Lists bind as typed binary arrays, so text[] against a text column is
    # refused by the server, with the query named, instead of matching '{a,b}'.
    with pytest.raises(psycopg.errors.UndefinedFunction) as caught:
        hostile_db.hostile.list_students(school_id=["a", "b"], limit=10)
    assert "while running yeko:hostile.list_students" in caught.value.__notes__[0]
    assert school_id


def test_a_100k_element_array_binds_and_answers_correctly(
    hostile_db: Database, school_id: str
) -> None:
    columns = bulk(school_id, 100)
    assert hostile_db.hostile.insert_students(**columns) == 100
    real = list(columns["ids"])  # type: ignore[call-overload]
    ids = real + [new_id() for _ in range(100_000 - len(real))]
    count = hostile_db.hostile.count_students_among(school_id=school_id, ids=ids)
    assert count == 100
    numbers = list(range(100_000))
    assert hostile_db.hostile.count_numbers(numbers=numbers) == 100_000


HOSTILE_SORTS = [
    "name; DROP TABLE students",
    "full_name",
    "full_name DESC",
    "NAME",
    "name ",
    " name",
    "",
    "1",
    "n\u0430me",  # a Cyrillic a
    "name\x00",
    "name--",
    "__class__",
    "code, (SELECT pg_sleep(10))",
    1,
    True,
    b"name",
    ["name"],
    ("name",),
]


@pytest.mark.parametrize("sort", HOSTILE_SORTS, ids=repr)
def test_only_a_declared_sort_name_chooses_the_order(
    hostile_db: Database, school_id: str, pg: psycopg.Connection, sort: object
) -> None:
    with pytest.raises(
        ParameterError, match="sort is one of 'name', 'newest', 'code'"
    ) as caught:
        hostile_db.hostile.list_students(school_id=school_id, limit=10, sort=sort)
    assert "unknown sort" in str(caught.value)
    assert pg.execute("SELECT count(*) FROM students").fetchone() == (0,)


def test_the_declared_sorts_order_real_rows(
    hostile_db: Database, school_id: str
) -> None:
    hostile_db.hostile.insert_students(
        school_id=school_id,
        ids=[new_id() for _ in range(3)],
        matricules=["M3", "M1", "M2"],
        first_names=["Awa", "Yao", "Ali"],
        last_names=["Kone", "Bamba", "Kone"],
        genders=["F", "M", "M"],
    )

    def order(sort: str | None) -> list[str]:
        kwargs = {} if sort is None else {"sort": sort}
        rows = hostile_db.hostile.list_students(school_id=school_id, limit=10, **kwargs)
        return [r.matricule for r in rows]

    assert order(None) == order("name") == ["M1", "M2", "M3"]  # Bamba, Kone Ali, …
    assert order("code") == ["M1", "M2", "M3"]
    assert sorted(order("newest")) == ["M1", "M2", "M3"]
