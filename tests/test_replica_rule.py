"""check's ``replica`` rule: a ``-- replica: ok`` query only reads."""

import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.query.loader import load_queries
from yeko_sql.verify._catalog import load_catalog
from yeko_sql.verify._tree import parse_query
from yeko_sql.verify.rules import Violation, lint


def violations(sql_dir: SqlDir, conn: psycopg.Connection, body: str) -> list[Violation]:
    sql_dir.write("q.sql", f"-- name: read_it :many\n-- replica: ok\n{body}\n")
    [query] = load_queries(sql_dir.path)
    catalog = load_catalog(conn, tenant_column=None)
    return [v for v in lint(query, parse_query(query), catalog) if v.rule == "replica"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "INSERT INTO grades (id, code, name, level, sort_order) VALUES"
            " ('g', 'c', 'n', 'primary', 1) RETURNING id;",
            "it holds an INSERT",
        ),
        (
            "WITH gone AS (DELETE FROM grades WHERE id = 'x' RETURNING id)"
            " SELECT id FROM gone;",
            "it holds a DELETE",
        ),
        (
            "UPDATE grades SET name = 'n' WHERE id = 'x' RETURNING id;",
            "it holds an UPDATE",
        ),
        ("SELECT id FROM grades FOR UPDATE;", "it locks rows"),
        ("SELECT id FROM grades FOR SHARE SKIP LOCKED;", "it locks rows"),
        ("SELECT nextval('hc_seq') AS n;", "nextval(), which changes state"),
        ("SELECT set_config('x.y', 'z', true) AS v;", "set_config()"),
        ("SELECT pg_try_advisory_lock(1) AS got;", "pg_try_advisory_lock()"),
        ("SELECT bump() AS n;", "bump(), a VOLATILE function"),
    ],
)
def test_a_replica_query_that_writes_or_locks_is_a_problem(
    sql_dir: SqlDir, pg: psycopg.Connection, body: str, problem: str
) -> None:
    pg.execute("CREATE SEQUENCE hc_seq")
    pg.execute("CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    [found] = violations(sql_dir, pg, body)
    assert problem in found.problem
    assert "remove '-- replica: ok'" in found.hint


@pytest.mark.parametrize(
    "body",
    [
        "SELECT id, name FROM grades ORDER BY sort_order;",
        "SELECT count(*) AS n, now() AS at, random() AS r FROM grades;",
        "WITH g AS (SELECT id FROM grades) SELECT id FROM g;",
        "SELECT twice(2) AS n;",
    ],
)
def test_reads_pass(sql_dir: SqlDir, pg: psycopg.Connection, body: str) -> None:
    pg.execute(
        "CREATE FUNCTION twice(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1*2'"
    )
    assert violations(sql_dir, pg, body) == []
