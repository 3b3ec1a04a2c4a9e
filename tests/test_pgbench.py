"""``yeko_sql.ops.pgbench``: a pgbench script from our ``.sql`` files, run for real."""

from datetime import date
from decimal import Decimal

import psycopg
import pytest

from tests.fix_domain import World
from tests.fix_sqlfiles import SqlDir
from yeko_sql.errors import YekoSqlError
from yeko_sql.ops.pgbench import build_script, pgbench_variables, run_pgbench
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry

BENCH = """
-- name: update_school_phone :execrows
-- Set a school's phone (text through -D, verbatim).
UPDATE schools
SET phone = :phone
WHERE id = :school_id;

-- name: update_students_status :execrows
-- Set the status of a list of students (an array through -D).
UPDATE students
SET status = :status
WHERE school_id = :school_id
  AND id = ANY(:ids);

-- name: update_class_capacity :execrows
-- Set a class's capacity (an integer through \\set).
UPDATE classes
SET capacity = :capacity::int + 0
WHERE school_id = :school_id
  AND id = :class_id;

-- name: list_students :many
-- sort: name = full_name, id | newest = created_at DESC, id DESC
-- Students of a school in a declared order.
SELECT id, full_name
FROM students
WHERE school_id = :school_id
ORDER BY :sort
LIMIT :limit;

-- name: count_students :scalar
-- Students of a school, of one status when given.
SELECT count(*)
FROM students
WHERE school_id = :school_id
  [[ AND status = :status ]];
"""


@pytest.fixture
def bench(sql_dir: SqlDir) -> Registry:
    sql_dir.write("bench.sql", BENCH)
    return load_queries(sql_dir.path)


def test_numbers_become_set_lines_and_text_becomes_definitions(
    bench: Registry,
) -> None:
    script = build_script(
        [bench["update_class_capacity"], bench["update_school_phone"]],
        {"capacity": 35, "school_id": "s" * 21, "class_id": "c" * 21, "phone": "x"},
    )
    assert script.text.startswith("\\set capacity 35\n")
    assert script.defines == {"school_id": "s" * 21, "class_id": "c" * 21, "phone": "x"}
    assert script.queries == (
        "bench.update_class_capacity",
        "bench.update_school_phone",
    )
    assert script.args()[:2] == ["-M", "prepared"]
    assert script.args()[-2:] == ["-D", "phone=x"]


def test_the_body_is_the_query_as_written_not_the_compiled_text(
    bench: Registry,
) -> None:
    query = bench["update_school_phone"]
    script = build_script([query], {"phone": "1", "school_id": "s"})
    assert query.sql in script.text
    assert "$1" not in script.text
    assert "yeko:" not in script.text  # the tag's ':' would be a pgbench variable


def test_a_sort_query_runs_its_default_or_the_chosen_variant(bench: Registry) -> None:
    query = bench["list_students"]
    default = build_script([query], {"school_id": "s", "limit": 10})
    assert "ORDER BY full_name, id\nLIMIT :limit;" in default.text
    newest = build_script([query], {"school_id": "s", "limit": 10, "sort": "newest"})
    assert "ORDER BY created_at DESC, id DESC\n" in newest.text
    with pytest.raises(YekoSqlError, match="sort 'x; DROP' is not one of"):
        build_script([query], {"school_id": "s", "limit": 10, "sort": "x; DROP"})


def test_an_optional_block_is_in_the_script_only_when_its_value_is_given(
    bench: Registry,
) -> None:
    query = bench["count_students"]
    without = build_script([query], {"school_id": "s"})
    assert "status" not in without.text
    assert "[[" not in without.text
    assert "WHERE school_id = :school_id\n  ;" in without.text
    given = build_script([query], {"school_id": "s", "status": "active"})
    assert "AND status = :status" in given.text
    assert given.defines == {"school_id": "s", "status": "active"}


