"""Row-Level Security keeps every school's rows away from every other school.

The application connects as ``yeko_app``: without ``yeko.school_id`` it sees no
school-owned row, and ``Database.for_school(id)`` scopes one transaction to one
school. ``yeko_analytics`` reads every school and writes nothing;
``yeko_platform`` runs the cross-school paths and reads no pupil's record. The
tables force RLS, so even their owner is scoped inside ``for_school``, and the
foreign keys carry ``school_id``, so no row points into another school. The
queries below forget the tenant filter on purpose: the policies must hold anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import msgspec
import psycopg
import pytest
from psycopg import errors, sql

from tests.fix_domain import World, new_id
from tests.fix_sqlfiles import SqlDir
from tests.test_schema import BOOKKEEPING_PREFIXES, GLOBAL_TABLES, SCHOOL_TABLES
from yeko_sql import columns_of
from yeko_sql.ops.migrate import apply_migrations, rollback_migrations
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.runtime.database import Database
from yeko_sql.runtime.database_async import AsyncDatabase
from yeko_sql.settings import Settings
from yeko_sql.yeko.domain.jobs import JobInsert
from yeko_sql.yeko.domain.schools import SchoolInsert, SchoolStatusCount
from yeko_sql.yeko.seed.run import seed_database

APP, ANALYTICS, PLATFORM = "yeko_app", "yeko_analytics", "yeko_platform"
ROLES = [APP, ANALYTICS, PLATFORM]
DOMAIN_TABLES = sorted(GLOBAL_TABLES | SCHOOL_TABLES)
SCOPED_TABLES = sorted(SCHOOL_TABLES | {"schools", "jobs"})
FIRST_TENANCY_MIGRATION = "0036_create-app-role"
PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES")
SETTINGS = Settings(min_size=1, max_size=1)

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


def test_the_app_analytics_and_platform_roles_can_log_in_but_never_bypass_rls(
    pg: psycopg.Connection,
) -> None:
    rows = pg.execute(
        "SELECT rolname, rolcanlogin, rolsuper, rolbypassrls, rolcreaterole"
        " FROM pg_roles WHERE rolname = ANY(%s) ORDER BY rolname",
        [ROLES],
    ).fetchall()
    assert rows == [(role, True, False, False, False) for role in sorted(ROLES)]


def test_the_tables_stay_owned_by_the_role_that_migrates(
    pg: psycopg.Connection,
) -> None:
    owners = pg.execute(
        "SELECT DISTINCT tableowner FROM pg_tables WHERE tablename = ANY(%s)",
        [DOMAIN_TABLES],
    ).fetchall()
    assert owners == [(pg.info.user,)]


def test_every_table_with_a_school_id_forces_rls_with_a_scope_policy_per_role(
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
    owner = pg.info.user
    policies = [
        f"analytics_read SELECT {ANALYTICS}",
        f"owner_maintenance ALL {owner}",
        f"school_scope ALL {APP}",
    ]
    platform = {
        "schools": f"platform_access ALL {PLATFORM}",
        "jobs": f"platform_access ALL {PLATFORM}",
        "user_schools": f"platform_read SELECT {PLATFORM}",
        "school_years": f"platform_read SELECT {PLATFORM}",
    }
    expected = {
        table: sorted([*policies, platform[table]] if table in platform else policies)
        for table in SCOPED_TABLES
    }
    assert {table: rest for table, *rest in rows} == {
        table: [True, True, expected[table]] for table in SCOPED_TABLES
    }
    setting = "NULLIF(current_setting('yeko.school_id'::text, true), ''::text)"
    for role in (APP, owner):
        scopes = pg.execute(
            "SELECT tablename, qual, with_check FROM pg_policies"
            " WHERE %s::name = ANY(roles)",
            [role],
        ).fetchall()
        scoped = {
            table for table, qual, check in scopes if qual == check and setting in qual
        }
        assert scoped == set(SCOPED_TABLES), role


def test_each_role_gets_only_the_grants_its_paths_need(
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
    # The cross-school paths only: no class, pupil, fee, payment or mark.
    assert {table: p for table, p in granted(PLATFORM).items() if p} == {
        "schools": ("INSERT", "SELECT", "UPDATE"),
        "jobs": ("INSERT", "SELECT", "UPDATE"),
        "users": ("SELECT",),
        "user_schools": ("SELECT",),
        "school_years": ("SELECT",),
    }


def test_no_role_can_touch_the_migration_bookkeeping_or_create_tables(
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
        [", ".join(PRIVILEGES), ROLES],
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
        [ROLES],
    ).fetchall()
    assert schema == [(role, True, False) for role in sorted(ROLES)]


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


def test_a_scoped_row_cannot_point_at_another_schools_row(
    app_db: Database, pg: psycopg.Connection, world: World
) -> None:
    """Foreign-key checks bypass RLS, so RLS alone let this enrollment into
    another school's class through; the tenant key (school_id, class_id)
    REFERENCES classes (school_id, id) refuses it."""
    mine, theirs = world.schools
    enroll = (
        "INSERT INTO enrollments (id, school_id, student_id, class_id,"
        " school_year_id) VALUES ($1, $2, $3, $4, $5)"
    )
    with (
        pytest.raises(errors.ForeignKeyViolation) as caught,
        app_db.for_school(mine.school_id) as tx,
    ):
        tx.execute(
            enroll,
            [
                new_id(),
                mine.school_id,
                mine.student_ids[0],
                theirs.class_ids["6e A"],
                mine.school_year_id,
            ],
        )
    assert caught.value.diag.constraint_name == "enrollments_school_id_class_id_fkey"
    with app_db.for_school(mine.school_id) as tx:  # its own class: accepted
        args = [mine.student_ids[0], mine.class_ids["6e A"], mine.school_year_id]
        assert tx.execute(enroll, [new_id(), mine.school_id, *args]) == 1
    assert count_rows(pg, "enrollments") == 1


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


# -- the platform role --------------------------------------------------------

# The cross-school paths (``-- role: yeko_platform``): each runs below as that role.
PLATFORM_QUERIES = {
    "jobs.claim_jobs",
    "jobs.complete_jobs",
    "jobs.count_jobs_by_status",
    "jobs.enqueue_jobs",
    "jobs.fail_jobs",
    "jobs.get_job",
    "jobs.requeue_stale_jobs",
    "school_years.count_template_school_years",
    "schools.create_school",
    "schools.find_school_by_code",
    "schools.list_school_status_counts",
    "schools.list_schools",
    "schools.upsert_schools",
    "users.list_user_schools",
}
# What it never gets: the pupils, their classes, fees, money and marks.
PUPIL_TABLES = [
    "students",
    "enrollments",
    "payments",
    "marks",
    "classes",
    "fee_structures",
    "terms",
]


@pytest.fixture
def platform(database_url: str, bundled_queries: Registry) -> Iterator[Database]:
    """Yeko's queries as ``yeko_platform``, unscoped, one pooled connection."""
    url = as_role(database_url, PLATFORM)
    with Database(url, queries=bundled_queries, settings=SETTINGS) as db:
        yield db


