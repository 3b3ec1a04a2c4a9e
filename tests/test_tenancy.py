"""Row-Level Security keeps every school's rows away from every other school.

The application connects as ``yeko_app``: without ``yeko.school_id`` it sees no
school-owned row, and ``Database.for_school(id)`` scopes one transaction to one
school. ``yeko_analytics`` reads every school and writes nothing. The queries
below forget the tenant filter on purpose: the policies must hold anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from tests.fix_domain import World, new_id
from tests.fix_sqlfiles import SqlDir
from tests.test_schema import BOOKKEEPING_PREFIXES, GLOBAL_TABLES, SCHOOL_TABLES
from yeko_sql.database import Database
from yeko_sql.database_async import AsyncDatabase
from yeko_sql.loader import load_queries
from yeko_sql.migrate import apply_migrations, rollback_migrations
from yeko_sql.registry import Registry
from yeko_sql.settings import Settings

APP, ANALYTICS = "yeko_app", "yeko_analytics"
DOMAIN_TABLES = sorted(GLOBAL_TABLES | SCHOOL_TABLES)
SCOPED_TABLES = sorted(SCHOOL_TABLES | {"schools", "jobs"})
FIRST_TENANCY_MIGRATION = "0036_create-app-role"
PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES")
SETTINGS = Settings(strict_rows=True, min_size=1, max_size=1)

QUERIES = """
-- name: count_students :scalar
SELECT count(*) FROM students;

-- name: list_student_school_ids :scalar
SELECT coalesce(array_agg(DISTINCT school_id ORDER BY school_id), '{}')
FROM students;

-- name: count_school_students :scalar
SELECT count(*) FROM students WHERE school_id = :school_id;

-- name: count_student :scalar
SELECT count(*) FROM students WHERE id = :id;

-- name: update_student_first_name :execrows
UPDATE students SET first_name = :first_name WHERE id = :id;

-- name: update_student_school :execrows
UPDATE students SET school_id = :school_id WHERE id = :id;

-- name: delete_fee_structure :execrows
DELETE FROM fee_structures WHERE id = :id;

-- name: create_student :scalar
INSERT INTO students (id, school_id, matricule, first_name, last_name)
VALUES (:id, :school_id, :matricule, 'Ama', 'Yao')
RETURNING id;

-- name: get_backend_pid :scalar
SELECT pg_backend_pid();
"""


def owner_column(table: str) -> sql.Identifier:
    return sql.Identifier("id" if table == "schools" else "school_id")


def count_rows(
    conn: psycopg.Connection[Any], table: str, school_id: str | None = None
) -> int:
    """The rows of *table* that *conn* sees; with *school_id*, only that school's
    (and, in jobs, those of no school)."""
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
    params: list[object] = []
    if school_id is not None:
        column = owner_column(table)
        query += sql.SQL(" WHERE {c} = %s OR {c} IS NULL").format(c=column)
        params = [school_id]
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def as_role(database_url: str, role: str) -> str:
    return psycopg.conninfo.make_conninfo(database_url, user=role)


def _row(pg: psycopg.Connection, table: str, **values: object) -> str:
    values.setdefault("id", new_id())
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    pg.execute(query, list(values.values()))
    return str(values["id"])


@pytest.fixture
def full_world(pg: psycopg.Connection, world: World) -> World:
    """``world`` plus a row of every school-owned table it leaves empty."""
    for school in world.schools:
        user = _row(pg, "users", email=f"{new_id().lower()}@ex.org", full_name="Awa")
        _row(pg, "user_schools", user_id=user, school_id=school.school_id, role="admin")
        common = {"school_id": school.school_id, "student_id": school.student_ids[0]}
        class_id = school.class_ids["6e A"]
        year = school.school_year_id
        _row(pg, "enrollments", class_id=class_id, school_year_id=year, **common)
        _row(pg, "payments", school_year_id=year, amount=5000, method="cash", **common)
        _row(
            pg,
            "marks",
            class_id=class_id,
            subject_id=world.subject_ids["MATH"],
            term_id=school.term_ids[0],
            kind="test",
            label="Devoir 1",
            value=12,
            **common,
        )
        _row(pg, "jobs", school_id=school.school_id, kind="recompute_averages")
    _row(pg, "jobs", kind="refresh_catalog")  # a job of no school
    return world


@pytest.fixture
def queries(sql_dir: SqlDir) -> Registry:
    sql_dir.write("tenancy.sql", QUERIES)
    return load_queries(sql_dir.path)


@pytest.fixture
def app_db(database_url: str, queries: Registry) -> Iterator[Database]:
    """The application's view: yeko_app, one pooled connection."""
    with Database(as_role(database_url, APP), queries=queries, settings=SETTINGS) as db:
        yield db


