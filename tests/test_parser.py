import datetime
import textwrap

import pytest

from yeko_sql.errors import HeaderError, QueryFileError
from yeko_sql.query.kinds import SQLC_KINDS, Kind
from yeko_sql.query.parser import QuerySpec, parse_duration, parse_file


def parse(text: str, path: str = "sql/schools.sql") -> list[QuerySpec]:
    return parse_file(textwrap.dedent(text).removeprefix("\n"), path)


ENROLLMENTS = """
    -- Enrollments: a student's place in one class for one school year.

    -- name: list_class_enrollments :page
    -- returns: ClassEnrollment
    -- Confirmed enrollments of one class, by student name.
    -- Served by enrollments_class_id_where_confirmed_idx.
    SELECT e.id, count(*) OVER () AS total_count
    FROM enrollments AS e
    WHERE e.class_id = :class_id
    ORDER BY e.id
    LIMIT :limit OFFSET :offset;

    -- name: confirm_enrollments :execrows
    -- Confirm pending enrollments in one statement.
    UPDATE enrollments
    SET status = 'confirmed'
    WHERE id = ANY(:ids);
"""


def test_a_file_holds_its_queries_in_order() -> None:
    specs = parse(ENROLLMENTS, "sql/enrollments.sql")
    assert [(s.namespace, s.name, s.kind) for s in specs] == [
        ("enrollments", "list_class_enrollments", Kind.PAGE),
        ("enrollments", "confirm_enrollments", Kind.EXECROWS),
    ]
    assert [(s.path, s.line, s.body_line) for s in specs] == [
        ("sql/enrollments.sql", 3, 7),
        ("sql/enrollments.sql", 13, 15),
    ]


def test_header_keys_and_documentation_are_told_apart() -> None:
    first = parse(ENROLLMENTS)[0]
    assert first.returns_name == "ClassEnrollment"
    assert dict(first.headers) == {"returns": "ClassEnrollment"}
    assert dict(first.header_lines) == {"returns": 4}
    assert first.doc == (
        "Confirmed enrollments of one class, by student name.\n"
        "Served by enrollments_class_id_where_confirmed_idx."
    )


def test_the_body_is_the_sql_under_the_header() -> None:
    second = parse(ENROLLMENTS)[1]
    assert second.body == (
        "UPDATE enrollments\nSET status = 'confirmed'\nWHERE id = ANY(:ids);"
    )


def test_capitalised_and_url_lines_are_documentation() -> None:
    [spec] = parse("""
        -- name: get_school :one
        -- Note: the id is a nanoid.
        -- See https://example.org/schools for the rules.
        --
        -- e.g: this is prose too.
        SELECT 1;
    """)
    assert spec.doc == (
        "Note: the id is a nanoid.\n"
        "See https://example.org/schools for the rules.\n"
        "\n"
        "e.g: this is prose too."
    )
    assert dict(spec.headers) == {}


def test_every_known_header_key_is_kept_raw() -> None:
    [spec] = parse("""
        -- name: list_schools :many
        -- returns: yeko_sql.yeko.domain.schools.School
        -- nullable: closed_at, note
        -- notnull: name
        -- budget: 50ms
        -- explain: seqscan schools (a few rows per tenant)
        -- tenant: any: schools are the tenants themselves
        -- timeout: 2s
        -- role: yeko_platform
        SELECT 1;
    """)
    assert dict(spec.headers) == {
        "returns": "yeko_sql.yeko.domain.schools.School",
        "nullable": "closed_at, note",
        "notnull": "name",
        "budget": "50ms",
        "explain": "seqscan schools (a few rows per tenant)",
        "tenant": "any: schools are the tenants themselves",
        "timeout": "2s",
        "role": "yeko_platform",
    }
    assert spec.header_lines["timeout"] == 8
    assert spec.header_lines["role"] == 9


def test_comment_lines_after_the_last_sql_line_belong_to_the_file() -> None:
    specs = parse("""
        -- name: count_schools :scalar
        SELECT count(*) -- every school
        FROM schools; /* a comment
        that ends here */

        -- Section: writes.

        -- name: archive_school :execrows
        UPDATE schools SET status = 'archived' WHERE id = :id;
    """)
    assert specs[0].body == (
        "SELECT count(*) -- every school\nFROM schools; /* a comment\nthat ends here */"
    )


def test_blank_lines_and_comments_above_the_sql_start_the_body() -> None:
    [spec] = parse("""
        -- name: count_schools :scalar
        -- Doc.

        -- How many there are.
            SELECT count(*) FROM schools
    """)
    assert spec.body_line == 4
    assert spec.body == "-- How many there are.\n    SELECT count(*) FROM schools"
    assert spec.doc == "Doc."


