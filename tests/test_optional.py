"""Optional filters: ``[[ … ]]`` blocks, one statement per combination used."""

import asyncio

import psycopg
import pytest

from tests.fix_db import OpenDb
from tests.fix_sqlfiles import SqlDir
from yeko_sql import AsyncDatabase
from yeko_sql.errors import ParameterError, PlaceholderError
from yeko_sql.query.compiler import Query, compile_query
from yeko_sql.query.loader import load_queries
from yeko_sql.query.parser import parse_file
from yeko_sql.verify.check import check_connection
from yeko_sql.verify.describe import describe_connection

PUPILS = """
-- name: list_pupils :many
-- sort: name = name, id | newest = born DESC, id
-- Pupils of a school, by status and class when given.
SELECT id, name, born
FROM pupils
WHERE school = :school
  [[ AND status = :status ]]
  [[ AND class = :class_name
     AND born >= :born_after ]]
ORDER BY :sort;

-- name: page_pupils :page
SELECT id, name, count(*) OVER () AS total_count
FROM pupils
WHERE school = :school
  [[ AND status = ANY(:statuses) ]]
ORDER BY id
LIMIT :limit OFFSET :offset;
"""


def compiled(text: str) -> Query[object]:
    [spec] = parse_file(text, "sql/pupils.sql")
    return compile_query(spec)


@pytest.fixture
def pupils(pg: psycopg.Connection) -> None:
    pg.execute(
        "CREATE TABLE pupils (id int PRIMARY KEY, name text NOT NULL,"
        " born int NOT NULL, school text NOT NULL, status text, class text)"
    )
    pg.execute(
        "INSERT INTO pupils VALUES"
        " (1, 'Awa', 2012, 'a', 'active', '6e'),"
        " (2, 'Yao', 2010, 'a', 'left', '6e'),"
        " (3, 'Moussa', 2011, 'a', 'active', '5e'),"
        " (4, 'Ines', 2013, 'b', 'active', '6e')"
    )


def test_each_combination_is_its_own_statement_with_its_own_parameters() -> None:
    query = compiled(PUPILS.split("\n\n-- name: page_pupils", maxsplit=1)[0])
    assert query.optional == ("status", "class_name", "born_after")
    assert query.params == ("school", "status", "class_name", "born_after")
    assert query.call_params == (*query.params, "sort")
    shown = {tuple(sorted(given)): q for given, q in query.combinations()}
    assert list(shown) == [
        ("born_after", "class_name", "status"),
        ("status",),
        ("born_after", "class_name"),
        (),
    ]
    none = shown[()]
    assert none.params == ("school",)
    assert "status" not in none.compiled
    assert "class_name" not in none.compiled
    assert "$2" not in none.compiled
    assert shown[("born_after", "class_name")].params == (
        "school",
        "class_name",
        "born_after",
    )
    # A left-out block keeps its line breaks: error positions map to the file.
    assert none.compiled.count("\n") == query.compiled.count("\n")


def test_calls_include_a_block_only_when_its_parameters_are_given_and_not_none(
    sql_dir: SqlDir, open_db: OpenDb, pupils: None
) -> None:
    sql_dir.write("pupils.sql", PUPILS)
    db = open_db(load_queries(sql_dir.path))

    def names(**kwargs: object) -> list[str]:
        return [p.name for p in db.pupils.list_pupils(school="a", **kwargs)]

    assert names() == ["Awa", "Moussa", "Yao"]
    assert names(status=None) == ["Awa", "Moussa", "Yao"]
    assert names(status="active") == ["Awa", "Moussa"]
    assert names(status="active", sort="newest") == ["Awa", "Moussa"]
    assert names(class_name="6e", born_after=2011) == ["Awa"]
    assert names(class_name=None, born_after=None, status="left") == ["Yao"]
    page = db.pupils.page_pupils(school="a", statuses=["left"], page=1, page_size=10)
    assert [p.name for p in page.items] == ["Yao"]
    assert page.total == 1
    every = db.pupils.page_pupils(school="a", page=1, page_size=2)
    assert every.total == 3


def test_half_a_block_is_a_parameter_error_not_a_silently_ignored_filter(
    sql_dir: SqlDir, open_db: OpenDb, pupils: None
) -> None:
    sql_dir.write("pupils.sql", PUPILS)
    db = open_db(load_queries(sql_dir.path))
    with pytest.raises(
        ParameterError, match=r"'class_name' is given but .* 'born_after'"
    ):
        db.pupils.list_pupils(school="a", class_name="6e")
    with pytest.raises(ParameterError, match="missing parameter 'school'"):
        db.pupils.list_pupils(status="active")
    with pytest.raises(ParameterError, match="unexpected parameter 'colour'"):
        db.pupils.list_pupils(school="a", colour="red")


