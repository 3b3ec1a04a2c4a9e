import re
from decimal import Decimal

import msgspec
import psycopg
import pytest

from tests.fix_domain import ScopedDb, World
from tests.steps import class_students, enroll_all, pay
from yeko_sql.bulk.copy import columns_of
from yeko_sql.ids import new_id
from yeko_sql.query.registry import Registry
from yeko_sql.verify.plans import SAMPLES, combination_label, guard_queries
from yeko_sql.yeko.domain.marks import MarkInsert
from yeko_sql.yeko.domain.payments import PaymentInsert
from yeko_sql.yeko.domain.programs import ProgramTemplateInsert
from yeko_sql.yeko.domain.users import UserInsert

# The one sample that picks "no filter" on purpose.
NULL_SAMPLES = {"sample_search"}
INDEX_NAME = re.compile(r"\b[a-z0-9_]+_(?:idx|key|pkey)\b")


@pytest.fixture
def busy(db: ScopedDb, world: World) -> World:
    """The world with a little of everything the samples look for."""
    for school in world.schools:
        enroll_all(db, school)
        students = class_students(school)["Tle C"]
        ledger = [
            PaymentInsert(
                school_id=school.school_id,
                student_id=students[i % 10],
                school_year_id=school.school_year_id,
                amount=Decimal(500),
                method="card",
                reference=f"C{i}",
            )
            for i in range(60)  # more than a keyset page: the seek samples
        ]
        fields = [f for f in PaymentInsert.__struct_fields__ if f != "school_id"]
        db.payments.insert_payments(
            school_id=school.school_id, **columns_of(ledger, fields)
        )
        pay(db, school, students[0], "1000", method="cash")
        marks = [
            MarkInsert(
                school_id=school.school_id,
                student_id=student_id,
                class_id=school.class_ids["Tle C"],
                subject_id=world.subject_ids["MATH"],
                term_id=school.term_ids[0],
                kind="test",
                value=Decimal(12),
            )
            for student_id in students
        ]
        mark_fields = [f for f in MarkInsert.__struct_fields__ if f != "school_id"]
        db.marks.insert_marks(
            school_id=school.school_id, **columns_of(marks, mark_fields)
        )
    program = ProgramTemplateInsert(
        school_year_template_id=world.template_id,
        grade_id=world.grade_ids["TLE"],
        subject_id=world.subject_ids["MATH"],
        name="Programme MATH TLE",
    )
    db.programs.upsert_program_templates(**columns_of([program]))
    db.programs.upsert_program_template_chapters(
        program_template_id=program.id,
        id=[new_id()],
        title=["Suites"],
        sort_order=[1],
        duration_hours=[10],
    )
    user = UserInsert(email="awa@yeko.ci", full_name="Awa Kone")
    db.users.create_user(**msgspec.structs.asdict(user))
    for school in world.schools:
        db.users.grant_membership(
            id=new_id(), user_id=user.id, school_id=school.school_id, role="director"
        )
    return world


def test_every_sample_picks_a_value_from_the_seeded_data(
    busy: World, db: ScopedDb, bundled_queries: Registry
) -> None:
    samples = bundled_queries.namespace(SAMPLES)
    picked = {name: getattr(db.samples, name)() for name in samples}
    assert {name for name, value in picked.items() if value is None} == NULL_SAMPLES
    school = min(busy.schools, key=lambda s: s.school_id)  # both have 100 students
    assert picked["sample_school_id"] == school.school_id
    assert picked["sample_school_year_id"] == school.school_year_id
    assert picked["sample_class_id"] in school.class_ids.values()
    assert picked["sample_email"] == "AWA@YEKO.CI"
    assert picked["sample_term_id"] == school.term_ids[0]
    assert picked["sample_role"] == "director"
    assert picked["sample_period"] == "month"
    assert picked["sample_time_zone"] == "Africa/Abidjan"


def test_guardrails_explain_every_budgeted_query_on_a_small_world(
    busy: World, database_url: str, bundled_queries: Registry
) -> None:
    # Budgets are for the seeded scale database (yeko-sql guardrails); here the
    # tables are tiny, so only that every budgeted query runs with its samples.
    reports = guard_queries(database_url, bundled_queries, runs=1)
    budgeted = {
        combination_label(q, given)
        for q in bundled_queries
        if "budget" in q.headers and q.namespace != SAMPLES
        for given, _ in q.combinations()
    }
    assert {r.query for r in reports} == budgeted
    assert len(budgeted) > 70
    # Each statement of an optional block is judged: all blocks, some, none.
    assert {"students.list_students", "students.list_students[none]"} <= budgeted
    assert all(r.shape.strip() for r in reports)


def test_every_index_comment_names_queries_that_exist(
    pg: psycopg.Connection, bundled_queries: Registry
) -> None:
    rows = pg.execute(
        """
        SELECT i.indexrelid::regclass::text, obj_description(i.indexrelid, 'pg_class')
        FROM pg_index AS i
        JOIN pg_class AS c ON c.oid = i.indrelid
        WHERE c.relnamespace = 'public'::regnamespace
          AND NOT i.indisprimary
          AND obj_description(i.indexrelid, 'pg_class') IS NOT NULL
        """
    ).fetchall()
    named = {
        (index, f"{ns}.{query}")
        for index, comment in rows
        for ns, query in re.findall(r"\b([a-z_]+)\.([a-z0-9_]+)\b", comment)
    }
    assert len(named) > 40
    assert sorted((i, q) for i, q in named if q not in bundled_queries) == []


def test_every_served_by_line_names_an_index_that_exists(
    pg: psycopg.Connection, bundled_queries: Registry
) -> None:
    indexes = {
        name
        for (name,) in pg.execute(
            "SELECT indexrelid::regclass::text FROM pg_index AS i"
            " JOIN pg_class AS c ON c.oid = i.indrelid"
            " WHERE c.relnamespace = 'public'::regnamespace"
        ).fetchall()
    }
    served = {
        q.qualname: q.doc.partition("Served by ")[2]
        for q in bundled_queries
        if q.namespace != SAMPLES
    }
    assert [name for name, text in served.items() if not text] == []
    unknown = {
        name: sorted(set(INDEX_NAME.findall(text)) - indexes)
        for name, text in served.items()
    }
    assert {name: bad for name, bad in unknown.items() if bad} == {}