# -- the catalog -------------------------------------------------------------


def test_the_app_and_analytics_roles_can_log_in_but_never_bypass_rls(
    pg: psycopg.Connection,
) -> None:
    rows = pg.execute(
        "SELECT rolname, rolcanlogin, rolsuper, rolbypassrls, rolcreaterole"
        " FROM pg_roles WHERE rolname = ANY(%s) ORDER BY rolname",
        [[APP, ANALYTICS]],
    ).fetchall()
    assert rows == [
        (ANALYTICS, True, False, False, False),
        (APP, True, False, False, False),
    ]


def test_the_tables_stay_owned_by_the_role_that_migrates(
    pg: psycopg.Connection,
) -> None:
    owners = pg.execute(
        "SELECT DISTINCT tableowner FROM pg_tables WHERE tablename = ANY(%s)",
        [DOMAIN_TABLES],
    ).fetchall()
    assert owners == [(pg.info.user,)]


def test_every_table_with_a_school_id_has_rls_and_a_scope_policy_for_the_app(
    pg: psycopg.Connection,
) -> None:
    rows = pg.execute(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               array_agg(p.policyname || ' ' || p.cmd || ' '
                         || array_to_string(p.roles, ',') ORDER BY p.policyname)
        FROM pg_class AS c
        LEFT JOIN pg_policies AS p
          ON p.schemaname = 'public'
         AND p.tablename = c.relname
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relkind = 'r'
          AND (c.relname = 'schools' OR EXISTS (
              SELECT FROM pg_attribute AS a
              WHERE a.attrelid = c.oid
                AND a.attname = 'school_id'
                AND NOT a.attisdropped
          ))
        GROUP BY c.relname, c.relrowsecurity, c.relforcerowsecurity
        """
    ).fetchall()
    policies = [f"analytics_read SELECT {ANALYTICS}", f"school_scope ALL {APP}"]
    assert {table: rest for table, *rest in rows} == {
        table: [True, False, policies] for table in SCOPED_TABLES
    }
    scopes = pg.execute(
        "SELECT tablename, qual, with_check FROM pg_policies"
        " WHERE %s::name = ANY(roles)",
        [APP],
    ).fetchall()
    setting = "NULLIF(current_setting('yeko.school_id'::text, true), ''::text)"
    scoped = {
        table for table, qual, check in scopes if qual == check and setting in qual
    }
    assert scoped == set(SCOPED_TABLES)


def test_the_app_gets_the_domain_tables_and_only_reads_and_appends_payments(
    pg: psycopg.Connection,
) -> None:
    def granted(role: str) -> dict[str, tuple[str, ...]]:
        rows = pg.execute(
            """
            SELECT t, coalesce(array_agg(p ORDER BY p)
                               FILTER (WHERE has_table_privilege(%s, t, p)), '{}')
            FROM unnest(%s::text[]) AS t
            CROSS JOIN unnest(%s::text[]) AS p
            GROUP BY t
            """,
            [role, DOMAIN_TABLES, list(PRIVILEGES)],
        ).fetchall()
        return {table: tuple(privileges) for table, privileges in rows}

    crud = ("DELETE", "INSERT", "SELECT", "UPDATE")
    assert granted(APP) == dict.fromkeys(DOMAIN_TABLES, crud) | {
        "payments": ("INSERT", "SELECT")
    }
    assert granted(ANALYTICS) == dict.fromkeys(DOMAIN_TABLES, ("SELECT",))


def test_neither_role_can_touch_the_migration_bookkeeping_or_create_tables(
    pg: psycopg.Connection,
) -> None:
    rows = pg.execute(
        """
        SELECT c.relname, has_table_privilege(r.oid, c.oid, %s)
        FROM pg_class AS c
        CROSS JOIN pg_roles AS r
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relkind = 'r'
          AND r.rolname = ANY(%s)
        """,
        [", ".join(PRIVILEGES), [APP, ANALYTICS]],
    ).fetchall()
    bookkeeping = [(t, ok) for t, ok in rows if t.startswith(BOOKKEEPING_PREFIXES)]
    assert {"yeko_migration_checksums", "_yoyo_migration"} <= {
        t for t, _ in bookkeeping
    }
    assert [t for t, ok in bookkeeping if ok] == []
    schema = pg.execute(
        "SELECT r, has_schema_privilege(r, 'public', 'USAGE'),"
        " has_schema_privilege(r, 'public', 'CREATE')"
        " FROM unnest(%s::text[]) AS r ORDER BY r",
        [[APP, ANALYTICS]],
    ).fetchall()
    assert schema == [(ANALYTICS, True, False), (APP, True, False)]


def test_every_sequence_of_the_schema_is_usable_by_the_app(
    pg: psycopg.Connection,
) -> None:
    rows = pg.execute(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND NOT"
        " has_sequence_privilege(%s, 'public.' || quote_ident(sequencename), 'USAGE')",
        [APP],
    ).fetchall()
    assert [name for (name,) in rows if not name.startswith(BOOKKEEPING_PREFIXES)] == []


# -- the application role ----------------------------------------------------


def test_without_a_scope_the_app_sees_no_school_owned_row(
    database_url: str, pg: psycopg.Connection, full_world: World
) -> None:
    assert all(count_rows(pg, table) for table in SCOPED_TABLES)
    with psycopg.connect(as_role(database_url, APP), autocommit=True) as app:
        unset = {table: count_rows(app, table) for table in SCOPED_TABLES}
        app.execute("SET yeko.school_id = ''")
        empty = {table: count_rows(app, table) for table in SCOPED_TABLES}
        grades = count_rows(app, "grades")
    nothing = dict.fromkeys(SCOPED_TABLES, 0) | {"jobs": 1}  # the job of no school
    assert unset == nothing
    assert empty == nothing
    assert grades == 7  # the global catalog is not school-owned


def test_without_a_scope_the_app_cannot_write_a_school_owned_row(
    app_db: Database, world: World
) -> None:
    school = world.first
    assert (
        app_db.tenancy.update_student_first_name(
            id=school.student_ids[0], first_name="Eve"
        )
        == 0
    )
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        app_db.tenancy.create_student(
            id=new_id(), school_id=school.school_id, matricule="NOSCOPE"
        )


def test_a_scoped_transaction_sees_exactly_its_own_schools_rows(
    app_db: Database, pg: psycopg.Connection, full_world: World
) -> None:
    school_id = full_world.first.school_id
    expected = {table: count_rows(pg, table, school_id) for table in SCOPED_TABLES}
    with app_db.for_school(school_id) as tx:
        seen = {table: count_rows(tx.connection, table) for table in SCOPED_TABLES}
        assert tx.tenancy.list_student_school_ids() == [school_id]
    assert seen == expected
    assert expected["students"] == 100


def test_a_scoped_transaction_cannot_read_another_schools_rows_by_their_ids(
    app_db: Database, world: World
) -> None:
    mine, theirs = world.schools
    with app_db.for_school(mine.school_id) as tx:
        assert tx.tenancy.count_school_students(school_id=theirs.school_id) == 0
        assert tx.tenancy.count_student(id=theirs.student_ids[0]) == 0
        assert tx.tenancy.count_student(id=mine.student_ids[0]) == 1


def test_a_scoped_transaction_cannot_update_or_delete_another_schools_rows(
    app_db: Database, pg: psycopg.Connection, world: World
) -> None:
    mine, theirs = world.schools
    with app_db.for_school(mine.school_id) as tx:
        rename = tx.tenancy.update_student_first_name
        assert rename(id=theirs.student_ids[0], first_name="Eve") == 0
        assert rename(id=mine.student_ids[0], first_name="Ama") == 1
        delete = tx.tenancy.delete_fee_structure
        assert delete(id=theirs.fee_structure_ids["6EME"]) == 0
        assert delete(id=mine.fee_structure_ids["6EME"]) == 1
    name = pg.execute(
        "SELECT first_name FROM students WHERE id = %s", [theirs.student_ids[0]]
    ).fetchone()
    assert name == ("Awa0",)
    assert count_rows(pg, "fee_structures", theirs.school_id) == 7


def test_a_scoped_transaction_writes_only_rows_of_its_own_school(
    app_db: Database, pg: psycopg.Connection, world: World
) -> None:
    mine, theirs = world.schools
    with app_db.for_school(mine.school_id) as tx:
        tx.tenancy.create_student(id=new_id(), school_id=mine.school_id, matricule="M1")
    with (
        pytest.raises(errors.InsufficientPrivilege, match="row-level security"),
        app_db.for_school(mine.school_id) as tx,
    ):
        tx.tenancy.create_student(
            id=new_id(), school_id=theirs.school_id, matricule="T1"
        )
    with (
        pytest.raises(errors.InsufficientPrivilege, match="row-level security"),
        app_db.for_school(mine.school_id) as tx,
    ):  # moving its own row to another school is a write into that school
        tx.tenancy.update_student_school(
            id=mine.student_ids[0], school_id=theirs.school_id
        )
    assert count_rows(pg, "students", mine.school_id) == 101
    assert count_rows(pg, "students", theirs.school_id) == 100


@pytest.mark.parametrize(
    "change", ["UPDATE payments SET note = 'edited'", "DELETE FROM payments"]
)
def test_the_app_appends_payments_but_cannot_change_them(
    app_db: Database, world: World, change: str
) -> None:
    school = world.first
    with app_db.for_school(school.school_id) as tx:
        tx.execute(
            "INSERT INTO payments (id, school_id, student_id, school_year_id, amount,"
            " method) VALUES ($1, $2, $3, $4, 5000, 'cash')",
            [new_id(), school.school_id, school.student_ids[0], school.school_year_id],
        )
    with (
        pytest.raises(errors.InsufficientPrivilege, match="permission denied"),
        app_db.for_school(school.school_id) as tx,
    ):
        tx.execute(change)


def test_the_scope_ends_with_its_transaction_on_the_same_pooled_connection(
    app_db: Database, world: World
) -> None:
    with app_db.for_school(world.first.school_id) as tx:
        pid = tx.tenancy.get_backend_pid()
        assert tx.tenancy.count_students() == 100
    assert app_db.tenancy.get_backend_pid() == pid  # max_size=1: the same session
    assert app_db.tenancy.count_students() == 0
    with app_db.transaction() as tx:
        assert tx.tenancy.count_students() == 0


@pytest.mark.parametrize("failure", ["sql", "python"])
def test_the_scope_ends_when_its_transaction_fails(
    app_db: Database, world: World, failure: str
) -> None:
    mine, theirs = world.schools
    with (
        pytest.raises((errors.InsufficientPrivilege, RuntimeError)),
        app_db.for_school(mine.school_id) as tx,
    ):
        pid = tx.tenancy.get_backend_pid()
        assert tx.tenancy.count_students() == 100
        if failure == "python":
            raise RuntimeError("the caller failed")
        tx.tenancy.create_student(
            id=new_id(), school_id=theirs.school_id, matricule="T2"
        )
    assert app_db.tenancy.get_backend_pid() == pid
    assert app_db.tenancy.count_students() == 0


def test_the_async_twin_scopes_one_transaction_and_leaks_nothing(
    database_url: str, queries: Registry, world: World
) -> None:
    mine, theirs = world.schools

    async def scenario() -> None:
        url = as_role(database_url, APP)
        async with AsyncDatabase(url, queries=queries, settings=SETTINGS) as adb:
            async with adb.for_school(mine.school_id) as tx:
                pid = await tx.tenancy.get_backend_pid()
                assert await tx.tenancy.count_students() == 100
                assert (
                    await tx.tenancy.update_student_first_name(
                        id=theirs.student_ids[0], first_name="Eve"
                    )
                    == 0
                )
            assert await adb.tenancy.count_students() == 0
            with pytest.raises(errors.InsufficientPrivilege):
                async with adb.for_school(mine.school_id) as tx:
                    await tx.tenancy.create_student(
                        id=new_id(), school_id=theirs.school_id, matricule="T3"
                    )
            assert await adb.tenancy.get_backend_pid() == pid
            assert await adb.tenancy.count_students() == 0

    asyncio.run(scenario())


def test_rls_does_not_stop_a_row_from_pointing_at_another_schools_row(
    app_db: Database, world: World
) -> None:
    """Foreign-key checks bypass RLS: only composite (school_id, id) keys would
    refuse this enrollment into another school's class (docs/tenancy.md)."""
    mine, theirs = world.schools
    with app_db.for_school(mine.school_id) as tx:
        inserted = tx.execute(
            "INSERT INTO enrollments (id, school_id, student_id, class_id,"
            " school_year_id) VALUES ($1, $2, $3, $4, $5)",
            [
                new_id(),
                mine.school_id,
                mine.student_ids[0],
                theirs.class_ids["6e A"],
                mine.school_year_id,
            ],
        )
    assert inserted == 1


# -- the analytics role ------------------------------------------------------


def test_the_analytics_role_reads_every_school(
    database_url: str, pg: psycopg.Connection, full_world: World
) -> None:
    everything = {table: count_rows(pg, table) for table in SCOPED_TABLES}
    with psycopg.connect(as_role(database_url, ANALYTICS)) as analytics:
        seen = {table: count_rows(analytics, table) for table in SCOPED_TABLES}
        schools = analytics.execute(
            "SELECT count(DISTINCT school_id) FROM students"
        ).fetchone()
    assert seen == everything
    assert schools == (2,)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO tracks (id, name, code) VALUES ('t', 'Third cycle', 'TC')",
        "INSERT INTO payments (id, school_id, student_id, school_year_id, amount,"
        " method) SELECT id, school_id, id, id, 1, 'cash' FROM students",
        "UPDATE students SET first_name = 'Eve'",
        "DELETE FROM marks",
        "DELETE FROM schools",
    ],
)
def test_the_analytics_role_cannot_write(
    database_url: str, full_world: World, statement: str
) -> None:
    with (
        psycopg.connect(as_role(database_url, ANALYTICS)) as analytics,
        pytest.raises(errors.InsufficientPrivilege, match="permission denied"),
    ):
        analytics.execute(statement)


