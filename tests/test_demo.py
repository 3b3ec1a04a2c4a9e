"""The demo tour runs end to end (at the tiny size; `make demo` uses the demo size)."""

import io

import psycopg

from tests.fix_server import ServerInfo
from yeko_sql.query.loader import load_queries
from yeko_sql.yeko.demo import TOUR, run_demo
from yeko_sql.yeko.roles import APP_ROLE


def test_the_demo_migrates_seeds_and_tours_every_area(empty_database_url: str) -> None:
    out = io.StringIO()
    assert run_demo(empty_database_url, out=out, size="tiny") == 0
    text = out.getvalue()
    for area, queries in TOUR:
        assert f"== {area} ==" in text
        for qualname in queries:
            assert f"\n{qualname}(" in text
    assert "== Pagination: OFFSET against keyset ==" in text
    assert "students.upsert_students: " in text
    assert "claimed by both: 0" in text


def test_the_tour_runs_each_query_as_its_role_and_the_school_queries_in_scope(
    empty_database_url: str, pg_server: ServerInfo
) -> None:
    out = io.StringIO()
    run_demo(empty_database_url, out=out, size="tiny")
    text = out.getvalue()
    assert f"the tour runs as {APP_ROLE} inside for_school(" in text
    assert "\nschools.list_schools(" in text
    assert "  as yeko_platform  " in text.split("\nschools.list_schools(")[1]
    queries = load_queries()
    toured = {q for _, names in TOUR for q in names} | {
        "students.upsert_students",
        "enrollments.list_school_year_enrollments",
        "jobs.claim_jobs",
    }
    dbname = psycopg.conninfo.conninfo_to_dict(empty_database_url)["dbname"]
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        rows = conn.execute(
            """
            SELECT substring(s.query FROM '^/\\* yeko:([a-z_.]+) \\*/'), r.rolname
            FROM pg_stat_statements AS s
            JOIN pg_roles AS r ON r.oid = s.userid
            JOIN pg_database AS d ON d.oid = s.dbid
            WHERE d.datname = %s
              AND s.query LIKE '/* yeko:%%'
            """,
            [dbname],
        ).fetchall()
    ran: dict[str, set[str]] = {}
    for tag, role in rows:
        ran.setdefault(tag, set()).add(role)
    assert {q: ran.get(q) for q in toured} == {
        q: {queries[q].role or APP_ROLE} for q in toured
    }
    assert ran["scope"] == {APP_ROLE}  # for_school ran, and only as the app role


def test_running_the_demo_again_works_and_gives_the_same_data(
    empty_database_url: str,
) -> None:
    first, second = io.StringIO(), io.StringIO()
    run_demo(empty_database_url, out=first, size="tiny")
    run_demo(empty_database_url, out=second, size="tiny")
    assert "migrations: 0 applied now" in second.getvalue()

    def counts(text: str) -> str:
        return next(line for line in text.splitlines() if line.startswith("seeded"))

    assert (
        counts(first.getvalue()).split(":", 1)[1]
        == counts(second.getvalue()).split(":", 1)[1]
    )
