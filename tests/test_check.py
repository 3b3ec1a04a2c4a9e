import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Literal

import msgspec
import psycopg
import pytest
from psycopg import sql

from tests.fix_sqlfiles import SqlDir
from yeko_sql.cli.commands import check_command
from yeko_sql.cli.main import main
from yeko_sql.config import CONFIG_ENV
from yeko_sql.errors import SchemaMismatchError
from yeko_sql.query.loader import load_queries
from yeko_sql.verify.check import Problem, check, check_connection, compare
from yeko_sql.verify.describe import describe_connection


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
-- role: owner
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
        -- role: owner
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
    assert check_command(load_queries(sql_dir.path), database_url) == 0
    assert capsys.readouterr().out == "all 4 queries check out\n"

    sql_dir.write("bad.sql", "-- name: delete_users :execrows\nDELETE FROM users;\n")
    assert check_command(load_queries(sql_dir.path), database_url) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("sql/bad.sql:2: rule where: DELETE of 'users'")
    assert lines[-1] == "1 problem(s) in 1 of 5 queries checked"


def test_check_opens_its_own_connection(sql_dir: SqlDir, database_url: str) -> None:
    sql_dir.write("schools.sql", GOOD)
    assert check(load_queries(sql_dir.path), database_url).ok


# roles: every test makes roles of its own (roles belong to the whole cluster)


@pytest.fixture
def make_role(pg: psycopg.Connection) -> Iterator[Callable[..., str]]:
    """Create a uniquely named role; dropped, with its grants, after the test."""
    made: list[str] = []

    def make(options: str = "NOLOGIN") -> str:
        name = f"check_{uuid.uuid4().hex[:12]}"
        pg.execute(sql.SQL("CREATE ROLE {} " + options).format(sql.Identifier(name)))
        made.append(name)
        return name

    yield make
    for name in reversed(made):
        pg.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        pg.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def grant(pg: psycopg.Connection, statement: str, role: str) -> None:
    pg.execute(sql.SQL(statement).format(role=sql.Identifier(role)))


def role_problems(
    sql_dir: SqlDir, pg: psycopg.Connection, text: str, **options: Any
) -> list[Problem]:
    sql_dir.write("q.sql", text)
    report = check_connection(load_queries(sql_dir.path), pg, **options)
    return [p for p in report.problems if p.check == "role"]


def platform_query(role: str) -> str:
    return (
        "-- name: count_classes :scalar\n"
        "-- tenant: any: a platform count\n"
        f"-- role: {role}\n"
        "SELECT count(*) FROM classes;\n"
    )