def test_a_name_line_inside_sql_text_is_not_a_header() -> None:
    [spec] = parse("""
        -- name: get_text :scalar
        SELECT '
        -- name: fake :one
        ', $$
        -- name: fake_too :one
        $$ /*
        -- name: fake_three :one
        */
    """)
    assert spec.name == "get_text"


def test_windows_line_ends_are_read() -> None:
    [spec] = parse_file("-- name: get_one :one\r\n-- Doc.\r\nSELECT 1;\r\n", "a.sql")
    assert (spec.doc, spec.body, spec.body_line) == ("Doc.", "SELECT 1;", 3)


def test_the_namespace_can_be_given() -> None:
    [spec] = parse_file("-- name: get_one :one\nSELECT 1", "<memory>", namespace="x")
    assert spec.namespace == "x"


def test_a_begin_atomic_body_is_one_statement() -> None:
    [spec] = parse("""
        -- name: create_function :exec
        CREATE FUNCTION one() RETURNS int LANGUAGE sql
        BEGIN ATOMIC SELECT 1; END;
    """)
    assert spec.body.endswith("END;")


def test_every_sqlc_only_kind_is_refused_with_a_way_out() -> None:
    for kind in sorted(SQLC_KINDS):
        with pytest.raises(QueryFileError) as caught:
            parse(f"-- name: q :{kind}\nSELECT 1;\n")
        assert (
            caught.value.problem == f"sqlc's ':{kind}' is not supported for query 'q'"
        )
        assert caught.value.hint


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("-- name:", "query has no name"),
        ("-- name: :one", "query has no name"),
        ("-- name: getSchool :one", "query name 'getSchool' is not snake_case"),
        ("-- name: import :one", "query name 'import' is not snake_case"),
        ("-- name: get_school", "query 'get_school' has no kind"),
        ("-- name: get_school one", "unexpected 'one' after query 'get_school'"),
        ("-- name: get_school :one x", "unexpected ':one x' after query 'get_school'"),
    ],
)
def test_malformed_name_lines_are_refused(line: str, problem: str) -> None:
    with pytest.raises(HeaderError) as caught:
        parse(f"-- File doc.\n{line}\nSELECT 1;\n")
    assert (caught.value.line, caught.value.problem) == (2, problem)


def test_a_camel_case_name_gets_a_snake_case_suggestion() -> None:
    with pytest.raises(HeaderError) as caught:
        parse("-- name: GetSchoolByCode :one\nSELECT 1;\n")
    assert caught.value.hint == "rename it 'get_school_by_code'"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("-- timeout: 2", "'-- timeout:' '2' is not a positive duration"),
        ("-- budget: 0ms", "'-- budget:' '0ms' is not a positive duration"),
        ("-- tenant: any", "'-- tenant: any' gives no reason"),
        ("-- tenant: any:", "'-- tenant: any:' gives no reason"),
        ("-- nullable: a, b c", "'-- nullable:' column 'b c' is not a column name"),
        ("-- notnull: a, a", "'-- notnull:' names a column twice"),
        ("-- returns: my-struct", "'-- returns: my-struct' is not a Struct name"),
        ("-- returns:", "header key 'returns' has no value"),
        ("-- role:", "header key 'role' has no value"),
        ("-- role: Yeko App", "'-- role: Yeko App' is not a role name"),
        ("-- role: yeko-app", "'-- role: yeko-app' is not a role name"),
        ("-- role: " + "r" * 64, f"'-- role: {'r' * 64}' is not a role name"),
        ("-- role: public", "'-- role: public' names no role a query can run as"),
        ("-- role: current_user", "'-- role: current_user' names no role"),
        ("-- role: pg_read_all_data", "'-- role: pg_read_all_data' names no role"),
    ],
)
def test_header_values_are_checked(header: str, problem: str) -> None:
    with pytest.raises(HeaderError) as caught:
        parse(f"-- name: list_schools :many\n-- Doc.\n{header}\nSELECT 1;\n")
    assert caught.value.line == 3
    assert caught.value.problem.startswith(problem)


def test_a_bad_role_is_a_load_error_at_its_file_and_line() -> None:
    with pytest.raises(HeaderError) as caught:
        parse("-- name: q :many\n-- Doc.\n-- role: Platform\nSELECT 1;\n")
    assert str(caught.value) == (
        "sql/schools.sql:3: '-- role: Platform' is not a role name; write a"
        " PostgreSQL role name such as yeko_platform, or 'owner' for the schema owner"
    )