def test_each_statement_is_prepared_once_under_its_own_name(
    sql_dir: SqlDir, open_db: OpenDb, pupils: None, pg: psycopg.Connection
) -> None:
    sql_dir.write("pupils.sql", PUPILS)
    db = open_db(load_queries(sql_dir.path), max_size=1)
    for _ in range(7):  # past psycopg's prepare threshold
        db.pupils.list_pupils(school="a")
        db.pupils.list_pupils(school="a", status="active")
    with db.pool.connection() as conn:
        prepared = conn.execute(
            "SELECT statement FROM pg_prepared_statements"
            " WHERE statement LIKE '%yeko:pupils.list_pupils%'"
        ).fetchall()
    texts = sorted(row[0] for row in prepared)
    assert len(texts) == 2
    assert sum("status = $2" in t for t in texts) == 1


def test_the_asyncio_database_picks_the_same_statements(
    sql_dir: SqlDir, pupils: None, database_url: str
) -> None:
    sql_dir.write("pupils.sql", PUPILS)

    async def run() -> list[list[str]]:
        async with AsyncDatabase(
            database_url, queries=load_queries(sql_dir.path)
        ) as db:
            return [
                [p.name for p in await db.pupils.list_pupils(school="a", **kw)]
                for kw in ({}, {"status": "left"})
            ]

    assert asyncio.run(run()) == [["Awa", "Moussa", "Yao"], ["Yao"]]


def test_streams_pick_their_statement_too(
    sql_dir: SqlDir, open_db: OpenDb, pupils: None
) -> None:
    sql_dir.write(
        "pupils.sql",
        """
        -- name: stream_pupils :stream
        SELECT id FROM pupils
        WHERE school = :school
          [[ AND status = :status ]]
        ORDER BY id;
        """,
    )
    db = open_db(load_queries(sql_dir.path))
    assert [r.id for r in db.pupils.stream_pupils(school="a", status="left")] == [2]
    assert [r.id for r in db.pupils.stream_pupils(school="a")] == [1, 2, 3]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("WHERE a = 1\n  [[ AND b = 2 ]]", "holds no parameter"),
        ("WHERE a = 1\n  [[ AND b = :b", "never closed"),
        ("WHERE a = 1\n  [[ AND b = :b\n  [[ AND c = :c ]] ]]", "inside another"),
        ("WHERE a = :b\n  [[ AND b = :b ]]", "inside an optional block and outside"),
        ("WHERE a = 1\n  [[ AND b = $1 ]]", "optional blocks and '\\$1'"),
        ("WHERE a = 1\n  [[ LIMIT :limit ]]", "':limit' cannot be optional"),
        (
            "WHERE a = 1\n" + "".join(f"  [[ AND c{i} = :c{i} ]]\n" for i in range(7)),
            "7 optional blocks; at most 6",
        ),
    ],
)
def test_malformed_blocks_are_load_errors_with_their_line(
    body: str, problem: str
) -> None:
    with pytest.raises(PlaceholderError, match=problem) as caught:
        compiled(f"-- name: q :many\nSELECT 1 FROM t\n{body};\n")
    assert str(caught.value).startswith("sql/pupils.sql:")
    assert int(str(caught.value).split(":")[1]) >= 2


def test_array_brackets_are_sql_not_blocks() -> None:
    query = compiled(
        "-- name: q :many\n"
        "SELECT ARRAY[[1, 2], [3, 4]] AS m, (ARRAY[[1]])[1][1] AS one\n"
        "FROM t WHERE a = :a;\n"
    )
    assert query.optional == ()
    assert "ARRAY[[1, 2], [3, 4]]" in query.compiled
    inner = compiled(
        "-- name: q :many\n"
        "SELECT 1 FROM t\n"
        "WHERE a = :a\n"
        "  [[ AND m = ARRAY[[1, 2]] AND x[y[1]] = :x ]]\n"
        ";\n"
    )
    assert inner.optional == ("x",)
    assert "ARRAY[[1, 2]] AND x[y[1]] = $2" in inner.compiled


def test_check_lints_every_statement_so_a_tenant_filter_in_a_block_is_caught(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    sql_dir.write(
        "classes.sql",
        """
        -- name: list_classes :many
        SELECT id FROM classes
        WHERE true
          [[ AND school_id = :school_id ]];
        """,
    )
    report = check_connection(load_queries(sql_dir.path), pg, tenant_column="school_id")
    [problem] = report.problems
    assert problem.rule == "tenant"
    assert problem.message.endswith("(when no optional parameter is given)")


def test_describe_calls_a_column_nullable_when_any_statement_makes_it_so(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    sql_dir.write(
        "classes.sql",
        """
        -- name: list_classes :many
        SELECT c.id, se.code AS series_code
        FROM classes AS c
        LEFT JOIN series AS se ON se.id = c.series_id
        WHERE c.school_id = :school_id
          [[ AND se.code = :series_code ]];
        """,
    )
    [query] = load_queries(sql_dir.path)
    described = describe_connection([query], pg).queries[0]
    assert described.error is None
    code = described.columns[1]
    assert code.nullable
    assert "with no optional parameter given" in code.why
    assert [p.name for p in described.params] == ["school_id", "series_code"]