def test_the_platform_queries_are_the_cross_school_ones_that_declare_the_role(
    bundled_queries: Registry,
) -> None:
    declared = {q.qualname for q in bundled_queries if q.role == PLATFORM}
    assert declared == PLATFORM_QUERIES
    assert all("tenant" in bundled_queries[name].headers for name in declared)


def test_the_platform_role_runs_every_cross_school_path(
    platform: Database, pg: psycopg.Connection, full_world: World
) -> None:
    """Each platform query, as ``yeko_platform``, sees every school."""
    mine, theirs = full_world.schools
    both = {mine.school_id, theirs.school_id}
    user = _row(pg, "users", email="awa.kone@example.org", full_name="Awa Kone")
    for school_id in sorted(both):
        _row(pg, "user_schools", user_id=user, school_id=school_id, role="teacher")
    # The school picker at sign-in, before any school is chosen.
    picker = platform.users.list_user_schools(user_id=user)
    assert {school.school_id for school in picker} == both
    # Schools: create, find by code, list, count, import.
    new = SchoolInsert(name="College Nouveau", code="CN001")
    created = platform.schools.create_school(**msgspec.structs.asdict(new))
    assert platform.schools.find_school_by_code(code="CN001") == created
    listed = platform.schools.list_schools(
        status="active", search=None, page=1, page_size=10
    )
    assert {school.id for school in listed.items} == {*both, new.id}
    assert platform.schools.list_school_status_counts() == [
        SchoolStatusCount(status="active", total=3)
    ]
    rows = [SchoolInsert(name="Lycee Moderne 1 bis", code="LM001")]
    fields = ["id", "name", "code", "city", "address", "phone", "email"]
    assert platform.schools.upsert_schools(**columns_of(rows, fields)) == 1
    count = platform.school_years.count_template_school_years
    assert count(school_year_template_id=full_world.template_id) == 2
    # The job worker, over the jobs of every school and of none.
    jobs = [
        JobInsert(kind="fees.remind", school_id=mine.school_id),
        JobInsert(kind="fees.remind", school_id=theirs.school_id),
        JobInsert(kind="catalog.refresh"),
    ]
    assert platform.jobs.enqueue_jobs(**columns_of(jobs)) == 3
    pg.execute("UPDATE jobs SET run_after = now() - interval '1 minute'")
    claimed = platform.jobs.claim_jobs(
        worker="w1", kinds=["fees.remind", "catalog.refresh"], limit=10
    )
    assert {job.school_id for job in claimed} == {*both, None}
    done, failed, stale = (job.id for job in claimed)
    assert platform.jobs.complete_jobs(ids=[done], worker="w1") == 1
    assert (
        platform.jobs.fail_jobs(
            ids=[failed],
            errors=["timeout"],
            worker="w1",
            max_attempts=3,
            backoff=timedelta(seconds=30),
        )
        == 1
    )
    requeue = platform.jobs.requeue_stale_jobs
    assert requeue(max_attempts=3, stale=timedelta(0)) == 1
    assert platform.jobs.get_job(id=stale).status == "queued"
    by_status = platform.jobs.count_jobs_by_status()
    assert by_status == {"done": 1, "queued": 5}  # full_world queued 3 of its own


