import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.loader import load_queries
from yeko_sql.pgcatalog import load_catalog
from yeko_sql.rules import RULES, Violation, lint
from yeko_sql.sqlast import parse_query


def violations(sql_dir: SqlDir, pg: psycopg.Connection, text: str) -> list[Violation]:
    sql_dir.write("q.sql", text)
    [query] = load_queries(sql_dir.path)
    return lint(query, parse_query(query), load_catalog(pg))


def rules_broken(sql_dir: SqlDir, pg: psycopg.Connection, text: str) -> list[str]:
    return [v.rule for v in violations(sql_dir, pg, text)]


def test_every_rule_has_a_name() -> None:
    assert list(RULES) == ["unique-key", "tenant", "no-star", "stable-order", "where"]


# unique-key


def test_unique_key_fires_for_a_one_query_on_a_non_unique_column(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [violation] = violations(
        sql_dir,
        pg,
        "-- name: find_school_by_city :opt\n"
        "SELECT id FROM schools WHERE city = :city;\n",
    )
    assert violation.rule == "unique-key"
    assert violation.line == 1
    assert violation.message() == (
        "rule unique-key: :opt query 'find_school_by_city' may return several rows:"
        " no unique key is compared with '=' for 'schools' (keys: schools_pkey (id),"
        " schools_code_key (code)); compare every column of a primary or unique key,"
        " or end with LIMIT 1"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM schools WHERE code = :code",
        "SELECT id FROM schools WHERE code = upper(:code)",
        "SELECT id FROM schools WHERE city = :city ORDER BY id LIMIT 1",
        "SELECT count(*) FROM schools WHERE city = :city",
        "SELECT now() AS at",
        "INSERT INTO tracks (id, name, code) VALUES (:id, :name, :code) RETURNING id",
        "UPDATE tracks SET name = :name WHERE id = :id RETURNING id",
        # joined rows pinned through the key of a pinned row
        "SELECT c.id, g.name FROM classes AS c JOIN grades AS g ON g.id = c.grade_id"
        " WHERE c.id = :id AND c.school_id = :school_id",
        # a partial unique index, with its predicate repeated
        "SELECT id FROM school_years WHERE school_id = :school_id"
        " AND status = 'active'",
        # a NULLS NOT DISTINCT key matched with IS NOT DISTINCT FROM
        "SELECT id FROM coefficient_templates WHERE school_year_template_id = :t"
        " AND grade_id = :g AND series_id IS NOT DISTINCT FROM :s::text"
        " AND subject_id = :subject",
    ],
)
def test_unique_key_passes_when_one_row_is_proven(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str
) -> None:
    text = f"-- name: get_row :one\n-- tenant: any: a test\n{sql};\n"
    assert rules_broken(sql_dir, pg, text) == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM schools WHERE id = ANY(:ids)",
        "SELECT id FROM school_years WHERE school_id = :school_id",  # not 'active'
        "SELECT id FROM school_years WHERE school_id = :school_id AND status = :s",
        "SELECT c.id FROM classes AS c JOIN enrollments AS e ON e.class_id = c.id"
        " WHERE c.id = :id",
        "SELECT id FROM schools WHERE code = :a OR id = :b",
        "SELECT id FROM schools UNION SELECT id FROM users",
    ],
)
def test_unique_key_fires_when_several_rows_are_possible(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str
) -> None:
    text = f"-- name: get_row :one\n-- tenant: any: a test\n{sql};\n"
    assert rules_broken(sql_dir, pg, text) == ["unique-key"]


