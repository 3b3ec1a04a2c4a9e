"""Nullability of function calls: the documented table, user and extension functions.

Each test builds its own table ``t`` in its own database: ``a``, ``n``, ``i`` and
``ts`` are NOT NULL, ``b``, ``m`` and ``d`` allow NULL.
"""

import pglast
import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.query.loader import load_queries
from yeko_sql.verify._catalog import load_catalog
from yeko_sql.verify._notnull import null_reason
from yeko_sql.verify._tree import target_arms
from yeko_sql.verify.describe import ColumnInfo, describe_connection

_TABLE = """
CREATE TABLE t (
    id serial PRIMARY KEY,
    a text NOT NULL,
    b text,
    n numeric NOT NULL,
    m numeric,
    i integer NOT NULL,
    ts timestamptz NOT NULL,
    d date
)
"""


@pytest.fixture
def db(pg: psycopg.Connection) -> psycopg.Connection:
    pg.execute(_TABLE)
    return pg


def columns(sql_dir: SqlDir, pg: psycopg.Connection, sql: str) -> dict[str, ColumnInfo]:
    sql_dir.write("q.sql", f"-- name: list_rows :many\n{sql}\n")
    [query] = describe_connection(load_queries(sql_dir.path), pg).queries
    assert query.error is None, query.error
    return {c.name: c for c in query.columns}


def nullable(sql_dir: SqlDir, pg: psycopg.Connection, sql: str) -> dict[str, bool]:
    return {name: c.nullable for name, c in columns(sql_dir, pg, sql).items()}


def select(*items: str) -> str:
    return "SELECT " + ", ".join(items) + " FROM t"


def test_math_functions_of_not_null_arguments_are_not_null(
    sql_dir: SqlDir, db: psycopg.Connection
) -> None:
    found = nullable(
        sql_dir,
        db,
        select(
            "sqrt(n) AS root",
            "mod(i, 3) AS remainder",
            "pi() AS pi",
            "abs(n) AS absolute",
            "round(n, 2) AS rounded",
            "ceil(n) AS ceiling",
            "floor(n) AS floored",
            "trunc(n) AS truncated",
            "power(n, 2) AS squared",
            "greatest(m, n) AS biggest",
            "sqrt(m) AS root_of_nullable",
            "mod(i, m::int) AS mod_of_nullable",
        ),
    )
    assert found == {
        "root": False,
        "remainder": False,
        "pi": False,
        "absolute": False,
        "rounded": False,
        "ceiling": False,
        "floored": False,
        "truncated": False,
        "squared": False,
        "biggest": False,
        "root_of_nullable": True,
        "mod_of_nullable": True,
    }


def test_string_functions(sql_dir: SqlDir, db: psycopg.Connection) -> None:
    found = nullable(
        sql_dir,
        db,
        select(
            "lower(a) AS lowered",
            "upper(a) AS uppered",
            "length(a) AS size",
            "concat(a, b, NULL) AS joined",
            "concat_ws(', ', a, b) AS listed",
            "concat_ws(b, a) AS listed_by_nullable",
            "substr(a, 2) AS tail",
            "substring(a FROM 2 FOR 3) AS middle",
            "substring(a FROM 'x(.)') AS matched",
            "replace(a, 'x', 'y') AS replaced",
            "trim(a) AS trimmed",
            "left(a, 2) AS head",
            "right(a, 2) AS last",
            "lpad(a, 5) AS padded",
            "rpad(a, 5) AS right_padded",
            "md5(a) AS digest",
            "format('%s-%s', a, b) AS formatted",
            "format(b) AS formatted_by_nullable",
            "split_part(a, ',', 9) AS part",
            "lower(b) AS lowered_nullable",
        ),
    )
    assert found == {
        "lowered": False,
        "uppered": False,
        "size": False,
        "joined": False,
        "listed": False,
        "listed_by_nullable": True,
        "tail": False,
        "middle": False,
        "matched": True,
        "replaced": False,
        "trimmed": False,
        "head": False,
        "last": False,
        "padded": False,
        "right_padded": False,
        "digest": False,
        "formatted": False,
        "formatted_by_nullable": True,
        "part": False,
        "lowered_nullable": True,
    }