@pytest.mark.parametrize("role", ["yeko_platform", "owner", "_svc$1", "r" * 63])
def test_a_role_name_is_kept(role: str) -> None:
    [spec] = parse(f"-- name: q :many\n-- role: {role}\nSELECT 1;\n")
    assert spec.headers["role"] == role


def test_a_column_cannot_be_both_nullable_and_notnull() -> None:
    with pytest.raises(HeaderError) as caught:
        parse("-- name: q :many\n-- nullable: a, b\n-- notnull: b\nSELECT 1;\n")
    assert (caught.value.line, caught.value.problem) == (
        3,
        "column 'b' is both nullable and notnull",
    )


@pytest.mark.parametrize(
    ("kind", "header"),
    [
        ("exec", "returns: School"),
        ("execrows", "nullable: a"),
        ("scalar", "returns: School"),
    ],
)
def test_row_headers_on_queries_without_rows_are_refused(
    kind: str, header: str
) -> None:
    with pytest.raises(HeaderError) as caught:
        parse(f"-- name: q :{kind}\n-- {header}\nSELECT 1;\n")
    assert caught.value.line == 2


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("2s", 2.0), ("1.5 min", 90.0), ("1h", 3600.0), ("5us", 5e-6)],
)
def test_durations_read_their_unit(text: str, seconds: float) -> None:
    assert parse_duration(text) == datetime.timedelta(seconds=seconds)


def test_a_duration_needs_a_unit() -> None:
    with pytest.raises(ValueError, match="not a positive duration"):
        parse_duration("250")


def test_replica_ok_marks_a_read_a_replica_may_serve() -> None:
    [spec] = parse("""
        -- name: count_schools :scalar
        -- replica: ok
        SELECT count(*) FROM schools;
    """)
    assert spec.headers["replica"] == "ok"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("-- name: x :many\n-- replica: yes", "'-- replica: yes' is not 'ok'"),
        ("-- name: x :exec\n-- replica: ok", "it returns no rows"),
    ],
)
def test_a_bad_replica_header_is_refused(header: str, problem: str) -> None:
    with pytest.raises(HeaderError, match=problem):
        parse_file(header + "\nSELECT 1;\n", "sql/x.sql")


@pytest.mark.parametrize(
    ("line", "wanted"),
    [
        ("-- Returns: Student", "-- returns: Student"),
        ("-- returns : Student", "-- returns: Student"),
        ("-- RETURNS: Student", "-- returns: Student"),
        ("-- budget 10ms", "-- budget: 10ms"),
        ("-- Budget 10ms", "-- budget: 10ms"),
        ("-- timeout 2s", "-- timeout: 2s"),
        ("-- role yeko_platform", "-- role: yeko_platform"),
        ("-- notnull name", "-- notnull: name"),
        ("-- Retuns: Student", "-- returns: Student"),
        ("-- retuns: Student", "-- returns: Student"),
        ("-- tenant any: a platform report", "-- tenant: any: a platform report"),
    ],
)
def test_a_header_key_written_wrong_is_a_load_error_with_the_fix(
    line: str, wanted: str
) -> None:
    with pytest.raises(HeaderError) as caught:
        parse_file(f"-- name: get_x :one\n{line}\nSELECT 1 AS name;\n", "sql/x.sql")
    assert str(caught.value).startswith("sql/x.sql:2: ")
    assert wanted in str(caught.value)


@pytest.mark.parametrize(
    "line",
    [
        "-- Returns the school of a class.",
        "-- returns the school of a class",
        "-- Note: the id is a nanoid.",
        "-- Budget owners read this nightly.",
        "-- explain why it is slow",
        "-- Timeouts are the caller's.",
        "-- Role of the caller: any.",
    ],
)
def test_sentences_that_start_with_a_key_word_stay_documentation(line: str) -> None:
    [spec] = parse_file(f"-- name: get_x :one\n{line}\nSELECT 1;\n", "sql/x.sql")
    assert spec.doc == line[3:]


def test_line_numbers_come_from_one_index_of_the_file() -> None:
    queries = "\n".join(
        f"-- name: q_{i} :one\n-- Doc.\n\nSELECT {i};\n" for i in range(300)
    )
    specs = parse_file(queries, "sql/many.sql")
    assert [s.line for s in specs] == [1 + 5 * i for i in range(300)]
    assert [s.body_line for s in specs] == [4 + 5 * i for i in range(300)]
