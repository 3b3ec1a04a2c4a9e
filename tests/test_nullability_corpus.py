"""describe against the corpus of hard nullability cases, family by family.

``tests/nullability_corpus.py`` holds the cases and their answers. Measured on
this corpus (184 columns): before issue 16, 161 agreed (88 %) with one false
NOT NULL (a MATERIALIZED CTE's own LEFT JOIN); at the start of the session
that finished it, 164 (89 %), the same false NOT NULL; now all 184.
"""

import psycopg
import pytest
from psycopg import RawCursor

from tests.nullability_corpus import CASES, SCHEMA, judged
from yeko_sql.query.compiler import compile_query
from yeko_sql.query.parser import parse_file
from yeko_sql.verify.describe import describe_connection

FAMILIES = sorted({case.family for case in CASES}, key=lambda f: int(f.split()[0]))


@pytest.fixture
def corpus(pg: psycopg.Connection) -> psycopg.Connection:
    pg.execute(SCHEMA)
    pg.commit()
    pg.autocommit = True
    return pg


@pytest.mark.parametrize("family", FAMILIES)
def test_describe_agrees_with_every_answer_of_the_family(
    corpus: psycopg.Connection, family: str
) -> None:
    wrong = []
    for case, said, error in judged(corpus):
        if case.family != family:
            continue
        assert not error, f"{case.sql}: {error}"
        for column, nullable in case.nullable.items():
            if said.get(column) != nullable:
                wrong.append(f"{case.sql} -> {column}: expected nullable={nullable}")
    assert wrong == []


def test_every_not_null_answer_holds_on_the_rows(corpus: psycopg.Connection) -> None:
    """The answers are PostgreSQL's: no NOT NULL column returns a NULL here."""
    nulls_seen = 0
    for case in CASES:
        with corpus.transaction(force_rollback=True):
            cursor = RawCursor(corpus)
            cursor.execute(case.sql, list(case.params) or None)
            rows = cursor.fetchall()
            names = [d.name for d in cursor.description or ()]
        assert sorted(names) == sorted(case.nullable), case.sql
        for index, name in enumerate(names):
            has_null = any(row[index] is None for row in rows)
            assert not (has_null and not case.nullable[name]), (case.sql, name)
            nulls_seen += has_null
    assert nulls_seen > 30  # the rows do make the nullable answers happen


def test_the_answers_say_why(corpus: psycopg.Connection) -> None:
    def why(sql: str, column: int) -> str:
        [spec] = parse_file(f"-- name: q :many\n{sql};\n", "q.sql")
        [described] = describe_connection([compile_query(spec)], corpus).queries
        return described.columns[column].why

    assert "every arm of n gives i NOT NULL" in why(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5)"
        " SELECT i FROM n",
        0,
    )
    assert "in every row the WHERE/ON keeps" in why(
        "SELECT note FROM hc_parent WHERE note IS NOT NULL", 0
    )
    assert "ungrouped count()" in why(
        "SELECT (SELECT count(*) FROM hc_child WHERE parent_id = p.id) AS n"
        " FROM hc_parent AS p",
        0,
    )
    assert "on the nullable side" in why(
        "WITH j AS MATERIALIZED (SELECT p.id, c.label FROM hc_parent AS p LEFT JOIN"
        " hc_child AS c ON c.parent_id = p.id) SELECT id, label FROM j",
        1,
    ) or "may make it NULL" in why(
        "WITH j AS MATERIALIZED (SELECT p.id, c.label FROM hc_parent AS p LEFT JOIN"
        " hc_child AS c ON c.parent_id = p.id) SELECT id, label FROM j",
        1,
    )