# -- the migrations ----------------------------------------------------------


def test_rolling_back_revokes_and_drops_the_policies_but_keeps_the_roles(
    empty_database_url: str,
) -> None:
    """Roles belong to the cluster and other databases may use them."""
    url = empty_database_url
    applied = apply_migrations(url)
    ours = applied[applied.index(FIRST_TENANCY_MIGRATION) :]

    def leftovers() -> tuple[int, ...]:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                """
                SELECT
                    (SELECT count(*) FROM pg_shdepend
                     WHERE dbid = (SELECT oid FROM pg_database
                                   WHERE datname = current_database())
                       AND refobjid IN (SELECT oid FROM pg_roles
                                        WHERE rolname = ANY(%s))),
                    (SELECT count(*) FROM pg_class WHERE relrowsecurity),
                    (SELECT count(*) FROM pg_policy),
                    (SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s))
                """,
                [[APP, ANALYTICS], [APP, ANALYTICS]],
            ).fetchone()
        assert row is not None
        return tuple(int(n) for n in row)

    grants, rls, policies, roles = leftovers()
    assert (rls, policies, roles) == (11, 22, 2)
    assert grants > 0
    assert rollback_migrations(url, count=len(ours)) == list(reversed(ours))
    assert leftovers() == (0, 0, 0, 2)
    assert apply_migrations(url) == ours
