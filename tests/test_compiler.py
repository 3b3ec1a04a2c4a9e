import textwrap

import msgspec
import pytest

from yeko_sql.errors import PlaceholderError
from yeko_sql.query.compiler import Query, compile_query
from yeko_sql.query.kinds import Kind
from yeko_sql.query.parser import parse_file


class School(msgspec.Struct):
    id: str


def compile_text(text: str, path: str = "sql/schools.sql") -> Query[object]:
    [spec] = parse_file(textwrap.dedent(text).removeprefix("\n"), path)
    return compile_query(spec)


LIST_SCHOOLS = """
    -- name: list_schools :page
    -- returns: SchoolSummary
    -- Schools of one status whose name matches, newest first.
    SELECT id, name, 'it''s :fake' AS x, arr[1:2], -- :fake
           count(*) OVER () AS total_count
    FROM schools
    WHERE status = :status
      AND (:search::text IS NULL OR name ILIKE '%' || :search || '%')
    ORDER BY created_at DESC, id DESC
    LIMIT :limit OFFSET :offset;
"""


def test_placeholders_become_numbered_parameters() -> None:
    query = compile_text(LIST_SCHOOLS)
    assert query.params == ("status", "search", "limit", "offset")
    assert "WHERE status = $1" in query.compiled
    assert "($2::text IS NULL OR name ILIKE '%' || $2 || '%')" in query.compiled
    assert query.compiled.endswith("LIMIT $3 OFFSET $4;")


def test_compiled_sql_equals_the_source_outside_placeholders() -> None:
    query = compile_text(LIST_SCHOOLS)
    assert query.compiled == (
        "/* yeko:schools.list_schools */ "
        "SELECT id, name, 'it''s :fake' AS x, arr[1:2], -- :fake\n"
        "       count(*) OVER () AS total_count\n"
        "FROM schools\n"
        "WHERE status = $1\n"
        "  AND ($2::text IS NULL OR name ILIKE '%' || $2 || '%')\n"
        "ORDER BY created_at DESC, id DESC\n"
        "LIMIT $3 OFFSET $4;"
    )
    assert query.sql == textwrap.dedent(LIST_SCHOOLS).split("first.\n")[1].rstrip()


def test_the_query_keeps_its_header_and_source() -> None:
    query = compile_text(LIST_SCHOOLS)
    assert (query.namespace, query.name, query.qualname) == (
        "schools",
        "list_schools",
        "schools.list_schools",
    )
    assert query.kind is Kind.PAGE
    assert (query.returns, query.returns_name) == (None, "SchoolSummary")
    assert query.doc == "Schools of one status whose name matches, newest first."
    assert query.sql.startswith("SELECT id, name,")
    assert (query.path, query.line, query.body_line) == ("sql/schools.sql", 1, 4)
    assert dict(query.headers) == {"returns": "SchoolSummary"}
    assert repr(query) == "<Query schools.list_schools :page (sql/schools.sql:1)>"


def test_a_returns_struct_is_kept() -> None:
    [spec] = parse_file("-- name: get_school :one\nSELECT :id", "sql/schools.sql")
    query = compile_query(spec, School)
    assert query.returns is School


def test_a_repeated_parameter_reuses_its_number() -> None:
    query = compile_text("-- name: q :many\nSELECT :a, :b, :a, :b::int\n")
    assert query.params == ("a", "b")
    assert query.compiled.endswith("SELECT $1, $2, $1, $2::int")


def test_a_parameter_at_the_end_of_the_file_is_compiled() -> None:
    query = compile_text("-- name: q :many\nSELECT * FROM t WHERE id = :id")
    assert query.compiled.endswith("WHERE id = $1")


def test_unicode_before_a_parameter_is_kept_intact() -> None:
    query = compile_text("-- name: q :many\nSELECT 'é😀', \"naïve\" || :p, :q\n")
    assert query.compiled.endswith("SELECT 'é😀', \"naïve\" || $1, $2")


def test_positional_sql_is_kept_with_numbered_names() -> None:
    query = compile_text("-- name: q :many\nSELECT $2, $1, '$3', $2\n")
    assert query.params == ("p1", "p2")
    assert query.compiled == "/* yeko:schools.q */ SELECT $2, $1, '$3', $2"


def test_a_query_without_parameters_takes_none() -> None:
    assert compile_text("-- name: q :exec\nVACUUM\n").params == ()


def test_mixed_placeholder_styles_are_refused_where_the_second_begins() -> None:
    with pytest.raises(PlaceholderError) as caught:
        compile_text("-- name: q :many\nSELECT :a,\n  $1\n")
    assert (caught.value.path, caught.value.line) == ("sql/schools.sql", 3)
    assert caught.value.problem == "query 'q' mixes '$1' and ':name' placeholders"


@pytest.mark.parametrize(
    ("kind", "sql", "missing"),
    [
        ("page", "SELECT 1", "'limit' or 'offset'"),
        ("page", "SELECT 1 LIMIT :limit", "'offset'"),
        ("page", "SELECT 1 LIMIT $1 OFFSET $2", "'limit' or 'offset'"),
        ("keyset", "SELECT 1 WHERE id > :after", "'limit'"),
    ],
)
def test_pages_must_take_their_parameters(kind: str, sql: str, missing: str) -> None:
    with pytest.raises(PlaceholderError) as caught:
        compile_text(f"-- Doc.\n-- name: list_x :{kind}\n{sql}\n")
    assert (caught.value.path, caught.value.line) == ("sql/schools.sql", 2)
    assert (
        caught.value.problem == f":{kind} query 'list_x' takes no {missing} parameter"
    )


def test_a_keyset_query_takes_limit_and_its_seek_parameters() -> None:
    query = compile_text(
        "-- name: list_x :keyset\n"
        "SELECT id FROM x WHERE id > :after ORDER BY id LIMIT :limit\n"
    )
    assert query.params == ("after", "limit")


def test_error_positions_map_to_lines_of_the_file() -> None:
    query = compile_text("""
        -- File doc.

        -- name: list_schools :many
        -- Doc.
        SELECT id, :name_prefix || name
        FROM schools
        WHERE nme = :status
        ORDER BY id;
    """)
    position = query.compiled.index("nme") + 1  # PostgreSQL counts from 1
    assert query.source_line(position) == 7
    assert query.source_line(str(position)) == 7
    assert query.source_line(1) == 5  # inside the tag comment
    assert query.source_line(len(query.compiled)) == 8
    assert query.source_line(10_000) == 8


def test_a_query_is_immutable() -> None:
    query = compile_text("-- name: q :exec\nSELECT 1\n")
    with pytest.raises(AttributeError):
        query.name = "other"  # type: ignore[misc]
