"""Steps several test modules share: enrolling, paying, walking pages, counting.

Plain functions over the ``world`` fixture's ids, so no test module imports
another.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import msgspec
import psycopg

from tests.fix_domain import SchoolWorld, ScopedDb, World, insert_row
from yeko_sql.bulk.copy import columns_of
from yeko_sql.yeko.domain.enrollments import EnrollmentInsert, EnrollmentStatus
from yeko_sql.yeko.domain.payments import PaymentInsert

ENROLLMENT_FIELDS = ["id", "student_id", "class_id", "status"]
"""What insert_enrollments takes: every EnrollmentInsert field but school_id."""


def class_students(school: SchoolWorld) -> dict[str, list[str]]:
    """Each class name -> the ids of its 10 students, as the world built them."""
    return {
        name: school.student_ids[i * 10 : (i + 1) * 10]
        for i, name in enumerate(school.class_ids)
    }


def enroll_all(
    db: ScopedDb, school: SchoolWorld, status: EnrollmentStatus = "confirmed"
) -> int:
    """Enroll every student of *school* in its class with one bulk statement."""
    rows = [
        EnrollmentInsert(
            school_id=school.school_id,
            student_id=sid,
            class_id=school.class_ids[name],
            status=status,
        )
        for name, sids in class_students(school).items()
        for sid in sids
    ]
    return int(
        db.enrollments.insert_enrollments(
            school_id=school.school_id, **columns_of(rows, ENROLLMENT_FIELDS)
        )
    )


def next_year(pg: psycopg.Connection, world: World, school: SchoolWorld) -> str:
    """Insert *school*'s draft 2026-2027 year; return its id."""
    return insert_row(
        pg,
        "school_years",
        school_id=school.school_id,
        school_year_template_id=world.next_template_id,
        name="2026-2027",
        starts_on=date(2026, 9, 1),
        ends_on=date(2027, 7, 15),
        status="draft",
    )


def add_class(
    pg: psycopg.Connection,
    world: World,
    school: SchoolWorld,
    *,
    year_id: str,
    grade: str,
    name: str,
) -> str:
    """Insert a class of *grade* (a code) into one of *school*'s years."""
    return insert_row(
        pg,
        "classes",
        school_id=school.school_id,
        school_year_id=year_id,
        grade_id=world.grade_ids[grade],
        name=name,
        capacity=40,
    )


def pay(
    db: ScopedDb, school: SchoolWorld, student_id: str, amount: str, **fields: Any
) -> PaymentInsert:
    """Record one ledger row for *student_id* through create_payment."""
    row = PaymentInsert(
        school_id=school.school_id,
        student_id=student_id,
        school_year_id=school.school_year_id,
        amount=Decimal(amount),
        **fields,
    )
    db.payments.create_payment(**msgspec.structs.asdict(row))
    return row


def walk(
    query: Callable[..., Any], limit: int, key: str, **args: object
) -> list[tuple[Any, str]]:
    """Every (key, id) of a keyset *query*, page after page.

    The query seeks with ``after_<key>`` and ``after_id``, both None at first.
    """
    seen: list[tuple[Any, str]] = []
    after: tuple[object, str | None] = (None, None)
    while True:
        page = query(
            **args, **{f"after_{key}": after[0]}, after_id=after[1], limit=limit
        )
        seen += [(getattr(row, key), row.id) for row in page.items]
        if not page.has_more:
            return seen
        assert page.last is not None
        after = (getattr(page.last, key), page.last.id)


def count_students(pg: psycopg.Connection, school_id: str) -> tuple[int, int]:
    """How many students *school_id* has, and how many distinct matricules."""
    row = pg.execute(
        "SELECT count(*), count(DISTINCT matricule) FROM students WHERE school_id = %s",
        [school_id],
    ).fetchone()
    assert row is not None
    return row[0], row[1]
