"""The hard cases of nullability, as a corpus with known answers (issue 16).

Each case is a query over the small schema below and, for each result column,
whether PostgreSQL can return NULL in it (``True``) or never does
(``False``). The answers are the language's, not our analysis's: every
``False`` is also checked against the rows below (the query runs and no NULL
comes back), and the nullable answers name the row that yields the NULL in
their comment where it is not plain.

``tests/test_nullability_corpus.py`` holds ``describe`` to every answer and
prints the agreement per family; ``python -m tests.nullability_corpus URL``
prints it for any migrated database.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import psycopg

from yeko_sql.query.compiler import compile_query
from yeko_sql.query.parser import parse_file
from yeko_sql.verify.describe import describe_connection

SCHEMA = """
CREATE DOMAIN hc_code AS text NOT NULL;
CREATE DOMAIN hc_free AS text;
CREATE TABLE hc_parent (
    id int PRIMARY KEY,
    name text NOT NULL,
    note text,
    score int NOT NULL,
    data jsonb NOT NULL,
    tags text[] NOT NULL
);
CREATE TABLE hc_child (
    id int PRIMARY KEY,
    parent_id int NOT NULL REFERENCES hc_parent,
    label text NOT NULL,
    amount numeric,
    qty int NOT NULL
);
CREATE TABLE hc_dom (id int PRIMARY KEY, code hc_code, free hc_free);
CREATE TABLE hc_base (id int PRIMARY KEY, name text NOT NULL, extra text);
CREATE TABLE hc_inh (more text NOT NULL) INHERITS (hc_base);
CREATE TABLE hc_ctas AS SELECT id, name FROM hc_parent;
CREATE VIEW hc_parent_view AS SELECT id, name, note FROM hc_parent;
INSERT INTO hc_parent VALUES
    (1, 'one', 'n1', 10, '{"a": 1, "b": null}', '{x,y}'),
    (2, 'two', NULL, 20, '{"a": 2}', '{}'),
    (3, 'three', NULL, 30, '{}', '{z}');
INSERT INTO hc_child VALUES
    (1, 1, 'c1', 5.5, 1), (2, 1, 'c2', NULL, 2), (3, 2, 'c3', 1, 3);