def test_date_and_time_functions(sql_dir: SqlDir, db: psycopg.Connection) -> None:
    found = nullable(
        sql_dir,
        db,
        select(
            "now() AS at",
            "current_date AS today",
            "date_trunc('day', ts) AS day",
            "extract(year FROM ts) AS year",
            "date_part('epoch', ts) AS epoch",
            "extract(month FROM ts) AS month",
            "age(ts) AS elapsed",
            "make_date(2026, 1, i) AS made",
            "to_char(ts, 'YYYY') AS formatted",
            "date_trunc('day', d) AS nullable_day",
        ),
    )
    assert found == {
        "at": False,
        "today": False,
        "day": False,
        "year": False,
        "epoch": False,
        # NULL for an infinite timestamp:
        "month": True,
        "elapsed": False,
        "made": False,
        # NULL for an infinite timestamp or an empty format:
        "formatted": True,
        "nullable_day": True,
    }


def test_sequences_and_uuids(sql_dir: SqlDir, db: psycopg.Connection) -> None:
    found = nullable(
        sql_dir,
        db,
        select("nextval('t_id_seq') AS next_id", "gen_random_uuid() AS token"),
    )
    assert found == {"next_id": False, "token": False}


def test_functions_that_return_null_for_non_null_arguments_stay_nullable(
    sql_dir: SqlDir, db: psycopg.Connection
) -> None:
    found = nullable(
        sql_dir,
        db,
        select(
            "nullif(a, 'x') AS emptied",
            "array_position(ARRAY['x'], a) AS place",
            "regexp_match(a, 'x') AS match",
            "to_number(a, '999') AS number",
            "array_length(ARRAY[a], 1) AS size",
        ),
    )
    assert found == dict.fromkeys(found, True)
    assert len(found) == 5


def test_why_names_the_function_and_the_rule(
    sql_dir: SqlDir, db: psycopg.Connection
) -> None:
    found = columns(
        sql_dir,
        db,
        select("lower(a) AS lowered", "concat_ws(',', b) AS listed", "pi() AS pi"),
    )
    assert found["lowered"].why == (
        "lower() of NOT NULL arguments is never NULL (built-in)"
    )
    assert found["listed"].why == (
        "concat_ws() with a NOT NULL first argument is never NULL"
    )
    assert found["pi"].why == "pi() is never NULL"


def test_user_functions_are_nullable_strict_or_not(
    sql_dir: SqlDir, db: psycopg.Connection
) -> None:
    db.execute(
        "CREATE FUNCTION twice(x text) RETURNS text LANGUAGE sql STRICT"
        " AS $$SELECT x || x$$"
    )
    db.execute(
        "CREATE FUNCTION twice_or_none(x text) RETURNS text LANGUAGE sql"
        " AS $$SELECT x || x$$"
    )
    found = nullable(
        sql_dir,
        db,
        select(
            "twice(b) AS strict_of_nullable",
            "twice(a) AS strict_of_not_null",
            "twice_or_none(a) AS not_strict",
        ),
    )
    assert found == {
        "strict_of_nullable": True,
        "strict_of_not_null": True,
        "not_strict": True,
    }


def test_a_user_function_that_shadows_a_built_in_name_is_not_trusted(
    sql_dir: SqlDir, db: psycopg.Connection
) -> None:
    db.execute(
        "CREATE FUNCTION public.lower(x integer) RETURNS text LANGUAGE sql"
        " AS $$SELECT NULL::text$$"
    )
    found = nullable(
        sql_dir,
        db,
        select("lower(i) AS shadowed", "pg_catalog.lower(a) AS qualified"),
    )
    assert found == {"shadowed": True, "qualified": False}


