from pathlib import Path

import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.cli.main import main
from yeko_sql.query.loader import load_queries
from yeko_sql.verify.plans import (
    explain_query,
    format_plan_table,
    guard_queries,
    sample_params,
    stale_plans,
    write_plans,
)

QUERIES = """
-- name: get_item_by_k :opt
-- budget: 50ms
-- An item by its indexed key.
SELECT id, k, v FROM items WHERE k = :k;

-- name: list_items_by_v :many
-- budget: 50ms
-- Items by an unindexed column: a sequential scan of a big table.
SELECT id, k, v FROM items WHERE v = :v ORDER BY id;

-- name: list_items_by_v_allowed :many
-- budget: 50ms
-- explain: seqscan=items
-- The same scan, allowed by name.
SELECT id, k, v FROM items WHERE v = :v ORDER BY id;

-- name: count_items_by_k :scalar
-- budget: 50ms
-- explain: index-only
-- Answered from the index alone.
SELECT count(*) FROM items WHERE k < :k;

-- name: delete_item :execrows
-- budget: 50ms
-- Explained in a rolled-back transaction: nothing is deleted.
DELETE FROM items WHERE k = :k;

-- name: count_items :scalar
-- No budget: not guarded.
SELECT count(*) FROM items;
"""
SAMPLES = """
-- name: sample_k :scalar
SELECT k FROM items ORDER BY k LIMIT 1 OFFSET 500;

-- name: sample_v :scalar
SELECT 7;
"""


@pytest.fixture
def items(pg: psycopg.Connection, sql_dir: SqlDir) -> SqlDir:
    pg.execute(
        "CREATE TABLE items (id int PRIMARY KEY, k int NOT NULL, v int NOT NULL)"
    )
    pg.execute(
        "INSERT INTO items SELECT g, g * 2, g % 100 FROM generate_series(1, 30000) g"
    )
    pg.execute("CREATE INDEX items_k_idx ON items (k)")
    pg.execute("VACUUM ANALYZE items")
    sql_dir.write("items.sql", QUERIES)
    sql_dir.write("samples.sql", SAMPLES)
    return sql_dir


def test_budgeted_queries_are_explained_and_judged(
    items: SqlDir, database_url: str
) -> None:
    reports = {
        r.query: r
        for r in guard_queries(database_url, load_queries(items.path), runs=2)
    }
    assert set(reports) == {
        "items.get_item_by_k",
        "items.list_items_by_v",
        "items.list_items_by_v_allowed",
        "items.count_items_by_k",
        "items.delete_item",
    }
    assert reports["items.get_item_by_k"].ok
    assert "items_k_idx" in reports["items.get_item_by_k"].summary
    scan = reports["items.list_items_by_v"]
    assert not scan.ok
    assert "sequential scan of items (30,000 rows)" in scan.problems[0]
    assert reports["items.list_items_by_v_allowed"].ok
    assert reports["items.count_items_by_k"].ok
    assert "Index Only Scan" in reports["items.count_items_by_k"].shape


def test_a_query_fine_in_both_plans_passes_both(
    items: SqlDir, database_url: str
) -> None:
    reports = {
        r.query: r
        for r in guard_queries(database_url, load_queries(items.path), runs=1)
    }
    report = reports["items.get_item_by_k"]
    assert report.generic is not None
    assert report.generic.problems == []
    assert report.generic.shape == report.shape
    assert "Index Scan using items_k_idx on items" in report.generic.shape
    assert report.ok
    scan = reports["items.list_items_by_v"]
    assert scan.generic is not None
    assert "sequential scan of items" in scan.generic.problems[0]
    registry = load_queries(items.path)
    unjudged = guard_queries(database_url, registry, runs=1, generic=False)
    assert all(r.generic is None for r in unjudged)


def test_explaining_a_write_changes_nothing(
    items: SqlDir, database_url: str, pg: psycopg.Connection
) -> None:
    guard_queries(database_url, load_queries(items.path), runs=3)
    row = pg.execute("SELECT count(*) FROM items").fetchone()
    assert row == (30000,)