def test_unique_key_ignores_many_queries(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    text = "-- name: list_schools :many\nSELECT id FROM schools WHERE city = :c;\n"
    assert rules_broken(sql_dir, pg, text) == []


# tenant


def test_tenant_fires_for_a_school_owned_table_without_school_id(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [violation] = violations(
        sql_dir,
        pg,
        "-- name: list_class_students :many\n"
        "SELECT e.student_id FROM enrollments AS e"
        " JOIN classes AS c ON c.id = e.class_id WHERE e.class_id = :class_id;\n",
    )
    assert violation.message() == (
        "rule tenant: query 'list_class_students' reads or writes the school-owned"
        " 'classes', 'enrollments' but compares no school_id with a parameter;"
        " add 'AND school_id = :school_id', or explain why not with"
        " '-- tenant: any: <reason>'"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM classes WHERE school_id = :school_id",
        "SELECT c.id FROM classes AS c WHERE :school_id = c.school_id",
        "SELECT id FROM classes WHERE school_id = ANY(:school_ids)",
        "SELECT id FROM classes WHERE school_id = :school_id::text",
        # a subquery that carries the scope
        "SELECT id FROM students WHERE id IN (SELECT student_id FROM enrollments"
        " WHERE school_id = :school_id)",
        "INSERT INTO terms (id, school_id, school_year_id, name, sort_order,"
        " starts_on, ends_on) VALUES (:id, :school_id, :y, :n, 1, :s, :e)",
        "SELECT id FROM tracks",  # global catalog
        "SELECT id FROM jobs",  # school_id may be NULL: not school-owned
    ],
)
def test_tenant_passes_when_school_id_is_bound(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str
) -> None:
    assert rules_broken(sql_dir, pg, f"-- name: list_rows :many\n{sql};\n") == []


def test_tenant_passes_with_a_header_that_says_why(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    text = (
        "-- name: count_all_classes :scalar\n"
        "-- tenant: any: the platform dashboard counts every school\n"
        "SELECT count(*) FROM classes;\n"
    )
    assert rules_broken(sql_dir, pg, text) == []


def test_tenant_does_not_take_a_constant_or_a_column(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    text = (
        "-- name: list_rows :many\n"
        "SELECT c.id FROM classes AS c JOIN students AS s ON s.school_id = c.school_id"
        " WHERE c.school_id = 'x';\n"
    )
    assert rules_broken(sql_dir, pg, text) == ["tenant"]


# no-star


@pytest.mark.parametrize(
    ("sql", "line"),
    [
        ("SELECT * FROM schools", 2),
        ("SELECT s.id,\n  s.* FROM schools AS s", 3),
        ("UPDATE tracks SET name = :n WHERE id = :id RETURNING *", 2),
        ("SELECT x.* FROM (SELECT 1) AS y, tracks AS x", 2),
    ],
)
def test_no_star_fires_for_a_star_over_a_table(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str, line: int
) -> None:
    [violation] = violations(sql_dir, pg, f"-- name: list_rows :many\n{sql};\n")
    assert violation.rule == "no-star"
    assert violation.line == line
    assert violation.hint == "name the columns"


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO tracks (id, name, code)"
        " SELECT * FROM unnest(:ids::text[], :names::text[], :codes::text[])",
        "WITH t AS (SELECT id, code FROM tracks) SELECT * FROM t",
        "SELECT y.* FROM (SELECT id FROM tracks) AS y",
        "SELECT count(*) FROM tracks",
    ],
)
def test_no_star_passes_for_stars_whose_columns_the_query_fixes(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str
) -> None:
    assert rules_broken(sql_dir, pg, f"-- name: list_rows :many\n{sql};\n") == []


# stable-order


def test_stable_order_fires_when_the_order_can_tie(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [violation] = violations(
        sql_dir,
        pg,
        "-- name: list_tracks :page\n"
        "SELECT id, count(*) OVER () AS total_count FROM tracks\n"
        "ORDER BY name\n"
        "LIMIT :limit OFFSET :offset;\n",
    )
    assert violation.rule == "stable-order"
    assert violation.line == 3
    assert violation.hint == "end the ORDER BY with a unique column such as id"


def test_stable_order_fires_without_an_order_by(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    text = "-- name: list_tracks :keyset\nSELECT id FROM tracks LIMIT :limit;\n"
    assert rules_broken(sql_dir, pg, text) == ["stable-order"]


@pytest.mark.parametrize(
    "order",
    [
        "name, id",
        "t.name DESC, t.id DESC",
        "code",  # a unique key of its own
        "label, track_id",  # an output alias of a unique column
    ],
)
def test_stable_order_passes_when_the_order_ends_on_a_unique_key(
    sql_dir: SqlDir, pg: psycopg.Connection, order: str
) -> None:
    text = (
        "-- name: list_tracks :page\n"
        "SELECT t.id AS track_id, t.name AS label, count(*) OVER () AS total_count\n"
        f"FROM tracks AS t ORDER BY {order} LIMIT :limit OFFSET :offset;\n"
    )
    assert rules_broken(sql_dir, pg, text) == []


def test_stable_order_counts_key_columns_fixed_by_equality(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    text = (
        "-- name: list_terms :page\n"
        "SELECT id, count(*) OVER () AS total_count FROM terms\n"
        "WHERE school_year_id = :school_year_id AND school_id = :school_id\n"
        "ORDER BY sort_order LIMIT :limit OFFSET :offset;\n"
    )
    assert rules_broken(sql_dir, pg, text) == []


# where


@pytest.mark.parametrize(
    ("sql", "verb"),
    [
        ("UPDATE tracks SET name = upper(name)", "UPDATE"),
        ("DELETE FROM tracks", "DELETE"),
        (
            "WITH gone AS (DELETE FROM tracks RETURNING id) SELECT count(*) FROM gone",
            "DELETE",
        ),
    ],
)
def test_where_fires_for_update_and_delete_without_where(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str, verb: str
) -> None:
    [violation] = violations(sql_dir, pg, f"-- name: clear_tracks :execrows\n{sql};\n")
    assert violation.rule == "where"
    assert violation.problem == f"{verb} of 'tracks' has no WHERE"


def test_where_passes_with_a_where(sql_dir: SqlDir, pg: psycopg.Connection) -> None:
    text = "-- name: delete_track :execrows\nDELETE FROM tracks WHERE id = :id;\n"
    assert rules_broken(sql_dir, pg, text) == []
