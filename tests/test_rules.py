import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.query.loader import load_queries
from yeko_sql.verify._catalog import load_catalog
from yeko_sql.verify._tree import parse_query
from yeko_sql.verify.rules import RULES, Violation, lint


def violations(sql_dir: SqlDir, pg: psycopg.Connection, text: str) -> list[Violation]:
    sql_dir.write("q.sql", text)
    [query] = load_queries(sql_dir.path)
    return lint(query, parse_query(query), load_catalog(pg, tenant_column="school_id"))


def rules_broken(sql_dir: SqlDir, pg: psycopg.Connection, text: str) -> list[str]:
    return [v.rule for v in violations(sql_dir, pg, text)]


def test_every_rule_has_a_name() -> None:
    assert list(RULES) == [
        "unique-key",
        "tenant",
        "tenant-role",
        "no-star",
        "stable-order",
        "where",
        "replica",
    ]


# unique-key


def test_unique_key_fires_for_a_one_query_on_a_non_unique_column(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [violation] = violations(
        sql_dir,
        pg,
        "-- name: find_school_by_city :opt\n"
        "SELECT id FROM schools WHERE city = :city;\n",
    )
    assert violation.rule == "unique-key"
    assert violation.line == 1
    assert violation.message() == (
        "rule unique-key: :opt query 'find_school_by_city' may return several rows:"
        " no unique key is compared with '=' for 'schools' (keys: schools_pkey (id),"
        " schools_code_key (code)); compare every column of a primary or unique key,"
        " or end with LIMIT 1"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM schools WHERE code = :code",
        "SELECT id FROM schools WHERE code = upper(:code)",
        "SELECT id FROM schools WHERE city = :city ORDER BY id LIMIT 1",
        "SELECT count(*) FROM schools WHERE city = :city",
        "SELECT now() AS at",
        "INSERT INTO tracks (id, name, code) VALUES (:id, :name, :code) RETURNING id",
        "UPDATE tracks SET name = :name WHERE id = :id RETURNING id",
        # joined rows pinned through the key of a pinned row
        "SELECT c.id, g.name FROM classes AS c JOIN grades AS g ON g.id = c.grade_id"
        " WHERE c.id = :id AND c.school_id = :school_id",
        # a partial unique index, with its predicate repeated
        "SELECT id FROM school_years WHERE school_id = :school_id"
        " AND status = 'active'",
        # a NULLS NOT DISTINCT key matched with IS NOT DISTINCT FROM
        "SELECT id FROM coefficient_templates WHERE school_year_template_id = :t"
        " AND grade_id = :g AND series_id IS NOT DISTINCT FROM :s::text"
        " AND subject_id = :subject",
    ],
)
def test_unique_key_passes_when_one_row_is_proven(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str
) -> None:
    text = f"-- name: get_row :one\n-- tenant: any: a test\n-- role: owner\n{sql};\n"
    assert rules_broken(sql_dir, pg, text) == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM schools WHERE id = ANY(:ids)",
        "SELECT id FROM school_years WHERE school_id = :school_id",  # not 'active'
        "SELECT id FROM school_years WHERE school_id = :school_id AND status = :s",
        "SELECT c.id FROM classes AS c JOIN enrollments AS e ON e.class_id = c.id"
        " WHERE c.id = :id",
        "SELECT id FROM schools WHERE code = :a OR id = :b",
        "SELECT id FROM schools UNION SELECT id FROM users",
    ],
)
def test_unique_key_fires_when_several_rows_are_possible(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str
) -> None:
    text = f"-- name: get_row :one\n-- tenant: any: a test\n-- role: owner\n{sql};\n"
    assert rules_broken(sql_dir, pg, text) == ["unique-key"]