def test_the_generic_plan_leaves_no_prepared_statement_or_setting(
    items: SqlDir, database_url: str
) -> None:
    registry = load_queries(items.path)
    query = registry["items.delete_item"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        params = sample_params(conn, registry, query)
        report = explain_query(conn, query, params, runs=2, generic=True)
        assert report.generic is not None
        assert conn.execute(
            "SELECT count(*) FROM pg_prepared_statements"
        ).fetchone() == (0,)
        assert conn.execute("SHOW plan_cache_mode").fetchone() == ("auto",)
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (30000,)


def test_a_budget_overrun_is_a_problem(
    items: SqlDir, database_url: str, pg: psycopg.Connection
) -> None:
    items.write(
        "items.sql",
        QUERIES.replace(
            "-- budget: 50ms\n-- explain: seqscan",
            "-- budget: 1us\n-- explain: seqscan",
        ),
    )
    reports = {
        r.query: r
        for r in guard_queries(database_url, load_queries(items.path), runs=1)
    }
    report = reports["items.list_items_by_v_allowed"]
    assert "over its budget of 0.001 ms" in report.problems[0]
    assert report.generic is not None
    assert "over its budget of 0.001 ms" in report.generic.problems[0]
    assert "generic plan: median" in report.all_problems[-1]


def test_plan_shapes_are_written_beside_the_sql_and_go_stale_on_change(
    items: SqlDir, database_url: str, tmp_path: Path, pg: psycopg.Connection
) -> None:
    plans = tmp_path / "plans"
    registry = load_queries(items.path)
    reports = guard_queries(database_url, registry, runs=1)
    assert write_plans(reports, plans) == 5
    shape = (plans / "items.get_item_by_k.plan").read_text()
    assert "items_k_idx on items" in shape
    assert "cost" not in shape
    assert stale_plans(reports, plans) == []
    pg.execute("DROP INDEX items_k_idx")
    changed = guard_queries(database_url, registry, runs=1)
    assert "items.get_item_by_k" in stale_plans(changed, plans)


def test_cli_explain_prints_the_summary_and_the_shape(
    items: SqlDir, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "explain",
        "items.get_item_by_k",
        str(items.path),
        "--database-url",
        database_url,
    ]
    assert main([*argv, "-p", "k=42", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "| items.get_item_by_k |" in out
    assert "Index Scan using items_k_idx on items" in out
    assert (
        main(
            [
                "explain",
                "items.list_items_by_v",
                str(items.path),
                "--database-url",
                database_url,
                "--runs",
                "1",
            ]
        )
        == 1
    )


def test_cli_guardrails_fails_on_a_problem_or_a_missing_sample(
    items: SqlDir, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "guardrails",
        str(items.path),
        "--database-url",
        database_url,
        "--runs",
        "1",
    ]
    assert main(argv) == 1
    assert "4 of 5 budgeted queries within guardrails" in capsys.readouterr().out
    (items.path / "samples.sql").write_text("-- name: sample_k :scalar\nSELECT 2;\n")
    assert main(argv) == 2
    assert "no sample for parameter 'v'" in capsys.readouterr().err


def test_cli_plans_writes_then_finds_nothing_stale(
    items: SqlDir, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "plans",
        str(items.path),
        "--database-url",
        database_url,
        "--plans-dir",
        str(tmp_path / "plans"),
    ]
    assert main([*argv, "--write"]) == 0
    assert main(argv) == 0
    assert "5 of 5 plan shapes up to date" in capsys.readouterr().out
    (tmp_path / "plans" / "items.get_item_by_k.plan").write_text("Seq Scan on items\n")
    assert main(argv) == 1
    assert "stale plan: items.get_item_by_k" in capsys.readouterr().out


PEOPLE = """
-- name: list_people_by_name_prefix :many
-- budget: 1s
-- A custom plan turns the known prefix into an index range; a generic one cannot.
SELECT id, name FROM people WHERE name LIKE :prefix;

-- name: count_people_named_c4ca :scalar
-- budget: 1s
-- No parameters: the generic plan is the custom plan, not judged twice.
SELECT count(*) FROM people WHERE name LIKE 'c4ca%';
"""


@pytest.fixture
def people(pg: psycopg.Connection, sql_dir: SqlDir) -> SqlDir:
    """30,000 people, names indexed for prefix searches (text_pattern_ops)."""
    pg.execute("CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL)")
    pg.execute(
        "INSERT INTO people SELECT g, md5(g::text) FROM generate_series(1, 30000) g"
    )
    pg.execute("CREATE INDEX people_name_idx ON people (name text_pattern_ops)")
    pg.execute("VACUUM ANALYZE people")
    sql_dir.write("people.sql", PEOPLE)
    sql_dir.write("samples.sql", "-- name: sample_prefix :scalar\nSELECT 'c4ca%';\n")
    return sql_dir


def test_a_generic_plan_scanning_a_big_table_fails_where_the_custom_one_passes(
    people: SqlDir, database_url: str
) -> None:
    reports = {
        r.query: r
        for r in guard_queries(database_url, load_queries(people.path), runs=1)
    }
    report = reports["people.list_people_by_name_prefix"]
    assert report.problems == []
    assert "people_name_idx" in report.summary
    assert report.generic is not None
    assert report.generic.shape == "Seq Scan on people\n"
    assert report.generic.problems == [
        "sequential scan of people (30,000 rows); index the predicate, "
        "or allow it with '-- explain: seqscan=people'"
    ]
    assert report.all_problems[0].startswith("generic plan: sequential scan")
    assert not report.ok
    assert reports["people.count_people_named_c4ca"].generic is None
    assert reports["people.count_people_named_c4ca"].ok
    table = format_plan_table(list(reports.values()))
    assert (
        "| ok | FAIL: sequential scan of people (30,000 rows); index the predicate, "
        "or allow it with '-- explain: seqscan=people' (Seq Scan on people, median"
    ) in table
    assert table.splitlines()[-1].endswith("| ok | - |")


def test_a_generic_sequential_scan_is_allowed_by_the_same_header(
    people: SqlDir, database_url: str
) -> None:
    people.write(
        "people.sql",
        PEOPLE.replace(
            "-- budget: 1s\n", "-- budget: 1s\n-- explain: seqscan=people\n", 1
        ),
    )
    report = guard_queries(database_url, load_queries(people.path), runs=1)[0]
    assert report.query == "people.list_people_by_name_prefix"
    assert report.generic is not None
    assert report.generic.shape == "Seq Scan on people\n"
    assert report.ok


def test_cli_guardrails_fails_on_the_generic_plan_and_explain_shows_it(
    people: SqlDir, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    common = [str(people.path), "--database-url", database_url, "--runs", "1"]
    assert main(["guardrails", *common]) == 1
    out = capsys.readouterr().out
    assert "FAIL: sequential scan of people" in out
    assert "1 of 2 budgeted queries within guardrails" in out
    explain = ["explain", "people.list_people_by_name_prefix", *common]
    assert main(explain) == 0
    assert "generic plan:" not in capsys.readouterr().out
    assert main([*explain, "--generic"]) == 1
    out = capsys.readouterr().out
    assert "Index Scan using people_name_idx on people" in out
    assert "generic plan:\nSeq Scan on people\n" in out
