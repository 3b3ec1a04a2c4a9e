from datetime import datetime
from typing import Any, Literal

import msgspec
import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.check import check, check_connection, compare
from yeko_sql.commands import check_command
from yeko_sql.describe import describe_connection
from yeko_sql.errors import SchemaMismatchError
from yeko_sql.loader import load_queries


class SchoolRow(msgspec.Struct, frozen=True, kw_only=True):
    """What the test queries select from schools."""

    id: str
    name: str
    status: Literal["active", "suspended", "archived"]
    city: str | None
    created_at: datetime


class StrictCity(msgspec.Struct, frozen=True, kw_only=True):
    """A city that may not be None."""

    id: str
    city: str


class Defaults(msgspec.Struct, frozen=True, kw_only=True):
    """A field with a default need not be selected."""

    id: str
    note: str = ""
    settings: dict[str, Any] = msgspec.field(default_factory=dict)


class CountPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page row."""

    id: str


GOOD = """
-- name: get_school :one
-- returns: tests.test_check.SchoolRow
SELECT id, name, status, city, created_at
FROM schools
WHERE id = :school_id;

-- name: get_school_defaults :one
-- returns: tests.test_check.Defaults
SELECT id
FROM schools
WHERE id = :school_id;

-- name: list_school_page :page
-- returns: tests.test_check.CountPage
-- tenant: any: a test
SELECT id, count(*) OVER () AS total_count
FROM schools
ORDER BY id
LIMIT :limit OFFSET :offset;

-- name: count_schools :scalar
SELECT count(*) FROM schools;
"""


def problems_of(sql_dir: SqlDir, pg: psycopg.Connection, text: str) -> list[str]:
    sql_dir.write("schools.sql", text)
    report = check_connection(load_queries(sql_dir.path), pg)
    return [p.message for p in report.problems]


def test_queries_that_fit_their_structs_pass(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    sql_dir.write("schools.sql", GOOD)
    report = check_connection(load_queries(sql_dir.path), pg)
    assert report.problems == ()
    assert (report.ok, report.queries) == (True, 4)


def test_a_nullable_column_into_a_non_optional_field_names_file_line_and_fix(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    path = sql_dir.write(
        "schools.sql",
        """
        -- name: get_school_city :one
        -- returns: tests.test_check.StrictCity
        SELECT id,
               city
        FROM schools
        WHERE id = :school_id;
        """,
    )
    [problem] = check_connection(load_queries(sql_dir.path), pg).problems
    assert str(problem) == (
        f"{path}:4: column 'city' (text, nullable) does not fit StrictCity.city"
        " (str); make the field 'str | None'"
    )
    assert (problem.check, problem.column, problem.field) == ("columns", "city", "city")
    assert problem.detail == "schools.city allows NULL"


def test_compare_returns_schema_mismatch_errors(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    sql_dir.write(
        "schools.sql",
        """
        -- name: get_school_city :one
        -- returns: tests.test_check.StrictCity
        SELECT id, city FROM schools WHERE id = :school_id;
        """,
    )
    registry = load_queries(sql_dir.path)
    [described] = describe_connection(registry, pg).queries
    [error] = compare(registry["get_school_city"], described)
    assert isinstance(error, SchemaMismatchError)
    assert (error.line, error.column, error.field) == (3, "city", "city")
    assert error.path.endswith("schools.sql")


def test_a_column_without_a_field_is_an_error(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [message] = problems_of(
        sql_dir,
        pg,
        """
        -- name: get_school :one
        -- returns: tests.test_check.StrictCity
        SELECT id, coalesce(city, '') AS city, code FROM schools WHERE id = :school_id;
        """,
    )
    assert message == (
        "column 'code' has no field in StrictCity; add a field or drop the column"
        " (fields: id, city)"
    )


def test_a_required_field_without_a_column_is_an_error(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [message] = problems_of(
        sql_dir,
        pg,
        """
        -- name: get_school :one
        -- returns: tests.test_check.StrictCity
        SELECT id FROM schools WHERE id = :school_id;
        """,
    )
    assert message == (
        "StrictCity.city has no column in the result (columns: id); select it or"
        " give the field a default"
    )


def test_a_column_of_the_wrong_type_says_which_type_fits(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [message] = problems_of(
        sql_dir,
        pg,
        """
        -- name: get_school :one
        -- returns: tests.test_check.StrictCity
        SELECT id, created_at AS city FROM schools WHERE id = :school_id;
        """,
    )
    assert message == (
        "column 'city' (timestamptz) does not fit StrictCity.city (str);"
        " make the field 'datetime'"
    )


def test_a_scalar_query_selects_one_column(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [message] = problems_of(
        sql_dir,
        pg,
        "-- name: count_schools :scalar\nSELECT count(*), max(id) FROM schools;\n",
    )
    assert message.startswith(
        ":scalar query 'count_schools' returns its first column only but selects 2"
    )


def test_a_page_query_needs_its_total_count_and_integer_limits(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    messages = problems_of(
        sql_dir,
        pg,
        """
        -- name: list_school_page :page
        -- returns: tests.test_check.CountPage
        -- tenant: any: a test
        SELECT id
        FROM schools
        ORDER BY id
        LIMIT :limit::numeric OFFSET :offset;
        """,
    )
    assert messages == [
        "a :page query must select 'count(*) OVER () AS total_count'; add it to the"
        " select list",
        "parameter 'limit' is numeric, but :page binds an int; compare it with an"
        " integer or cast it: ':limit::int'",
    ]


def test_a_query_the_server_refuses_is_a_problem_at_its_line(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    path = sql_dir.write(
        "schools.sql",
        "-- name: list_things :many\nSELECT id\nFROM things;\n",
    )
    [problem] = check_connection(load_queries(sql_dir.path), pg).problems
    assert str(problem) == (
        f"{path}:3: the server refused 'list_things': relation \"things\" does not"
        " exist"
    )
    assert (problem.check, problem.detail) == ("describe", "42P01")


def test_rule_violations_are_problems_too(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [message] = problems_of(
        sql_dir, pg, "-- name: delete_schools :execrows\nDELETE FROM schools;\n"
    )
    assert message.startswith("rule where: DELETE of 'schools' has no WHERE;")


def test_check_command_prints_one_line_per_problem_and_a_summary(
    sql_dir: SqlDir,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(sql_dir.path.parent)
    sql_dir.write("schools.sql", GOOD)
    assert check_command([str(sql_dir.path)], database_url, models=[]) == 0
    assert capsys.readouterr().out == "all 4 queries check out\n"

    sql_dir.write("bad.sql", "-- name: delete_users :execrows\nDELETE FROM users;\n")
    assert check_command([str(sql_dir.path)], database_url, models=[]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("sql/bad.sql:2: rule where: DELETE of 'users'")
    assert lines[-1] == "1 problem(s) in 1 of 5 queries checked"


def test_check_opens_its_own_connection(sql_dir: SqlDir, database_url: str) -> None:
    sql_dir.write("schools.sql", GOOD)
    assert check(load_queries(sql_dir.path), database_url).ok