def test_a_declared_role_that_does_not_exist_is_a_problem_at_its_header(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [problem] = role_problems(sql_dir, pg, platform_query("check_nobody"))
    assert (problem.line, problem.detail) == (3, "check_nobody")
    assert problem.message == (
        "role 'check_nobody' does not exist; create it in a migration, or fix the"
        " '-- role:' header"
    )


@pytest.mark.parametrize(
    ("options", "what"), [("SUPERUSER", "SUPERUSER"), ("BYPASSRLS", "BYPASSRLS")]
)
def test_a_role_that_skips_row_level_security_is_a_problem(
    sql_dir: SqlDir,
    pg: psycopg.Connection,
    make_role: Callable[..., str],
    options: str,
    what: str,
) -> None:
    role = make_role(options)
    [problem] = role_problems(sql_dir, pg, platform_query(role))
    assert problem.message.startswith(
        f"role {role!r} is {what}, so row-level security does not hold it;"
    )


def test_a_role_without_the_privilege_is_a_problem(
    sql_dir: SqlDir, pg: psycopg.Connection, make_role: Callable[..., str]
) -> None:
    role = make_role()
    grant(pg, "GRANT USAGE ON SCHEMA public TO {role}", role)
    [problem] = role_problems(sql_dir, pg, platform_query(role))
    assert problem.message == (
        f"role {role!r} has no SELECT privilege on 'classes', which the query"
        f" needs; 'GRANT SELECT ON classes TO {role}' in a migration, or run the"
        " query under another role"
    )


def test_a_role_without_usage_on_the_schema_is_a_problem(
    sql_dir: SqlDir, pg: psycopg.Connection, make_role: Callable[..., str]
) -> None:
    role = make_role()
    pg.execute("REVOKE USAGE ON SCHEMA public FROM PUBLIC")
    grant(pg, "GRANT SELECT ON classes TO {role}", role)
    [problem] = role_problems(sql_dir, pg, platform_query(role))
    assert problem.message.startswith(
        f"role {role!r} has no USAGE on the schema of 'classes'"
    )


def test_a_role_no_policy_lets_see_rows_is_a_problem(
    sql_dir: SqlDir, pg: psycopg.Connection, make_role: Callable[..., str]
) -> None:
    role = make_role()
    grant(pg, "GRANT USAGE ON SCHEMA public TO {role}", role)
    grant(pg, "GRANT SELECT ON classes TO {role}", role)
    [problem] = role_problems(sql_dir, pg, platform_query(role))
    assert problem.message == (
        f"row-level security on 'classes' has no policy for role {role!r} and"
        " SELECT, so it would read no rows; 'CREATE POLICY … ON classes FOR SELECT"
        f" TO {role}' in a migration, or run the query under another role"
    )


@pytest.mark.parametrize(
    "policy",
    [
        "CREATE POLICY p ON classes FOR SELECT TO {role} USING (true)",
        "CREATE POLICY p ON classes FOR ALL TO {role} USING (true)",
        "CREATE POLICY p ON classes FOR SELECT TO PUBLIC USING (true)",
        "CREATE POLICY p ON classes FOR SELECT TO {group} USING (true)",
    ],
)
def test_a_role_with_its_grant_and_a_policy_checks_out(
    sql_dir: SqlDir,
    pg: psycopg.Connection,
    make_role: Callable[..., str],
    policy: str,
) -> None:
    role, group = make_role(), make_role()
    grant(pg, "GRANT {role} TO " + role, group)
    grant(pg, "GRANT USAGE ON SCHEMA public TO {role}", role)
    grant(pg, "GRANT SELECT ON classes TO {role}", role)
    pg.execute(
        sql.SQL(policy).format(role=sql.Identifier(role), group=sql.Identifier(group))
    )
    assert role_problems(sql_dir, pg, platform_query(role)) == []


def test_a_policy_for_another_command_does_not_count(
    sql_dir: SqlDir, pg: psycopg.Connection, make_role: Callable[..., str]
) -> None:
    role = make_role()
    grant(pg, "GRANT USAGE ON SCHEMA public TO {role}", role)
    grant(pg, "GRANT SELECT ON classes TO {role}", role)
    grant(pg, "CREATE POLICY p ON classes FOR INSERT TO {role} WITH CHECK (true)", role)
    assert len(role_problems(sql_dir, pg, platform_query(role))) == 1


@pytest.mark.parametrize(
    ("statement", "needed"),
    [
        ("UPDATE tracks SET name = :name WHERE id = :id", "SELECT UPDATE"),
        ("UPDATE tracks SET name = 'x' WHERE true", "UPDATE"),
        ("DELETE FROM tracks WHERE id = :id", "DELETE SELECT"),
        ("INSERT INTO tracks (id, name, code) VALUES (:id, :n, :c)", "INSERT"),
        (
            "INSERT INTO tracks (id, name, code) VALUES (:id, :n, :c) RETURNING id",
            "INSERT SELECT",
        ),
        (
            "INSERT INTO tracks (id, name, code) VALUES (:id, :n, :c)"
            " ON CONFLICT (code) DO UPDATE SET name = excluded.name",
            "INSERT SELECT UPDATE",
        ),
        (
            "WITH t AS (SELECT id FROM grades) DELETE FROM tracks"
            " WHERE id IN (SELECT id FROM t)",
            "DELETE SELECT SELECT:grades",
        ),
    ],
)
def test_the_privileges_a_statement_needs_are_each_checked(
    sql_dir: SqlDir,
    pg: psycopg.Connection,
    make_role: Callable[..., str],
    statement: str,
    needed: str,
) -> None:
    role = make_role()
    grant(pg, "GRANT USAGE ON SCHEMA public TO {role}", role)
    text = f"-- name: change_tracks :execrows\n-- role: {role}\n{statement};\n"
    missing = [
        re.search(r"has no (\w+) privilege on '(\w+)'", p.message)
        for p in role_problems(sql_dir, pg, text)
    ]
    shown = [m[1] if m[2] == "tracks" else f"{m[1]}:{m[2]}" for m in missing if m]
    assert sorted(shown) == needed.split()
    for privilege in {n.split(":")[0] for n in needed.split()}:
        grant(pg, f"GRANT {privilege} ON tracks, grades TO {{role}}", role)
    assert role_problems(sql_dir, pg, text) == []


def test_a_role_owning_a_table_whose_security_is_not_forced_is_a_problem(
    sql_dir: SqlDir, pg: psycopg.Connection, make_role: Callable[..., str]
) -> None:
    role = make_role()
    pg.execute("CREATE TABLE notes (id text PRIMARY KEY)")
    pg.execute("ALTER TABLE notes ENABLE ROW LEVEL SECURITY")
    grant(pg, "ALTER TABLE notes OWNER TO {role}", role)
    grant(pg, "GRANT USAGE ON SCHEMA public TO {role}", role)
    text = f"-- name: list_notes :many\n-- role: {role}\nSELECT id FROM notes;\n"
    [problem] = role_problems(sql_dir, pg, text)
    assert problem.message.startswith(
        f"role {role!r} owns 'notes', whose row-level security is not forced,"
        " so it sees every school's rows;"
    )
    pg.execute("ALTER TABLE notes FORCE ROW LEVEL SECURITY")
    grant(pg, "CREATE POLICY p ON notes TO {role} USING (true)", role)
    assert role_problems(sql_dir, pg, text) == []


def test_queries_without_a_role_are_checked_as_the_app_role_when_given(
    sql_dir: SqlDir, pg: psycopg.Connection, make_role: Callable[..., str]
) -> None:
    app = make_role()
    text = (
        "-- name: list_classes :many\n"
        "SELECT id FROM classes WHERE school_id = :school_id;\n"
        "\n"
        "-- name: count_classes :scalar\n"
        "-- tenant: any: seeding counts\n"
        "-- role: owner\n"
        "SELECT count(*) FROM classes;\n"
    )
    assert role_problems(sql_dir, pg, text) == []
    [problem] = role_problems(sql_dir, pg, text, app_role=app)
    assert (problem.query, problem.line) == ("q.list_classes", 1)
    assert problem.message.startswith(f"role {app!r} has no SELECT privilege on")


def test_yeko_app_can_run_a_scoped_query(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    text = "-- name: list_classes :many\nSELECT id FROM classes WHERE school_id = :s;\n"
    assert role_problems(sql_dir, pg, text, app_role="yeko_app") == []


def test_check_takes_the_app_role_too(
    sql_dir: SqlDir, database_url: str, make_role: Callable[..., str]
) -> None:
    app = make_role()
    sql_dir.write("q.sql", "-- name: list_tracks :many\nSELECT id FROM tracks;\n")
    assert check(load_queries(sql_dir.path), database_url).ok
    report = check(load_queries(sql_dir.path), database_url, app_role=app)
    assert [p.check for p in report.problems] == ["role"]


def test_a_query_keeps_its_declared_role(sql_dir: SqlDir) -> None:
    sql_dir.write(
        "q.sql",
        "-- name: count_schools :scalar\n-- role: yeko_platform\n"
        "SELECT count(*) FROM schools;\n\n"
        "-- name: count_tracks :scalar\nSELECT count(*) FROM tracks;\n",
    )
    platform, app = load_queries(sql_dir.path)
    assert (platform.role, platform.header_line("role")) == ("yeko_platform", 2)
    assert (app.role, app.header_line("role")) == (None, app.line)


def test_the_check_command_takes_an_app_role(
    sql_dir: SqlDir,
    database_url: str,
    make_role: Callable[..., str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = make_role()
    sql_dir.write("q.sql", "-- name: list_tracks :many\nSELECT id FROM tracks;\n")
    argv = ["check", str(sql_dir.path), "--database-url", database_url]
    assert main(argv) == 0
    assert main([*argv, "--app-role", app]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].endswith(
        f"q.sql:1: role {app!r} has no SELECT privilege on 'tracks', which the"
        f" query needs; 'GRANT SELECT ON tracks TO {app}' in a migration, or run"
        " the query under another role"
    )
    assert main([*argv, "--app-role", "yeko_app"]) == 0


def test_the_check_command_follows_the_declared_tenant_column(
    sql_dir: SqlDir,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = sql_dir.path.parent / "pyproject.toml"
    monkeypatch.setenv(CONFIG_ENV, str(config))
    sql_dir.write("q.sql", "-- name: list_classes :many\nSELECT id FROM classes;\n")
    argv = ["check", str(sql_dir.path), "--database-url", database_url]
    for declared, code in [('tenant_column = "school_id"', 1), ("", 0)]:
        config.write_text(f"[tool.yeko-sql]\n{declared}\n", encoding="utf-8")
        assert main(argv) == code
        out = capsys.readouterr().out
        unscoped = "rule tenant: 'classes' is not scoped to one school"
        assert (unscoped in out) == bool(code)
