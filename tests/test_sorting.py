import psycopg
import pytest

from tests.fix_db import OpenDb
from tests.fix_sqlfiles import SqlDir
from yeko_sql.errors import HeaderError, ParameterError, PlaceholderError
from yeko_sql.query.loader import load_queries

PEOPLE = """
-- name: list_people :many
-- sort: name = name, id | newest = born DESC, id | oldest = born, id
-- People, in a declared order.
SELECT id, name, born
FROM people
WHERE name <> :exclude
ORDER BY :sort;
"""


@pytest.fixture
def people(pg: psycopg.Connection) -> None:
    pg.execute("CREATE TABLE people (id int PRIMARY KEY, name text, born int)")
    pg.execute(
        "INSERT INTO people VALUES"
        " (1, 'Yao', 2010), (2, 'Awa', 2012), (3, 'Moussa', 2008)"
    )


def test_a_query_orders_by_a_declared_variant_chosen_by_name(
    sql_dir: SqlDir, open_db: OpenDb, people: None
) -> None:
    sql_dir.write("people.sql", PEOPLE)
    db = open_db(load_queries(sql_dir.path))
    assert [p.name for p in db.people.list_people(exclude="")] == [
        "Awa",
        "Moussa",
        "Yao",
    ]
    newest = db.people.list_people(exclude="", sort="newest")
    assert [p.name for p in newest] == ["Awa", "Yao", "Moussa"]
    assert [p.id for p in db.people.list_people(exclude="", sort="oldest")] == [3, 1, 2]


def test_an_unknown_sort_key_is_a_parameter_error_never_sql(
    sql_dir: SqlDir, open_db: OpenDb, people: None
) -> None:
    sql_dir.write("people.sql", PEOPLE)
    db = open_db(load_queries(sql_dir.path))
    for hostile in ("name; DROP TABLE people", "born DESC", "1", 1, None.__class__):
        with pytest.raises(
            ParameterError, match="sort is one of 'name', 'newest', 'oldest'"
        ):
            db.people.list_people(exclude="", sort=hostile)
    assert db.people.list_people(exclude="")  # the table is still there


def test_each_variant_is_compiled_once_with_the_rest_as_server_parameters(
    sql_dir: SqlDir,
) -> None:
    sql_dir.write("people.sql", PEOPLE)
    query = load_queries(sql_dir.path)["people.list_people"]
    assert query.params == ("exclude",)
    assert set(query.variants) == {"name", "newest", "oldest"}
    assert query.variants["newest"].endswith(
        "WHERE name <> $1\nORDER BY born DESC, id;"
    )
    assert query.compiled == query.variants["name"]


def test_a_variant_that_is_not_a_plain_order_by_list_is_refused_at_load(
    sql_dir: SqlDir,
) -> None:
    for header, problem in (
        ("name = id; DELETE FROM people", "holds a parameter, comment or ';'"),
        ("name = id -- x", "holds a parameter, comment or ';'"),
        ("name = :id", "holds a parameter, comment or ';'"),
        ("name = id id id", "is not an ORDER BY list"),
        ("name id", "is not 'name = columns'"),
        ("a = id | a = name", "repeated"),
    ):
        path = sql_dir.write(
            "people.sql",
            f"-- name: list_people :many\n-- sort: {header}\n"
            "SELECT id FROM people ORDER BY :sort;\n",
        )
        with pytest.raises(HeaderError, match=problem) as caught:
            load_queries(sql_dir.path)
        assert (caught.value.path, caught.value.line) == (str(path), 2)


def test_a_sort_header_needs_exactly_one_sort_placeholder(sql_dir: SqlDir) -> None:
    sql_dir.write(
        "people.sql",
        "-- name: list_people :many\n-- sort: a = id\nSELECT id FROM people;\n",
    )
    with pytest.raises(PlaceholderError, match="uses ':sort' 0 times"):
        load_queries(sql_dir.path)
