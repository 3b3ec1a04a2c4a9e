"""Nullability through stars (``*``, ``t.*``) and through views' definitions.

A star is judged column by column, as if written out; a view's column by the
expression its stored definition gives it, like a subquery's.
"""

import psycopg

from tests.fix_sqlfiles import SqlDir
from yeko_sql.query.loader import load_queries
from yeko_sql.verify.describe import ColumnInfo, describe_connection


def columns(sql_dir: SqlDir, pg: psycopg.Connection, sql: str) -> list[ColumnInfo]:
    sql_dir.write("q.sql", f"-- name: list_rows :many\n{sql}\n")
    [query] = describe_connection(load_queries(sql_dir.path), pg).queries
    assert query.error is None, query.error
    return list(query.columns)


def nullable(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str
) -> list[tuple[str, bool]]:
    return [(c.name, c.nullable) for c in columns(sql_dir, pg, sql)]


SCHOOLS = [
    ("id", False),
    ("name", False),
    ("code", False),
    ("status", False),
    ("city", True),
    ("address", True),
    ("phone", True),
    ("email", True),
    ("settings", False),
    ("created_at", False),
    ("updated_at", False),
]


def test_a_star_of_a_table_follows_each_column(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    # Passed before too: PostgreSQL names each column's table column.
    found = columns(sql_dir, pg, "SELECT * FROM schools")
    assert [(c.name, c.nullable) for c in found] == SCHOOLS
    assert found[1].why == "schools.name is NOT NULL"
    assert found[4].why == "schools.city allows NULL"


def test_a_star_followed_by_an_expression(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    # Failed before: the analysis stopped at the star, so `shout` was nullable.
    found = columns(
        sql_dir, pg, "SELECT *, upper(name) AS shout, city || '!' AS cry FROM schools"
    )
    assert [(c.name, c.nullable) for c in found] == [
        *SCHOOLS,
        ("shout", False),
        ("cry", True),
    ]
    assert found[-2].why.startswith("upper() of NOT NULL arguments")


def test_a_qualified_star_of_the_nullable_side_of_a_left_join(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    # Passed before (the plan marks the nullable side); `letters` did not.
    found = nullable(
        sql_dir,
        pg,
        """
        SELECT c.name AS class_name, se.*, char_length(c.name) AS letters
        FROM classes AS c
        LEFT JOIN series AS se ON se.id = c.series_id
        """,
    )
    assert found[0] == ("class_name", False)
    assert found[-1] == ("letters", False)
    assert len(found) > 3
    assert all(is_nullable for _, is_nullable in found[1:-1])


def test_a_star_of_a_cte_and_of_a_subquery(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    # Failed before: expression columns behind a star were nullable.
    cte = nullable(
        sql_dir,
        pg,
        """
        WITH named AS (
            SELECT id, char_length(name) AS letters, lower(city) AS town
            FROM schools
        )
        SELECT * FROM named
        """,
    )
    assert cte == [("id", False), ("letters", False), ("town", True)]
    subquery = nullable(
        sql_dir,
        pg,
        """
        SELECT s.*, 1 AS one
        FROM (SELECT *, upper(code) AS shout FROM schools) AS s
        """,
    )
    assert subquery == [*SCHOOLS, ("shout", False), ("one", False)]


def test_a_star_over_a_join_of_a_table_and_a_subquery(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    # Failed before: `total` (behind the star) was nullable.
    found = nullable(
        sql_dir,
        pg,
        """
        SELECT *
        FROM tracks AS t
        CROSS JOIN (SELECT count(*) AS total FROM schools) AS n
        """,
    )
    assert found[-1] == ("total", False)


def test_a_view_over_a_not_null_column_is_not_null(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    # Failed before: a view's columns were all taken as nullable.
    pg.execute(
        "CREATE VIEW school_names AS"
        " SELECT id, name, upper(code) AS shout, city FROM schools"
    )
    found = columns(
        sql_dir,
        pg,
        "SELECT v.name, v.shout, v.city, lower(v.name) AS low FROM school_names AS v",
    )
    assert [(c.name, c.nullable) for c in found] == [
        ("name", False),
        ("shout", False),
        ("city", True),
        ("low", False),
    ]
    assert found[0].why == "view school_names.name: schools.name is NOT NULL"
    assert found[1].why.startswith("view school_names.shout: upper() of NOT NULL")
    assert found[0].source_table == "school_names"


def test_a_view_with_an_outer_join(sql_dir: SqlDir, pg: psycopg.Connection) -> None:
    # Before: series_code was nullable (right) but class_name too (wrong).
    pg.execute(
        """
        CREATE VIEW class_series AS
        SELECT c.name AS class_name, se.code AS series_code
        FROM classes AS c
        LEFT JOIN series AS se ON se.id = c.series_id
        """
    )
    found = nullable(sql_dir, pg, "SELECT * FROM class_series")
    assert found == [("class_name", False), ("series_code", True)]
    # The view on the nullable side of the query's own outer join.
    outer = nullable(
        sql_dir,
        pg,
        """
        SELECT s.id, v.class_name
        FROM schools AS s
        LEFT JOIN class_series AS v ON v.class_name = s.name
        """,
    )
    assert outer == [("id", False), ("class_name", True)]


def test_a_view_over_a_view(sql_dir: SqlDir, pg: psycopg.Connection) -> None:
    # Failed before: both views' columns were nullable.
    pg.execute("CREATE VIEW active_schools AS SELECT * FROM schools")
    pg.execute(
        "CREATE VIEW school_labels AS"
        " SELECT id, name || ' (' || code || ')' AS label, city FROM active_schools"
    )
    found = columns(sql_dir, pg, "SELECT * FROM school_labels")
    assert [(c.name, c.nullable) for c in found] == [
        ("id", False),
        ("label", False),
        ("city", True),
    ]
    assert found[0].why == "view school_labels.id: schools.id is NOT NULL"


def test_a_materialized_view_is_read_through_its_definition(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    # Failed before: a materialized view's columns were nullable.
    pg.execute(
        "CREATE MATERIALIZED VIEW school_counts AS"
        " SELECT status, count(*) AS total, max(city) AS a_city"
        " FROM schools GROUP BY status"
    )
    found = nullable(sql_dir, pg, "SELECT * FROM school_counts")
    assert found == [("status", False), ("total", False), ("a_city", True)]


def test_returning_a_star_and_an_expression(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    # Failed before: `shout`, after the star, was nullable.
    found = nullable(
        sql_dir,
        pg,
        "UPDATE schools SET city = NULL WHERE id = :id"
        " RETURNING *, upper(name) AS shout",
    )
    assert found == [*SCHOOLS, ("shout", False)]


def test_a_star_of_a_join_using_puts_the_merged_columns_first(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    # Failed before: `shout`, after the star, was nullable.
    found = nullable(
        sql_dir,
        pg,
        """
        SELECT *, upper(t.name) AS shout
        FROM tracks AS t
        LEFT JOIN series AS s USING (id, name)
        """,
    )
    assert found == [
        ("id", False),
        ("name", False),
        ("code", False),
        ("created_at", False),
        ("updated_at", False),
        ("track_id", True),
        ("code", True),
        ("created_at", True),
        ("updated_at", True),
        ("shout", False),
    ]
    full = nullable(
        sql_dir,
        pg,
        "SELECT *, 1 AS one FROM tracks AS t FULL JOIN series AS s USING (id)",
    )
    assert full[0] == ("id", True)  # coalesce of two nullable sides
    assert full[-1] == ("one", False)
    assert len(full) == 1 + 4 + 5 + 1


def test_stars_of_ctes_that_shadow_or_reference_themselves_end(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    shadow = nullable(
        sql_dir,
        pg,
        "WITH schools AS (SELECT * FROM schools) SELECT *, 1 AS one FROM schools",
    )
    assert shadow[-1] == ("one", False)
    recursive = nullable(
        sql_dir,
        pg,
        """
        WITH RECURSIVE r AS (
            SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3
        )
        SELECT *, 2 AS two FROM r
        """,
    )
    assert recursive[-1] == ("two", False)


def test_the_columns_after_a_star_keep_their_own_lines(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = columns(
        sql_dir, pg, "SELECT t.*,\n    upper(t.name) AS shout\nFROM tracks AS t"
    )
    assert [c.line for c in found] == [2] * 5 + [3]