@pytest.mark.parametrize("table", PUPIL_TABLES)
def test_the_platform_role_cannot_read_a_pupils_records(
    database_url: str, full_world: World, table: str
) -> None:
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
    with (
        psycopg.connect(as_role(database_url, PLATFORM)) as platform,
        pytest.raises(errors.InsufficientPrivilege, match="permission denied"),
    ):
        platform.execute(query)


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM schools",
        "DELETE FROM jobs",
        "UPDATE user_schools SET role = 'admin'",
        "UPDATE school_years SET name = 'x'",
        "UPDATE users SET full_name = 'x'",
        "TRUNCATE jobs",
    ],
)
def test_the_platform_role_changes_only_schools_and_jobs_and_deletes_nothing(
    database_url: str, full_world: World, statement: str
) -> None:
    with (
        psycopg.connect(as_role(database_url, PLATFORM)) as platform,
        pytest.raises(errors.InsufficientPrivilege, match="permission denied"),
    ):
        platform.execute(statement)


# -- an owner that is not a superuser ---------------------------------------

OWNER = "yeko_test_owner"


@pytest.fixture
def owner_url(pg: psycopg.Connection, empty_database_url: str) -> str:
    """An empty database owned, then migrated, by a role that is no superuser
    and does not bypass RLS, as on a managed server. The cluster's roles exist
    already (``pg``'s template made them), as a DBA would have created them."""
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        with contextlib.suppress(errors.DuplicateObject):  # made by an earlier test
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS").format(
                    sql.Identifier(OWNER)
                )
            )
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(conn.info.dbname), sql.Identifier(OWNER)
            )
        )
    url = as_role(empty_database_url, OWNER)
    apply_migrations(url)
    return url