def test_unique_key_ignores_many_queries(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    text = "-- name: list_schools :many\nSELECT id FROM schools WHERE city = :c;\n"
    assert rules_broken(sql_dir, pg, text) == []


# tenant


def test_tenant_names_each_unscoped_relation_and_its_line(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = violations(
        sql_dir,
        pg,
        "-- name: list_class_students :many\n"
        "SELECT e.student_id\n"
        "FROM enrollments AS e\n"
        "JOIN classes AS c ON c.id = e.class_id\n"
        "WHERE e.class_id = :class_id;\n",
    )
    assert [(v.rule, v.line) for v in found] == [("tenant", 3), ("tenant", 4)]
    assert found[1].message() == (
        "rule tenant: 'classes AS c' is not scoped to one school: no"
        " 'c.school_id = :param' in the AND chain of the WHERE or JOIN ON that"
        " reads it; add 'AND c.school_id = :school_id', or join it on"
        " 'c.school_id = <a scoped alias>.school_id', or explain why not with"
        " '-- tenant: any: <reason>'"
    )


SCOPED = [
    "SELECT id FROM classes WHERE school_id = :school_id",
    "SELECT c.id FROM classes AS c WHERE :school_id = c.school_id",
    "SELECT id FROM classes WHERE school_id = ANY(:school_ids)",
    "SELECT id FROM classes WHERE school_id = :school_id::text",
    "SELECT id FROM classes WHERE school_id IN (:school_id)",
    "SELECT id FROM classes WHERE status = 'active' AND (school_id = :school_id)",
    # what the row-level security policies compare with
    "SELECT id FROM classes"
    " WHERE school_id = NULLIF(current_setting('yeko.school_id', true), '')",
    # a join on school_id passes the scope on, whichever side is written first
    "SELECT e.id FROM enrollments AS e"
    " JOIN classes AS c ON c.school_id = e.school_id AND c.id = e.class_id"
    " WHERE e.school_id = :school_id",
    "SELECT e.id FROM classes AS c, enrollments AS e"
    " WHERE e.school_id = c.school_id AND c.school_id = :school_id",
    "SELECT e.id FROM enrollments AS e"
    " JOIN classes AS c ON c.id = e.class_id AND c.school_id = :school_id"
    " JOIN students AS s ON s.id = e.student_id AND s.school_id = e.school_id"
    " WHERE e.school_id = c.school_id",
    "SELECT c.id FROM classes AS c JOIN enrollments AS e USING (school_id)"
    " WHERE c.school_id = :school_id",
    # the nullable side of an outer join is scoped by its ON
    "SELECT c.id, e.id FROM classes AS c"
    " LEFT JOIN enrollments AS e ON e.class_id = c.id AND e.school_id = c.school_id"
    " WHERE c.school_id = :school_id",
    # every branch of a set operation
    "SELECT id FROM classes WHERE school_id = :school_id"
    " UNION ALL SELECT id FROM students WHERE school_id = :school_id",
    "SELECT id FROM classes WHERE school_id = :school_id"
    " INTERSECT SELECT class_id FROM enrollments WHERE school_id = :school_id"
    " EXCEPT SELECT class_id FROM marks WHERE school_id = :school_id",
    # CTEs and subqueries, in FROM, in the select list, EXISTS, IN, LATERAL
    "WITH c AS (SELECT id FROM classes WHERE school_id = :school_id) SELECT id FROM c",
    "SELECT x.id FROM (SELECT id FROM classes WHERE school_id = :school_id) AS x",
    "SELECT c.id, (SELECT count(*) FROM enrollments AS e"
    " WHERE e.class_id = c.id AND e.school_id = c.school_id) AS n"
    " FROM classes AS c WHERE c.school_id = :school_id",
    "SELECT s.id FROM students AS s WHERE s.school_id = :school_id AND EXISTS ("
    "SELECT FROM enrollments AS e WHERE e.student_id = s.id"
    " AND e.school_id = s.school_id)",
    "SELECT id FROM students WHERE school_id = :school_id AND id IN ("
    "SELECT student_id FROM enrollments WHERE school_id = :school_id)",
    "SELECT c.id, n.total FROM classes AS c CROSS JOIN LATERAL ("
    "SELECT count(*) AS total FROM enrollments"
    " WHERE class_id = c.id AND school_id = c.school_id) AS n"
    " WHERE c.school_id = :school_id",
    # the school_id a CTE or subquery hands on
    "WITH c AS (SELECT id, school_id FROM classes WHERE school_id = :school_id)"
    " SELECT e.id FROM enrollments AS e JOIN c ON e.school_id = c.school_id",
    # a scoped subquery inside an OR is still scoped
    "SELECT id FROM students WHERE school_id = :school_id AND (:all::boolean OR"
    " EXISTS (SELECT FROM marks WHERE student_id = students.id"
    " AND school_id = :school_id))",
    # writes: UPDATE ... FROM, DELETE ... USING, a data-modifying CTE
    "UPDATE enrollments AS e SET status = 'confirmed' FROM classes AS c"
    " WHERE c.id = e.class_id AND c.school_id = e.school_id"
    " AND e.school_id = :school_id",
    "DELETE FROM marks AS m USING classes AS c WHERE c.id = m.class_id"
    " AND c.school_id = :school_id AND m.school_id = c.school_id",
    "WITH gone AS (DELETE FROM marks WHERE id = ANY(:ids)"
    " AND school_id = :school_id RETURNING id) SELECT count(*) FROM gone",
    "SELECT id FROM tracks",  # global catalog
    "SELECT id FROM jobs",  # school_id may be NULL: not school-owned
    "SELECT id FROM schools",  # the tenants themselves
]


@pytest.mark.parametrize("sql", SCOPED)
def test_tenant_passes_when_every_school_owned_relation_is_scoped(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str
) -> None:
    assert rules_broken(sql_dir, pg, f"-- name: list_rows :many\n{sql};\n") == []


UNSCOPED = [
    # (the SQL, which relation is reported)
    (
        "SELECT id FROM students WHERE school_id = :school_id OR matricule = :m",
        "students",
    ),
    ("SELECT id FROM students WHERE NOT (school_id <> :school_id)", "students"),
    (
        "SELECT id FROM students"
        " WHERE CASE WHEN :x::boolean THEN school_id = :school_id ELSE true END",
        "students",
    ),
    ("SELECT id FROM students WHERE school_id <> :school_id", "students"),
    ("SELECT id FROM students WHERE school_id = 'x'", "students"),
    ("SELECT id FROM students WHERE school_id = ANY(ARRAY['x'])", "students"),
    (
        "SELECT c.id FROM classes AS c WHERE c.school_id = 'x'",
        "classes AS c",
    ),
    # joined on a key but not on school_id
    (
        "SELECT e.id FROM enrollments AS e JOIN classes AS c ON c.id = e.class_id"
        " WHERE e.school_id = :school_id",
        "classes AS c",
    ),
    # the preserved side of an outer join is not filtered by its ON
    (
        "SELECT c.id FROM classes AS c LEFT JOIN enrollments AS e"
        " ON e.class_id = c.id AND c.school_id = :school_id"
        " AND e.school_id = :school_id",
        "classes AS c",
    ),
    # the second branch of a set operation
    (
        "SELECT id FROM classes WHERE school_id = :school_id"
        " UNION ALL SELECT id FROM students",
        "students",
    ),
    (
        "SELECT id FROM classes WHERE school_id = :school_id"
        " EXCEPT SELECT class_id FROM enrollments",
        "enrollments",
    ),
    # a CTE, or a subquery in FROM, in the select list, EXISTS, IN, LATERAL
    (
        "WITH m AS (SELECT student_id FROM marks)"
        " SELECT s.id FROM students AS s JOIN m ON m.student_id = s.id"
        " WHERE s.school_id = :school_id",
        "marks",
    ),
    ("SELECT x.id FROM (SELECT id FROM classes) AS x", "classes"),
    (
        "SELECT c.id, (SELECT count(*) FROM enrollments AS e"
        " WHERE e.class_id = c.id) AS n FROM classes AS c"
        " WHERE c.school_id = :school_id",
        "enrollments AS e",
    ),
    (
        "SELECT s.id FROM students AS s WHERE s.school_id = :school_id AND EXISTS ("
        "SELECT FROM enrollments AS e WHERE e.student_id = s.id)",
        "enrollments AS e",
    ),
    (
        "SELECT id FROM students WHERE school_id = :school_id AND id IN ("
        "SELECT student_id FROM enrollments)",
        "enrollments",
    ),
    (
        "SELECT c.id, n.total FROM classes AS c CROSS JOIN LATERAL ("
        "SELECT count(*) AS total FROM enrollments WHERE class_id = c.id) AS n"
        " WHERE c.school_id = :school_id",
        "enrollments",
    ),
    # a correlated subquery cannot scope the outer level
    (
        "SELECT s.id FROM students AS s WHERE EXISTS ("
        "SELECT FROM enrollments AS e WHERE e.student_id = s.id"
        " AND e.school_id = :school_id AND s.school_id = :school_id)",
        "students AS s",
    ),
    # a CTE's school_id column that is not the scoped one passes nothing on
    (
        "WITH c AS (SELECT id, 'x' AS school_id FROM classes"
        " WHERE school_id = :school_id)"
        " SELECT e.id FROM enrollments AS e JOIN c ON e.school_id = c.school_id",
        "enrollments AS e",
    ),
    # writes
    ("UPDATE students SET status = 'left' WHERE id = :id", "students"),
    (
        "UPDATE enrollments AS e SET status = 'confirmed' FROM classes AS c"
        " WHERE c.id = e.class_id AND e.school_id = :school_id",
        "classes AS c",
    ),
    (
        "DELETE FROM marks AS m USING classes AS c WHERE c.id = m.class_id"
        " AND m.school_id = :school_id",
        "classes AS c",
    ),
    (
        "WITH gone AS (DELETE FROM marks WHERE id = :id RETURNING id)"
        " SELECT count(*) FROM gone",
        "marks",
    ),
]


@pytest.mark.parametrize(("sql", "relation"), UNSCOPED)
def test_tenant_fires_for_a_relation_left_unscoped(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str, relation: str
) -> None:
    found = violations(sql_dir, pg, f"-- name: list_rows :many\n{sql};\n")
    assert [v.rule for v in found] == ["tenant"]
    assert found[0].problem.startswith(f"{relation!r} is not scoped to one school")


def test_tenant_points_at_the_line_of_the_unscoped_branch(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [violation] = violations(
        sql_dir,
        pg,
        "-- name: list_people :many\n"
        "SELECT id FROM students\n"
        "WHERE school_id = :school_id\n"
        "UNION ALL\n"
        "SELECT user_id\n"
        "FROM user_schools\n"
        "WHERE role = 'teacher';\n",
    )
    assert (violation.rule, violation.line) == ("tenant", 6)
    assert violation.problem.startswith("'user_schools' is not scoped")


TERM = "INSERT INTO terms (id, school_id, school_year_id, name, sort_order,"
TERM_COLUMNS = " starts_on, ends_on)"

INSERTS_SCOPED = [
    f"{TERM}{TERM_COLUMNS} VALUES (:id, :school_id, :y, :n, 1, :s, :e)",
    f"{TERM}{TERM_COLUMNS} VALUES (:a, :school_id, :y, :n, 1, :s, :e),"
    " (:b, :school_id, :y, :n, 2, :s, :e)",
    # INSERT ... SELECT from a scoped row
    f"{TERM}{TERM_COLUMNS} SELECT :id, y.school_id, y.id, :n, 1, :s, :e"
    " FROM school_years AS y WHERE y.id = :y AND y.school_id = :school_id",
    # unnest bulk inserts: the school from a parameter, or an array of them
    f"{TERM}{TERM_COLUMNS} SELECT u.id, :school_id, u.y, u.n, 1, u.s, u.e"
    " FROM unnest(:ids::text[], :ys::text[], :ns::text[], :ss::date[],"
    " :es::date[]) AS u (id, y, n, s, e)",
    f"{TERM}{TERM_COLUMNS} SELECT u.id, u.school_id, u.y, u.n, 1, u.s, u.e"
    " FROM unnest(:ids::text[], :school_ids::text[], :ys::text[], :ns::text[],"
    " :ss::date[], :es::date[]) AS u (id, school_id, y, n, s, e)",
    "INSERT INTO user_schools (id, school_id, user_id, role)"
    " SELECT * FROM unnest(:ids::text[], :school_ids::text[], :users::text[],"
    " :roles::text[]) AS u (id, school_id, user_id, role)",
    # the school from a scoped CTE, as a data-modifying CTE hands it on
    "WITH moved AS (UPDATE terms SET sort_order = sort_order + 1"
    " WHERE school_id = :school_id AND school_year_id = :y"
    " RETURNING school_id, school_year_id)"
    f" {TERM}{TERM_COLUMNS} SELECT :id, m.school_id, m.school_year_id, :n, 1, :s, :e"
    " FROM moved AS m LIMIT 1",
    # the conflict key holds school_id, or DO UPDATE checks it
    "INSERT INTO students (id, school_id, matricule, first_name, last_name)"
    " VALUES (:id, :school_id, :m, :f, :l)"
    " ON CONFLICT (school_id, matricule) DO UPDATE"
    " SET first_name = excluded.first_name",
    f"{TERM}{TERM_COLUMNS} VALUES (:id, :school_id, :y, :n, 1, :s, :e)"
    " ON CONFLICT ON CONSTRAINT terms_school_year_id_sort_order_key DO UPDATE"
    " SET name = EXCLUDED.name WHERE terms.school_id = EXCLUDED.school_id",
    f"{TERM}{TERM_COLUMNS} VALUES (:id, :school_id, :y, :n, 1, :s, :e)"
    " ON CONFLICT (id) DO NOTHING",
]


@pytest.mark.parametrize("sql", INSERTS_SCOPED)
def test_tenant_passes_an_insert_whose_school_is_a_parameter_or_scoped(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str
) -> None:
    assert rules_broken(sql_dir, pg, f"-- name: add_rows :execrows\n{sql};\n") == []


INSERTS_UNSCOPED = [
    # (the SQL, the start of the problem)
    (
        "INSERT INTO terms (id, school_year_id, name, sort_order, starts_on, ends_on)"
        " VALUES (:id, :y, :n, 1, :s, :e)",
        "INSERT INTO 'terms' sets no school_id",
    ),
    (
        f"{TERM}{TERM_COLUMNS} VALUES (:a, :school_id, :y, :n, 1, :s, :e),"
        " (:b, 'x', :y, :n, 2, :s, :e)",
        "INSERT INTO 'terms' takes its school_id from neither",
    ),
    (
        f"{TERM}{TERM_COLUMNS} SELECT u.id, u.school_id, u.y, u.n, 1, u.s, u.e"
        " FROM unnest(:ids::text[], ARRAY['x'], :ys::text[], :ns::text[],"
        " :ss::date[], :es::date[]) AS u (id, school_id, y, n, s, e)",
        "INSERT INTO 'terms' takes its school_id from neither",
    ),
    (
        f"{TERM}{TERM_COLUMNS} SELECT :id, :school_id, :y, :n, 1, :s, :e"
        " UNION ALL SELECT :id2, s.id, :y, :n, 2, :s, :e FROM schools AS s",
        "INSERT INTO 'terms' takes its school_id from neither",
    ),
    (
        f"{TERM}{TERM_COLUMNS} VALUES (:id, :school_id, :y, :n, 1, :s, :e)"
        " ON CONFLICT ON CONSTRAINT terms_school_year_id_sort_order_key DO UPDATE"
        " SET name = EXCLUDED.name",
        "ON CONFLICT DO UPDATE may update a row of 'terms' of another school",
    ),
    (
        "MERGE INTO students AS s USING (SELECT :id AS id) AS n ON s.id = n.id"
        " WHEN MATCHED THEN UPDATE SET status = 'left'",
        "MERGE with the school-owned 'students AS s' is not checked",
    ),
]


@pytest.mark.parametrize(("sql", "problem"), INSERTS_UNSCOPED)
def test_tenant_fires_for_an_insert_whose_school_is_not_scoped(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str, problem: str
) -> None:
    found = violations(sql_dir, pg, f"-- name: add_rows :execrows\n{sql};\n")
    assert [v.rule for v in found] == ["tenant"]
    assert found[0].problem.startswith(problem)


def test_tenant_reports_both_the_unscoped_read_and_the_insert_it_feeds(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    found = violations(
        sql_dir,
        pg,
        "-- name: add_term :execrows\n"
        f"{TERM}{TERM_COLUMNS}\n"
        "SELECT :id, y.school_id, y.id, :n, 1, :s, :e\n"
        "FROM school_years AS y\n"
        "WHERE y.id = :y;\n",
    )
    assert [(v.line, v.problem.split(":")[0]) for v in found] == [
        (4, "'school_years AS y' is not scoped to one school"),
        (
            3,
            "INSERT INTO 'terms' takes its school_id from neither a parameter nor a row"
            " scoped to a school",
        ),
    ]


def test_tenant_passes_with_a_header_that_says_why(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    text = (
        "-- name: count_all_classes :scalar\n"
        "-- tenant: any: the platform dashboard counts every school\n"
        "-- role: yeko_platform\n"
        "SELECT count(*) FROM classes;\n"
    )
    assert rules_broken(sql_dir, pg, text) == []


# tenant-role


def test_tenant_role_fires_for_an_unscoped_query_without_a_role(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [violation] = violations(
        sql_dir,
        pg,
        "-- name: count_all_classes :scalar\n"
        "-- Every school's classes.\n"
        "-- tenant: any: the platform dashboard counts every school\n"
        "SELECT count(*) FROM classes;\n",
    )
    assert (violation.rule, violation.line) == ("tenant-role", 3)
    assert violation.hint.startswith("add '-- role: <role>'")


@pytest.mark.parametrize("role", ["yeko_platform", "owner"])
def test_tenant_role_passes_once_a_role_is_declared(
    sql_dir: SqlDir, pg: psycopg.Connection, role: str
) -> None:
    text = (
        "-- name: count_all_classes :scalar\n"
        "-- tenant: any: the platform dashboard counts every school\n"
        f"-- role: {role}\n"
        "SELECT count(*) FROM classes;\n"
    )
    assert rules_broken(sql_dir, pg, text) == []


# no-star


@pytest.mark.parametrize(
    ("sql", "line"),
    [
        ("SELECT * FROM schools", 2),
        ("SELECT s.id,\n  s.* FROM schools AS s", 3),
        ("UPDATE tracks SET name = :n WHERE id = :id RETURNING *", 2),
        ("SELECT x.* FROM (SELECT 1) AS y, tracks AS x", 2),
    ],
)
def test_no_star_fires_for_a_star_over_a_table(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str, line: int
) -> None:
    [violation] = violations(sql_dir, pg, f"-- name: list_rows :many\n{sql};\n")
    assert violation.rule == "no-star"
    assert violation.line == line
    assert violation.hint == "name the columns"


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO tracks (id, name, code)"
        " SELECT * FROM unnest(:ids::text[], :names::text[], :codes::text[])",
        "WITH t AS (SELECT id, code FROM tracks) SELECT * FROM t",
        "SELECT y.* FROM (SELECT id FROM tracks) AS y",
        "SELECT count(*) FROM tracks",
    ],
)
def test_no_star_passes_for_stars_whose_columns_the_query_fixes(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str
) -> None:
    assert rules_broken(sql_dir, pg, f"-- name: list_rows :many\n{sql};\n") == []


# stable-order


def test_stable_order_fires_when_the_order_can_tie(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    [violation] = violations(
        sql_dir,
        pg,
        "-- name: list_tracks :page\n"
        "SELECT id, count(*) OVER () AS total_count FROM tracks\n"
        "ORDER BY name\n"
        "LIMIT :limit OFFSET :offset;\n",
    )
    assert violation.rule == "stable-order"
    assert violation.line == 3
    assert violation.hint == "end the ORDER BY with a unique column such as id"


def test_stable_order_fires_without_an_order_by(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    text = "-- name: list_tracks :keyset\nSELECT id FROM tracks LIMIT :limit;\n"
    assert rules_broken(sql_dir, pg, text) == ["stable-order"]


@pytest.mark.parametrize(
    "order",
    [
        "name, id",
        "t.name DESC, t.id DESC",
        "code",  # a unique key of its own
        "label, track_id",  # an output alias of a unique column
    ],
)
def test_stable_order_passes_when_the_order_ends_on_a_unique_key(
    sql_dir: SqlDir, pg: psycopg.Connection, order: str
) -> None:
    text = (
        "-- name: list_tracks :page\n"
        "SELECT t.id AS track_id, t.name AS label, count(*) OVER () AS total_count\n"
        f"FROM tracks AS t ORDER BY {order} LIMIT :limit OFFSET :offset;\n"
    )
    assert rules_broken(sql_dir, pg, text) == []


def test_stable_order_counts_key_columns_fixed_by_equality(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    text = (
        "-- name: list_terms :page\n"
        "SELECT id, count(*) OVER () AS total_count FROM terms\n"
        "WHERE school_year_id = :school_year_id AND school_id = :school_id\n"
        "ORDER BY sort_order LIMIT :limit OFFSET :offset;\n"
    )
    assert rules_broken(sql_dir, pg, text) == []


# where


@pytest.mark.parametrize(
    ("sql", "verb"),
    [
        ("UPDATE tracks SET name = upper(name)", "UPDATE"),
        ("DELETE FROM tracks", "DELETE"),
        (
            "WITH gone AS (DELETE FROM tracks RETURNING id) SELECT count(*) FROM gone",
            "DELETE",
        ),
    ],
)
def test_where_fires_for_update_and_delete_without_where(
    sql_dir: SqlDir, pg: psycopg.Connection, sql: str, verb: str
) -> None:
    [violation] = violations(sql_dir, pg, f"-- name: clear_tracks :execrows\n{sql};\n")
    assert violation.rule == "where"
    assert violation.problem == f"{verb} of 'tracks' has no WHERE"


def test_where_passes_with_a_where(sql_dir: SqlDir, pg: psycopg.Connection) -> None:
    text = "-- name: delete_track :execrows\nDELETE FROM tracks WHERE id = :id;\n"
    assert rules_broken(sql_dir, pg, text) == []