def test_values_of_every_kind_are_written_the_way_postgresql_reads_them(
    bench: Registry,
) -> None:
    values = {
        "status": "active",
        "school_id": "s",
        "ids": ["a", 'b"c', None, "x y", "", "null", "back\\slash", "{}"],
    }
    script = build_script([bench["update_students_status"]], values)
    assert script.defines["ids"] == (
        '{a,"b\\"c",NULL,"x y","","null","back\\\\slash","{}"}'
    )
    mixed = build_script(
        [bench["update_class_capacity"]],
        {"capacity": Decimal("1.5"), "school_id": date(2025, 9, 1), "class_id": True},
    )
    assert mixed.defines == {"capacity": "1.5", "school_id": "2025-09-01"}
    assert "\\set class_id true\n" in mixed.text


def test_a_missing_or_unbindable_value_is_refused_with_the_names(
    bench: Registry,
) -> None:
    with pytest.raises(YekoSqlError, match="no value for 'phone'"):
        build_script([bench["update_school_phone"]], {"school_id": "s"})
    with pytest.raises(YekoSqlError, match="'phone' is None"):
        build_script([bench["update_school_phone"]], {"school_id": "s", "phone": None})
    with pytest.raises(YekoSqlError, match="has a object"):
        build_script(
            [bench["update_school_phone"]], {"school_id": "s", "phone": object()}
        )
    with pytest.raises(YekoSqlError, match="no queries"):
        build_script([], {})


@pytest.mark.parametrize(
    "body",
    [
        "SELECT ':x' AS label, :id::int",
        "SELECT :id -- see :other\n",
        "SELECT /* :x */ :id",
        "SELECT (ARRAY[1, 2, 3])[lo:hi] FROM t WHERE id = :id",
        'SELECT 1 AS ":x" WHERE 1 = :id',
        "SELECT $$ :x $$, :id",
    ],
)
def test_a_body_pgbench_would_misread_is_refused(sql_dir: SqlDir, body: str) -> None:
    sql_dir.write("odd.sql", f"-- name: get_odd :many\n{body};\n")
    query = load_queries(sql_dir.path)["get_odd"]
    with pytest.raises(YekoSqlError, match=r"odd\.sql:2: pgbench would read"):
        build_script([query], {"id": 1, "x": 1, "other": 1, "lo": 1, "hi": 2})


def test_pgbench_variables_follows_pgbench_own_scan() -> None:
    # Strings do not stop it; a run of ':' with no name after it is skipped
    # whole, so ':::y' (like '::int') binds nothing.
    sql = "SELECT :a::text, 'it:s', b::int, :é, x:::y"
    assert pgbench_variables(sql) == [("a", 7), ("s", 20), ("é", 33)]


def test_pgbench_runs_the_script_and_each_value_binds_as_written(
    bench: Registry, world: World, pg: psycopg.Connection, database_url: str
) -> None:
    school = world.first
    phone = 'O\'Brien "x" %s :phone $1 🎓 ; DROP TABLE schools; --'
    ids = school.student_ids[:3]
    class_id = school.class_ids["6e A"]
    script = build_script(
        [
            bench["update_school_phone"],
            bench["update_students_status"],
            bench["update_class_capacity"],
            bench["list_students"],
        ],
        {
            "phone": phone,
            "school_id": school.school_id,
            "status": "withdrawn",
            "ids": ids,
            "capacity": 33,
            "class_id": class_id,
            "limit": 5,
        },
        transaction=True,
    )
    result = run_pgbench(database_url, script, clients=2, transactions=5)
    assert result.ok, result.output
    assert result.transactions == 10
    assert result.tps > 0
    got = pg.execute(
        "SELECT phone FROM schools WHERE id = %s", [school.school_id]
    ).fetchone()
    assert got == (phone,)
    withdrawn = pg.execute(
        "SELECT id FROM students WHERE status = 'withdrawn' ORDER BY id"
    ).fetchall()
    assert [r[0] for r in withdrawn] == sorted(ids)
    capacity = pg.execute("SELECT capacity FROM classes WHERE id = %s", [class_id])
    assert capacity.fetchone() == (33,)


def test_a_failing_run_is_reported_not_raised(
    bench: Registry, database_url: str
) -> None:
    script = build_script(
        [bench["update_class_capacity"]],
        {"capacity": "abc", "school_id": "s", "class_id": "c"},
    )
    result = run_pgbench(database_url, script, clients=1, transactions=1)
    assert not result.ok
    assert result.returncode != 0
    assert 'invalid input syntax for type integer: "abc"' in result.output