def forced_tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT relname FROM pg_class WHERE relforcerowsecurity ORDER BY relname"
    ).fetchall()
    return [name for (name,) in rows]


def test_a_non_superuser_owner_migrates_and_seeds_every_school_outside_a_scope(
    owner_url: str,
) -> None:
    report = seed_database(owner_url, size="tiny", progress=False)
    with psycopg.connect(owner_url, autocommit=True) as owner:
        row = owner.execute(
            "SELECT rolsuper, rolbypassrls, row_security_active('students')"
            " FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, False, True)  # RLS applies to this owner
        schools = owner.execute(
            "SELECT count(DISTINCT school_id), count(*) FROM students"
        ).fetchone()
        assert schools == (2, report.counts["students"])
        assert forced_tables(owner) == sorted(SCOPED_TABLES)  # forced again


def test_inside_a_school_scope_even_the_owner_sees_and_writes_only_that_school(
    owner_url: str, queries: Registry
) -> None:
    with psycopg.connect(owner_url, autocommit=True) as owner:
        schools = [
            _row(owner, "schools", name=f"Lycee {n}", code=f"LY{n}") for n in (1, 2)
        ]
        students = [
            _row(
                owner,
                "students",
                school_id=school_id,
                matricule="M1",
                first_name="Awa",
                last_name="Kone",
            )
            for school_id in schools
        ]
    mine, theirs = schools
    with Database(owner_url, queries=queries, settings=SETTINGS) as db:
        assert sorted(db.tenancy.list_student_school_ids()) == sorted(schools)
        with db.for_school(mine) as tx:
            assert tx.tenancy.list_student_school_ids() == [mine]
            assert tx.tenancy.count_student(id=students[1]) == 0
            rename = tx.tenancy.update_student_first_name
            assert rename(id=students[1], first_name="Eve") == 0
        with (
            pytest.raises(errors.InsufficientPrivilege, match="row-level security"),
            db.for_school(mine) as tx,
        ):
            tx.tenancy.create_student(id=new_id(), school_id=theirs, matricule="M2")


def test_forced_rls_locks_out_an_owner_without_its_policy(owner_url: str) -> None:
    """owner_maintenance is what lets the owner in: FORCE applies to it."""
    with psycopg.connect(owner_url) as owner:
        school = _row(owner, "schools", name="Lycee", code="LY1")
        owner.commit()
        assert count_rows(owner, "schools") == 1
        owner.execute("DROP POLICY owner_maintenance ON schools")
        assert count_rows(owner, "schools") == 0
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            _row(owner, "schools", name="Lycee 2", code="LY2")
        owner.rollback()
        assert count_rows(owner, "schools", school) == 1


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
                    (SELECT count(*) FROM pg_class WHERE relforcerowsecurity),
                    (SELECT count(*) FROM pg_policy),
                    (SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s))
                """,
                [ROLES, ROLES],
            ).fetchone()
        assert row is not None
        return tuple(int(n) for n in row)

    grants, rls, forced, policies, roles = leftovers()
    # school_scope and analytics_read on 11 tables, owner_maintenance on the
    # same 11, platform_access and platform_read on 2 tables each.
    assert (rls, forced, policies, roles) == (11, 11, 37, 3)
    assert grants > 0
    assert rollback_migrations(url, count=len(ours)) == list(reversed(ours))
    assert leftovers() == (0, 0, 0, 0, 3)
    assert apply_migrations(url) == ours