def test_uuid_ossp_functions_once_the_extension_is_present(
    sql_dir: SqlDir, db: psycopg.Connection
) -> None:
    db.execute('CREATE EXTENSION "uuid-ossp"')
    found = columns(
        sql_dir,
        db,
        select(
            "uuid_generate_v4() AS token",
            "uuid_generate_v5(uuid_ns_url(), a) AS named",
            "uuid_generate_v5(uuid_ns_url(), b) AS named_by_nullable",
        ),
    )
    assert {name: c.nullable for name, c in found.items()} == {
        "token": False,
        "named": False,
        "named_by_nullable": True,
    }
    assert (
        found["token"].why == "uuid_generate_v4() of extension uuid-ossp is never NULL"
    )


def test_a_uuid_generate_v4_that_no_extension_owns_is_nullable(
    sql_dir: SqlDir, db: psycopg.Connection
) -> None:
    db.execute(
        "CREATE FUNCTION uuid_generate_v4() RETURNS uuid LANGUAGE sql"
        " AS $$SELECT NULL::uuid$$"
    )
    assert nullable(sql_dir, db, select("uuid_generate_v4() AS token")) == {
        "token": True
    }


def test_pg_trgm_similarity_once_the_extension_is_present(
    sql_dir: SqlDir, db: psycopg.Connection
) -> None:
    db.execute("CREATE SCHEMA ext")
    db.execute("CREATE EXTENSION pg_trgm SCHEMA ext")
    found = nullable(
        sql_dir,
        db,
        select(
            "ext.similarity(a, 'x') AS score",
            "ext.word_similarity('x', a) AS word_score",
            "ext.similarity(b, 'x') AS score_of_nullable",
        ),
    )
    assert found == {"score": False, "word_score": False, "score_of_nullable": True}


def test_a_similarity_that_no_extension_owns_is_nullable(
    sql_dir: SqlDir, db: psycopg.Connection
) -> None:
    db.execute(
        "CREATE FUNCTION similarity(x text, y text) RETURNS real LANGUAGE sql"
        " AS $$SELECT NULL::real$$"
    )
    assert nullable(sql_dir, db, select("similarity(a, 'x') AS score")) == {
        "score": True
    }


def test_null_reason_names_the_function_and_the_rule(db: psycopg.Connection) -> None:
    db.execute(
        "CREATE FUNCTION twice(x text) RETURNS text LANGUAGE sql STRICT"
        " AS $$SELECT x || x$$"
    )
    db.execute(
        "CREATE FUNCTION twice_or_none(x text) RETURNS text LANGUAGE sql"
        " AS $$SELECT x || x$$"
    )
    stmt = pglast.parse_sql(
        select(
            "twice(a)",
            "twice_or_none(a)",
            "lower(b)",
            "format(b)",
            "to_char(ts, 'YYYY')",
            "b",
        )
    )[0].stmt
    assert stmt is not None
    catalog = load_catalog(db)
    [(scope, exprs)] = target_arms(stmt, catalog)
    assert [null_reason(e, scope) for e in exprs] == [
        "twice() is a user function, STRICT: it may return NULL",
        "twice_or_none() is a user function: it may return NULL",
        "lower() of an argument that may be NULL",
        "format() of a first argument that may be NULL",
        "to_char() is not in the table of functions never NULL (docs/describe.md)",
        None,
    ]


def test_describe_says_why_a_function_call_may_be_null(
    sql_dir: SqlDir, db: psycopg.Connection
) -> None:
    db.execute(
        "CREATE FUNCTION twice(x text) RETURNS text LANGUAGE sql STRICT"
        " AS $$SELECT x || x$$"
    )
    found = columns(sql_dir, db, select("twice(a) AS t", "to_char(ts, 'YYYY') AS y"))
    assert found["t"].nullable
    assert found["t"].why == "twice() is a user function, STRICT: it may return NULL"
    assert found["y"].why == (
        "to_char() is not in the table of functions never NULL (docs/describe.md)"
    )
