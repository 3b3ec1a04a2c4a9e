"""``check --citus``: the schema and queries as a Citus cluster sharded by school_id.

Citus is not installed here: the rule reads the plain schema and each
query's tree, and is held to what Citus documents (router queries pin the
distribution column to one constant or parameter; foreign keys between
distributed tables include it; a reference table may not point at a
distributed one).
"""

from __future__ import annotations

import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.cli.main import main
from yeko_sql.query.loader import load_queries
from yeko_sql.verify.citus import QueryRoute, citus_connection, format_citus
from yeko_sql.yeko.resources import load_yeko_queries


def route_of(sql_dir: SqlDir, conn: psycopg.Connection, body: str) -> QueryRoute:
    sql_dir.write("q.sql", f"-- name: it :many\n{body}\n")
    report = citus_connection(
        load_queries(sql_dir.path), conn, tenant_column="school_id"
    )
    [route] = report.routes
    return route


def test_yeko_is_ready_but_for_its_unique_keys(pg: psycopg.Connection) -> None:
    report = citus_connection(load_yeko_queries(), pg, tenant_column="school_id")
    assert report.distributed == [
        "classes",
        "enrollments",
        "fee_structures",
        "marks",
        "payments",
        "school_years",
        "students",
        "terms",
        "user_schools",
    ]
    assert {"schools", "users", "grades", "subjects"} <= set(report.reference)
    assert "yoyo_lock" in report.local
    assert [u.split(":")[0] for u in report.undistributable] == ["jobs"]
    assert report.key_exceptions == []
    assert report.exceptions == []
    assert report.ok
    routes = {r.query: r.route for r in report.routes}
    assert routes["students.get_student"] == "router"
    assert routes["enrollments.list_class_enrollments"] == "router"
    assert routes["schools.list_schools"] == "reference"  # schools is replicated
    assert routes["analytics.list_top_debtors"] == "router"
    assert routes["school_years.count_template_school_years"] == "all-shards"
    # The primary keys are on id alone: Citus needs school_id in each.
    assert "students: primary key students_pkey (id) lacks school_id" in (
        report.unique_blockers
    )
    shown = format_citus(report)
    assert "0 exception(s)" in shown
    assert "distributed (9)" in shown


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            "SELECT id FROM students WHERE school_id = ANY(:school_ids);",
            "'students' is not pinned to one shard",
        ),
        (
            "SELECT id FROM students WHERE school_id IN (:one, :other);",
            "'students' is not pinned to one shard",
        ),
        (
            "SELECT id FROM students"
            " WHERE school_id = current_setting('yeko.school_id');",
            "'students' is not pinned to one shard",
        ),
        (
            "SELECT s.id FROM students AS s"
            " JOIN enrollments AS e ON e.school_id = :other AND e.student_id = s.id"
            " WHERE s.school_id = :school_id;",
            "pinned to several parameters ($1, $2)",
        ),
        (
            "SELECT s.id FROM unnest(:school_ids::text[]) AS u (school_id)"
            " JOIN students AS s ON s.school_id = u.school_id;",
            "'students AS s' is not pinned to one shard",
        ),
        (
            "SELECT id FROM students WHERE school_id = :school_id"
            " UNION ALL SELECT id FROM students WHERE matricule = :matricule;",
            "'students' is not pinned to one shard",
        ),
    ],
)
def test_queries_that_span_shards_are_exceptions(
    sql_dir: SqlDir, pg: psycopg.Connection, body: str, why: str
) -> None:
    route = route_of(sql_dir, pg, body)
    assert route.route == "multi-shard"
    assert any(why in reason for _, reason in route.reasons), route.reasons


@pytest.mark.parametrize(
    "body",
    [
        "SELECT id FROM students WHERE school_id = :school_id AND id = :id;",
        "SELECT id FROM students WHERE school_id IN (:school_id);",
        "SELECT s.id, c.name FROM students AS s"
        " JOIN enrollments AS e ON e.school_id = s.school_id AND e.student_id = s.id"
        " JOIN classes AS c ON c.school_id = e.school_id AND c.id = e.class_id"
        " JOIN grades AS g ON g.id = c.grade_id"  # a reference table joins anywhere
        " WHERE s.school_id = :school_id;",
        "WITH mine AS (SELECT id, school_id FROM classes WHERE school_id = :school_id)"
        " SELECT e.id FROM enrollments AS e"
        " JOIN mine ON mine.school_id = e.school_id AND mine.id = e.class_id;",
        "INSERT INTO terms (id, school_id, school_year_id, name, sort_order,"
        " starts_on, ends_on) VALUES (:id, :school_id, :year, 'T1', 1,"
        " '2026-09-01', '2026-12-20') RETURNING id;",
    ],
)
def test_queries_pinned_to_one_school_are_router_queries(
    sql_dir: SqlDir, pg: psycopg.Connection, body: str
) -> None:
    route = route_of(sql_dir, pg, body)
    assert (route.route, route.reasons) == ("router", ())


def test_a_declared_cross_school_query_spans_shards_by_design(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    route = route_of(
        sql_dir,
        pg,
        "-- tenant: any: counts every school\n"
        "-- role: owner\n"
        "SELECT school_id, count(*) AS n FROM students GROUP BY school_id;",
    )
    assert route.route == "all-shards"
    assert route.reasons == ((2, "any: counts every school"),)


def test_foreign_keys_that_split_a_row_from_its_parent_are_exceptions(
    pg: psycopg.Connection,
) -> None:
    pg.execute(
        "CREATE TABLE notes (id text PRIMARY KEY,"
        " school_id text NOT NULL REFERENCES schools (id),"
        " student_id text NOT NULL REFERENCES students (id))"
    )
    pg.execute(
        "CREATE TABLE badges (id int PRIMARY KEY,"
        " student_id text REFERENCES students (id))"
    )
    report = citus_connection([], pg, tenant_column="school_id")
    assert "notes" in report.distributed
    assert "badges" in report.reference
    assert not report.ok
    found = "\n".join(report.key_exceptions)
    assert "notes.notes_student_id_fkey (student_id) -> students (id)" in found
    assert "without school_id = school_id" in found
    assert "the reference table badges points at the distributed students" in found


def test_the_cli_fails_on_an_exception(
    sql_dir: SqlDir, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sql_dir.write(
        "q.sql",
        "-- name: list_many :many\n"
        "SELECT id FROM students WHERE school_id = ANY(:school_ids::text[]);\n",
    )
    argv = ["check", "--citus", "--database-url", database_url, str(sql_dir.path)]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "1 exception(s)" in out
    assert "q.sql:2: q.list_many spans shards: 'students' is not pinned" in out
