import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.query.loader import load_queries
from yeko_sql.verify.describe import ColumnInfo, describe_connection
from yeko_sql.verify.nullability import OuterJoins


def columns(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str, header: str = ""
) -> dict[str, ColumnInfo]:
    sql_dir.write("q.sql", f"-- name: list_rows :many\n{header}{sql}\n")
    [query] = describe_connection(load_queries(sql_dir.path), pg).queries
    assert query.error is None, query.error
    return {c.name: c for c in query.columns}


def nullable(sql_dir: SqlDir, pg: psycopg.Connection, sql: str) -> dict[str, bool]:
    return {name: c.nullable for name, c in columns(sql_dir, pg, sql).items()}


def test_the_nullable_side_of_a_left_join_is_nullable(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = columns(
        sql_dir,
        pg,
        """
        SELECT c.name, g.name AS grade_name, se.code AS series_code
        FROM classes AS c
        JOIN grades AS g ON g.id = c.grade_id
        LEFT JOIN series AS se ON se.id = c.series_id
        """,
    )
    assert not found["name"].nullable
    assert not found["grade_name"].nullable
    assert found["series_code"].nullable
    assert found["series_code"].why == (
        "outer join: se.code is on the nullable side of a LEFT JOIN"
    )
    assert found["series_code"].source_table == "series"


def test_right_and_full_joins_make_the_other_sides_nullable(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    right = nullable(
        sql_dir,
        pg,
        "SELECT c.name, g.code FROM classes AS c RIGHT JOIN grades AS g"
        " ON g.id = c.grade_id",
    )
    assert right == {"name": True, "code": False}
    full = nullable(
        sql_dir,
        pg,
        "SELECT c.name, g.code FROM classes AS c FULL JOIN grades AS g"
        " ON g.id = c.grade_id",
    )
    assert full == {"name": True, "code": True}


def test_a_left_join_the_planner_reduces_to_an_inner_join_stays_not_null(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = nullable(
        sql_dir,
        pg,
        """
        SELECT c.name, g.name AS grade_name
        FROM classes AS c
        LEFT JOIN grades AS g ON g.id = c.grade_id
        WHERE g.code = :code
        """,
    )
    assert found == {"name": False, "grade_name": False}


def test_columns_of_a_left_join_lateral_subquery_are_nullable(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = nullable(
        sql_dir,
        pg,
        """
        SELECT s.id, cur.class_id, cur.headcount
        FROM students AS s
        LEFT JOIN LATERAL (
            SELECT e.class_id, count(*) AS headcount
            FROM enrollments AS e
            WHERE e.student_id = s.id
            GROUP BY e.class_id
            LIMIT 1
        ) AS cur ON true
        """,
    )
    assert found == {"id": False, "class_id": True, "headcount": True}


def test_aggregates_counts_and_coalesce(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = nullable(
        sql_dir,
        pg,
        """
        SELECT count(*) AS n, count(city) AS cities, max(created_at) AS newest,
               coalesce(max(city), '') AS some_city,
               coalesce(max(city), :fallback) AS maybe_city,
               EXISTS (SELECT 1 FROM users) AS any_user,
               count(*) OVER () AS total_count
        FROM schools
        """,
    )
    assert found == {
        "n": False,
        "cities": False,
        "newest": True,  # an empty table has no max
        "some_city": False,
        "maybe_city": True,
        "any_user": False,
        "total_count": False,
    }


def test_aggregates_of_not_null_columns_per_group_are_not_null(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = nullable(
        sql_dir,
        pg,
        """
        SELECT status, max(created_at) AS newest, max(city) AS a_city,
               sum(char_length(name)) FILTER (WHERE city IS NULL) AS letters
        FROM schools
        GROUP BY status
        """,
    )
    assert found == {"status": False, "newest": False, "a_city": True, "letters": True}


def test_expressions_over_not_null_operands(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = nullable(
        sql_dir,
        pg,
        """
        SELECT name || ' (' || code || ')' AS label, lower(name) AS lowered,
               name || city AS with_city, 42 AS answer, NULL::text AS nothing,
               :code::text AS echoed, settings -> 'lang' AS lang,
               CASE WHEN city IS NULL THEN 'none' ELSE 'some' END AS has_city,
               CASE WHEN city IS NULL THEN 'none' END AS no_else,
               nullif(name, '') AS named
        FROM schools
        """,
    )
    assert found == {
        "label": False,
        "lowered": False,
        "with_city": True,
        "answer": False,
        "nothing": True,
        "echoed": True,
        "lang": True,
        "has_city": False,
        "no_else": True,
        "named": True,
    }


def test_columns_read_through_ctes_and_subqueries(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = nullable(
        sql_dir,
        pg,
        """
        WITH per_status AS (
            SELECT status, count(*) AS total
            FROM schools
            GROUP BY status
        )
        SELECT p.status, p.total + 1 AS next_total, c.classes
        FROM per_status AS p
        CROSS JOIN LATERAL (SELECT count(*) AS classes FROM classes) AS c
        """,
    )
    assert found == {"status": False, "next_total": False, "classes": False}


def test_grouping_sets_leave_grouped_columns_null_in_subtotals(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = columns(
        sql_dir,
        pg,
        """
        SELECT status, code, count(*) AS n
        FROM schools
        GROUP BY status, ROLLUP (code)
        """,
    )
    assert not found["status"].nullable
    assert found["code"].nullable
    assert found["code"].why == "GROUPING SETS leave it NULL in subtotal rows"


def test_a_union_column_is_not_null_only_when_every_arm_is(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = nullable(
        sql_dir,
        pg,
        """
        SELECT id, name FROM tracks
        UNION ALL
        SELECT id, city FROM schools
        """,
    )
    assert found == {"id": False, "name": True}


def test_header_keys_override_inference(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = columns(
        sql_dir,
        pg,
        "SELECT name, :code::text AS code FROM schools",
        header="-- notnull: code\n-- nullable: name\n",
    )
    assert (found["code"].nullable, found["code"].why) == (
        False,
        "'-- notnull:' in the header",
    )
    assert (found["name"].nullable, found["name"].why) == (
        True,
        "'-- nullable:' in the header",
    )


def test_returning_columns_trace_to_the_table(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    sql_dir.write(
        "q.sql",
        """
        -- name: update_school_city :one
        UPDATE schools SET city = :city WHERE id = :id
        RETURNING id, city, updated_at;
        """,
    )
    [query] = describe_connection(load_queries(sql_dir.path), pg).queries
    assert [(c.name, c.nullable) for c in query.columns] == [
        ("id", False),
        ("city", True),
        ("updated_at", False),
    ]


def plan_of(join: str) -> dict[str, object]:
    """A join of ``a`` (the outer child) and ``b`` (the inner child)."""
    return {
        "Plan": {
            "Node Type": "Hash Join",
            "Join Type": join,
            "Output": ["a.x", "(b.y)", "(a.x + 1)"],
            "Plans": [
                {"Parent Relationship": "Outer", "Alias": "a", "Output": ["a.x"]},
                {
                    "Parent Relationship": "Inner",
                    "Node Type": "Hash",
                    "Output": ["b.y"],
                    "Plans": [{"Alias": "b", "Output": ["b.y", "b.z"]}],
                },
            ],
        }
    }


@pytest.mark.parametrize(
    ("join", "marked"),
    [
        ("Inner", [False, False, False]),
        ("Left", [False, True, False]),
        ("Right", [True, False, False]),
        ("Full", [True, True, False]),
    ],
)
def test_the_plan_walk_marks_outputs_of_the_nullable_child(
    join: str, marked: list[bool]
) -> None:
    joins = OuterJoins(plan_of(join))
    assert [joins.column(i) is not None for i in range(3)] == marked


def test_a_relation_scanned_under_the_nullable_side_is_nullable() -> None:
    joins = OuterJoins(plan_of("Left"))
    assert set(joins.aliases) == {"b"}
    assert joins.column(1) == "b.y is on the nullable side of a LEFT JOIN"