INSERT INTO hc_dom VALUES (1, 'a', NULL);
INSERT INTO hc_base VALUES (1, 'b', NULL);
INSERT INTO hc_inh VALUES (2, 'i', NULL, 'm');
"""


@dataclass(frozen=True)
class Case:
    """One query and, per result column, whether it may be NULL."""

    family: str
    sql: str
    nullable: dict[str, bool]
    params: tuple[object, ...] = ()  # values for $1.. when the rows are checked


F1 = "1 outer joins"
F2 = "2 outer join reduced by WHERE"
F3 = "3 subqueries, EXISTS, ARRAY"
F4 = "4 aggregates"
F5 = "5 expressions"
F6 = "6 narrowing"
F7 = "7 set operations"
F8 = "8 recursive CTEs"
F9 = "9 window functions"
F10 = "10 JSON"
F11 = "11 RETURNING"
F12 = "12 domains, CTAS, INHERITS"

CASES = [
    # 1: outer joins, sides, and the nodes above them
    Case(
        F1,
        "SELECT p.id, c.label FROM hc_parent AS p LEFT JOIN hc_child AS c"
        " ON c.parent_id = p.id",
        {"id": False, "label": True},
    ),
    Case(
        F1,
        "SELECT p.name, c.label FROM hc_child AS c RIGHT JOIN hc_parent AS p"
        " ON c.parent_id = p.id",
        {"name": False, "label": True},
    ),
    Case(
        F1,
        "SELECT p.name, c.label FROM hc_parent AS p FULL JOIN hc_child AS c"
        " ON c.parent_id = p.id",
        {"name": True, "label": True},
    ),
    Case(
        F1,
        "SELECT p.name, c.label FROM hc_parent AS p LEFT JOIN LATERAL"
        " (SELECT label FROM hc_child WHERE parent_id = p.id LIMIT 1) AS c ON true",
        {"name": False, "label": True},
    ),
    Case(
        F1,
        "SELECT p.name, c.label FROM hc_parent AS p CROSS JOIN LATERAL"
        " (SELECT label FROM hc_child WHERE parent_id = p.id LIMIT 1) AS c",
        {"name": False, "label": False},
    ),
    Case(
        F1,
        "SELECT p.name, c.label FROM hc_parent AS p LEFT JOIN hc_child AS c"
        " ON c.parent_id = p.id ORDER BY c.label LIMIT 10",
        {"name": False, "label": True},
    ),
    Case(
        F1,
        "SELECT p.name, max(c.qty) AS most FROM hc_parent AS p LEFT JOIN"
        " hc_child AS c ON c.parent_id = p.id GROUP BY p.name",
        {"name": False, "most": True},
    ),
    Case(
        F1,
        "SELECT p.name, count(c.id) AS n FROM hc_parent AS p LEFT JOIN"
        " hc_child AS c ON c.parent_id = p.id GROUP BY p.name",
        {"name": False, "n": False},
    ),
    Case(
        F1,
        "SELECT s.name, s.label FROM (SELECT p.name, c.label FROM hc_parent AS p"
        " LEFT JOIN hc_child AS c ON c.parent_id = p.id OFFSET 0) AS s",
        {"name": False, "label": True},
    ),
    Case(
        F1,
        "SELECT c.label, p.name FROM hc_child AS c LEFT JOIN hc_parent AS p"
        " ON p.id = c.parent_id",
        {"label": False, "name": True},
    ),
    Case(
        F1,
        "SELECT a.name, b.name AS other FROM hc_parent AS a LEFT JOIN hc_parent"
        " AS b ON b.id = a.id + 1",
        {"name": False, "other": True},
    ),
    Case(
        F1,
        "SELECT p.name, c.label, g.name AS grand FROM hc_parent AS p"
        " JOIN hc_child AS c ON c.parent_id = p.id LEFT JOIN hc_parent AS g"
        " ON g.id = c.qty + 5",
        {"name": False, "label": False, "grand": True},
    ),
    # 2: a WHERE that rejects the NULL row makes the join inner
    Case(
        F2,
        "SELECT p.name, c.label FROM hc_parent AS p LEFT JOIN hc_child AS c"
        " ON c.parent_id = p.id WHERE c.qty > 0",
        {"name": False, "label": False},
    ),
    Case(
        F2,
        "SELECT p.name, c.label FROM hc_parent AS p LEFT JOIN hc_child AS c"
        " ON c.parent_id = p.id WHERE c.qty = $1",
        {"name": False, "label": False},
        (1,),
    ),
    Case(
        F2,
        "SELECT p.name, c.label FROM hc_parent AS p LEFT JOIN hc_child AS c"
        " ON c.parent_id = p.id WHERE c.id IS NOT NULL",
        {"name": False, "label": False},
    ),
    Case(
        F2,
        "SELECT p.name, c.label FROM hc_parent AS p LEFT JOIN hc_child AS c"
        " ON c.parent_id = p.id WHERE c.label IS NULL OR p.id > 0",
        {"name": False, "label": True},
    ),
    Case(
        F2,
        "SELECT p.name, c.label FROM hc_parent AS p FULL JOIN hc_child AS c"
        " ON c.parent_id = p.id WHERE p.score > 0",
        {"name": False, "label": True},
    ),
    # 3: subqueries, CTEs, EXISTS, ARRAY
    Case(
        F3,
        "WITH j AS (SELECT p.id, c.label FROM hc_parent AS p LEFT JOIN hc_child"
        " AS c ON c.parent_id = p.id) SELECT id, label FROM j",
        {"id": False, "label": True},
    ),
    Case(
        F3,
        "WITH j AS MATERIALIZED (SELECT p.id, c.label FROM hc_parent AS p LEFT"
        " JOIN hc_child AS c ON c.parent_id = p.id) SELECT id, label FROM j",
        {"id": False, "label": True},
    ),
    Case(
        F3,
        "SELECT p.name, (SELECT c.label FROM hc_child AS c WHERE c.parent_id"
        " = p.id ORDER BY c.id LIMIT 1) AS first FROM hc_parent AS p",
        {"name": False, "first": True},
    ),
    Case(
        F3,
        "SELECT p.name, (SELECT count(*) FROM hc_child AS c WHERE c.parent_id"
        " = p.id) AS n FROM hc_parent AS p",
        {"name": False, "n": False},
    ),
    Case(
        F3,
        "SELECT p.name, (SELECT sum(c.qty) FROM hc_child AS c WHERE c.parent_id"
        " = p.id) AS total FROM hc_parent AS p",
        {"name": False, "total": True},
    ),
    Case(
        F3,
        "SELECT p.name, (SELECT count(*) FROM hc_child AS c WHERE c.parent_id"
        " = p.id GROUP BY c.parent_id) AS n FROM hc_parent AS p",
        {"name": False, "n": True},
    ),
    Case(
        F3,
        "SELECT p.name, EXISTS (SELECT 1 FROM hc_child AS c WHERE c.parent_id"
        " = p.id) AS has FROM hc_parent AS p",
        {"name": False, "has": False},
    ),
    Case(
        F3,
        "SELECT p.name, ARRAY(SELECT c.label FROM hc_child AS c WHERE"
        " c.parent_id = p.id) AS labels FROM hc_parent AS p",
        {"name": False, "labels": False},
    ),
    Case(
        F3,
        "SELECT p.id IN (SELECT parent_id FROM hc_child) AS has FROM hc_parent AS p",
        {"has": False},
    ),
    Case(
        F3,
        "SELECT s.total FROM (SELECT sum(qty) AS total FROM hc_child) AS s",
        {"total": True},
    ),
    # 4: aggregates
    Case(
        F4,
        "SELECT count(*) AS n, count(amount) AS m FROM hc_child",
        {"n": False, "m": False},
    ),
    Case(
        F4,
        "SELECT sum(qty) AS total, max(label) AS last, avg(qty) AS mean FROM hc_child",
        {"total": True, "last": True, "mean": True},
    ),
    Case(F4, "SELECT count(*) FILTER (WHERE qty > 1) AS n FROM hc_child", {"n": False}),
    Case(
        F4,
        "SELECT sum(qty) FILTER (WHERE qty > 100) AS big FROM hc_child",
        {"big": True},
    ),
    Case(
        F4,
        "SELECT parent_id, sum(qty) AS total, max(label) AS last FROM hc_child"
        " GROUP BY parent_id",
        {"parent_id": False, "total": False, "last": False},
    ),
    Case(
        F4,
        "SELECT parent_id, sum(amount) AS total FROM hc_child GROUP BY parent_id",
        {"parent_id": False, "total": True},
    ),
    Case(
        F4,
        "SELECT parent_id, array_agg(label) AS labels, json_agg(qty) AS js,"
        " jsonb_agg(amount) AS jb FROM hc_child GROUP BY parent_id",
        {"parent_id": False, "labels": False, "js": False, "jb": False},
    ),
    Case(F4, "SELECT array_agg(label) AS labels FROM hc_child", {"labels": True}),
    Case(
        F4,
        "SELECT parent_id, string_agg(label, ',') AS s FROM hc_child GROUP BY"
        " parent_id",
        {"parent_id": False, "s": False},
    ),
    Case(
        F4,
        "SELECT parent_id, sum(qty) FILTER (WHERE qty > 2) AS big FROM hc_child"
        " GROUP BY parent_id",
        {"parent_id": False, "big": True},
    ),
    Case(F4, "SELECT bool_and(qty > 0) AS all_pos FROM hc_child", {"all_pos": True}),
    Case(
        F4,
        "SELECT parent_id, count(*) AS n FROM hc_child GROUP BY parent_id"
        " HAVING count(*) > 0",
        {"parent_id": False, "n": False},
    ),
    # 5: expressions
    Case(
        F5,
        "SELECT coalesce(note, name) AS a, coalesce(note, 'x') AS b,"
        " coalesce(note, note) AS c FROM hc_parent",
        {"a": False, "b": False, "c": True},
    ),
    Case(
        F5,
        "SELECT greatest(score, 1) AS g, least(score, id) AS l FROM hc_parent",
        {"g": False, "l": False},
    ),
    Case(F5, "SELECT nullif(score, 10) AS n FROM hc_parent", {"n": True}),
    Case(
        F5, "SELECT CASE WHEN score > 10 THEN name END AS c FROM hc_parent", {"c": True}
    ),
    Case(
        F5,
        "SELECT CASE WHEN score > 10 THEN name ELSE 'low' END AS c FROM hc_parent",
        {"c": False},
    ),
    Case(
        F5,
        "SELECT CASE WHEN score > 10 THEN note ELSE 'low' END AS c FROM hc_parent",
        {"c": True},
    ),
    Case(
        F5,
        "SELECT note IS NULL AS a, note IS NOT NULL AS b, note IS DISTINCT FROM"
        " name AS c FROM hc_parent",
        {"a": False, "b": False, "c": False},
    ),
    Case(
        F5,
        "SELECT score > 1 AS a, name = 'one' AS b, name LIKE 'o%' AS c,"
        " note LIKE 'n%' AS d FROM hc_parent",
        {"a": False, "b": False, "c": False, "d": True},
    ),
    Case(
        F5,
        "SELECT score + id AS a, score * 2 AS b, name || '!' AS c, note || '!'"
        " AS d FROM hc_parent",
        {"a": False, "b": False, "c": False, "d": True},
    ),
    Case(
        F5,
        "SELECT upper(name) AS a, length(name) AS b, abs(score) AS c,"
        " round(score::numeric, 1) AS d, mod(score, 3) AS e FROM hc_parent",
        {"a": False, "b": False, "c": False, "d": False, "e": False},
    ),
    Case(
        F5,
        "SELECT now() AS a, gen_random_uuid() AS b, pi() AS c, 1 AS d,"
        " 'x'::text AS e, NULL::text AS f FROM hc_parent",
        {"a": False, "b": False, "c": False, "d": False, "e": False, "f": True},
    ),
    Case(
        F5,
        "SELECT score::text AS a, note::varchar AS b FROM hc_parent",
        {"a": False, "b": True},
    ),
    Case(
        F5,
        "SELECT NOT (score > 1) AS a, score > 1 AND id > 0 AS b FROM hc_parent",
        {"a": False, "b": False},
    ),
    Case(
        F5,
        "SELECT score BETWEEN 1 AND 20 AS a, id IN (1, 2) AS b FROM hc_parent",
        {"a": False, "b": False},
    ),
    Case(F5, "SELECT tags[1] AS first FROM hc_parent", {"first": True}),
    # 6: narrowing
    Case(F6, "SELECT note FROM hc_parent WHERE note IS NOT NULL", {"note": False}),
    Case(F6, "SELECT note FROM hc_parent WHERE note = 'n1'", {"note": False}),
    Case(
        F6,
        "SELECT note FROM hc_parent WHERE note IS NOT NULL OR id > 0",
        {"note": True},
    ),
    Case(
        F6,
        "SELECT c.amount FROM hc_child AS c JOIN hc_child AS d ON d.amount = c.amount",
        {"amount": False},
    ),
    Case(F6, "SELECT note FROM hc_parent WHERE note LIKE 'n%'", {"note": False}),
    Case(F6, "SELECT amount FROM hc_child WHERE amount > 0", {"amount": False}),
    # 7: set operations
    Case(
        F7,
        "SELECT name FROM hc_parent UNION SELECT label FROM hc_child",
        {"name": False},
    ),
    Case(
        F7,
        "SELECT name FROM hc_parent UNION ALL SELECT note FROM hc_parent",
        {"name": True},
    ),
    Case(
        F7,
        "SELECT note FROM hc_parent UNION ALL SELECT name FROM hc_parent",
        {"note": True},
    ),
    Case(
        F7,
        "SELECT name FROM hc_parent INTERSECT SELECT label FROM hc_child",
        {"name": False},
    ),
    Case(
        F7,
        "SELECT name FROM hc_parent EXCEPT SELECT label FROM hc_child",
        {"name": False},
    ),
    Case(
        F7,
        "SELECT id, name FROM hc_parent UNION ALL SELECT id, NULL FROM hc_child",
        {"id": False, "name": True},
    ),
    # 8: recursive CTEs
    Case(
        F8,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
        " WHERE i < 5) SELECT i FROM n",
        {"i": False},
    ),
    Case(
        F8,
        "WITH RECURSIVE n(i, t) AS (SELECT 1, 'a'::text UNION ALL SELECT i + 1,"
        " NULL FROM n WHERE i < 3) SELECT i, t FROM n",
        {"i": False, "t": True},
    ),
    Case(
        F8,
        "WITH RECURSIVE n(i, t) AS (SELECT 1, NULL::text UNION ALL SELECT i + 1,"
        " 'x' FROM n WHERE i < 3) SELECT i, t FROM n",
        {"i": False, "t": True},
    ),
    Case(
        F8,
        "WITH RECURSIVE up(id, name) AS (SELECT id, name FROM hc_parent WHERE"
        " id = 1 UNION SELECT p.id, p.name FROM hc_parent AS p JOIN up ON p.id ="
        " up.id + 1) SELECT id, name FROM up",
        {"id": False, "name": False},
    ),
    # 9: window functions
    Case(
        F9,
        "SELECT row_number() OVER (ORDER BY id) AS r, rank() OVER (ORDER BY"
        " score) AS k, dense_rank() OVER () AS d, count(*) OVER () AS n,"
        " ntile(2) OVER () AS t, percent_rank() OVER () AS pr FROM hc_parent",
        {"r": False, "k": False, "d": False, "n": False, "t": False, "pr": False},
    ),
    Case(
        F9,
        "SELECT lag(name) OVER (ORDER BY id) AS a, lead(name) OVER (ORDER BY"
        " id) AS b, first_value(note) OVER (ORDER BY id) AS c FROM hc_parent",
        {"a": True, "b": True, "c": True},
    ),
    Case(
        F9,
        "SELECT first_value(name) OVER (ORDER BY id) AS a, sum(score) OVER"
        " (ORDER BY id) AS s FROM hc_parent",
        {"a": False, "s": False},
    ),
    Case(
        F9,
        "SELECT lag(name, 1, 'none') OVER (ORDER BY id) AS a FROM hc_parent",
        {"a": False},
    ),
    # 10: JSON
    Case(
        F10,
        "SELECT data -> 'a' AS a, data ->> 'a' AS b, data #> '{a}' AS c,"
        " data['a'] AS d FROM hc_parent",
        {"a": True, "b": True, "c": True, "d": True},
    ),
    Case(
        F10,
        "SELECT data ? 'a' AS has, data @> '{}' AS contains, data || '{}'"
        " AS merged FROM hc_parent",
        {"has": False, "contains": False, "merged": False},
    ),
    Case(
        F10,
        "SELECT jsonb_build_object('n', note) AS o, to_jsonb(name) AS j,"
        " jsonb_typeof(data) AS t FROM hc_parent",
        {"o": False, "j": False, "t": False},
    ),
    # 11: RETURNING
    Case(
        F11,
        "INSERT INTO hc_child (id, parent_id, label, qty) VALUES (10, 1, 'x',"
        " 1) RETURNING id, label, amount, qty * 2 AS double",
        {"id": False, "label": False, "amount": True, "double": False},
    ),
    Case(
        F11,
        "UPDATE hc_child SET amount = 1 WHERE id = 1 RETURNING id, amount",
        {"id": False, "amount": True},
    ),
    Case(
        F11,
        "UPDATE hc_parent SET note = NULL WHERE note IS NOT NULL RETURNING id, note",
        {"id": False, "note": True},
    ),
    Case(
        F11,
        "DELETE FROM hc_dom WHERE free IS NOT NULL OR id = 1 RETURNING code, free",
        {"code": False, "free": True},
    ),
    Case(
        F11,
        "DELETE FROM hc_child WHERE id = 2 RETURNING label, amount",
        {"label": False, "amount": True},
    ),
    Case(
        F11,
        "INSERT INTO hc_child (id, parent_id, label, qty) VALUES (1, 1, 'x', 1)"
        " ON CONFLICT (id) DO UPDATE SET label = EXCLUDED.label RETURNING id, label",
        {"id": False, "label": False},
    ),
    Case(
        F11,
        "WITH moved AS (UPDATE hc_child SET qty = qty + 1 WHERE id = 3"
        " RETURNING id, amount) SELECT id, amount FROM moved",
        {"id": False, "amount": True},
    ),
    # 12: domains, CREATE TABLE AS, INHERITS, views
    Case(F12, "SELECT code, free FROM hc_dom", {"code": False, "free": True}),
    Case(F12, "SELECT id, name FROM hc_ctas", {"id": True, "name": True}),
    Case(
        F12,
        "SELECT id, name, extra FROM hc_base",
        {"id": False, "name": False, "extra": True},
    ),
    Case(
        F12,
        "SELECT id, name, more FROM hc_inh",
        {"id": False, "name": False, "more": False},
    ),
    Case(F12, "SELECT name, note FROM hc_parent_view", {"name": False, "note": True}),
]


def _statement(case: Case, number: int) -> object:
    [spec] = parse_file(f"-- name: case_{number} :many\n{case.sql};\n", "corpus.sql")
    return compile_query(spec)


def judged(conn: psycopg.Connection) -> list[tuple[Case, dict[str, bool], str]]:
    """What ``describe`` says of each case: (case, column -> nullable, error)."""
    queries = [_statement(case, i) for i, case in enumerate(CASES)]
    report = describe_connection(queries, conn)  # type: ignore[arg-type]
    out = []
    for case, described in zip(CASES, report.queries, strict=True):
        error = str(described.error) if described.error else ""
        out.append((case, {c.name: c.nullable for c in described.columns}, error))
    return out


def agreement(conn: psycopg.Connection) -> str:
    """A table of describe's agreement with the corpus, per family."""
    rows: dict[str, list[int]] = {}
    wrong_notnull = 0
    for case, said, _ in judged(conn):
        counts = rows.setdefault(case.family, [0, 0])
        for column, expected in case.nullable.items():
            counts[1] += 1
            counts[0] += said.get(column) == expected
            wrong_notnull += expected and said.get(column) is False
    total = [sum(c[0] for c in rows.values()), sum(c[1] for c in rows.values())]
    lines = ["| family | agree | columns |", "|---|---:|---:|"]
    lines += [f"| {f} | {a} | {n} |" for f, (a, n) in rows.items()]
    lines.append(
        f"| all | {total[0]} ({100 * total[0] / total[1]:.0f} %) | {total[1]} |"
    )
    lines.append(f"false NOT NULL: {wrong_notnull}")
    return "\n".join(lines)


if __name__ == "__main__":
    with psycopg.connect(sys.argv[1], autocommit=True) as connection:
        sys.stdout.write(agreement(connection) + "\n")
