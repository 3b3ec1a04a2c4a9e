from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
import pytest

from tests.fix_domain import ScopedDb, World
from tests.steps import class_students, enroll_all, pay
from yeko_sql.errors import NoRowError


@pytest.fixture
def enrolled(db: ScopedDb, world: World) -> World:
    """Both schools fully confirmed, then two of the first school's 6e A cancelled."""
    mine, theirs = world.schools
    enroll_all(db, mine)
    enroll_all(db, theirs)
    refs = db.enrollments.lookup_student_enrollments(
        school_id=mine.school_id,
        school_year_id=mine.school_year_id,
        student_ids=class_students(mine)["6e A"][:2],
    )
    db.enrollments.cancel_enrollments(
        school_id=mine.school_id, ids=[r.id for r in refs]
    )
    return world


def test_enrollment_counts_have_grade_series_and_status_subtotals(
    db: ScopedDb, enrolled: World
) -> None:
    school = enrolled.first
    rows = db.analytics.list_enrollment_counts(
        school_id=school.school_id, school_year_id=school.school_year_id
    )
    detail = {
        (r.grade_code, r.series_code, r.status): r.enrollments
        for r in rows
        if not (r.all_grades or r.all_series or r.all_statuses)
    }
    assert detail[("6EME", None, "confirmed")] == 8
    assert detail[("6EME", None, "cancelled")] == 2
    assert (
        detail[("2NDE", "A", "confirmed")] == detail[("2NDE", "C", "confirmed")] == 10
    )
    per_grade = {
        r.grade_code: r.enrollments
        for r in rows
        if r.all_series and r.all_statuses and not r.all_grades
    }
    assert per_grade["2NDE"] == 20
    assert list(per_grade) == ["6EME", "5EME", "4EME", "3EME", "2NDE", "1ERE", "TLE"]
    per_status = {
        r.status: r.enrollments for r in rows if r.all_grades and not r.all_statuses
    }
    assert per_status == {"cancelled": 2, "confirmed": 98}
    assert rows[-1].all_grades
    assert rows[-1].all_statuses
    assert rows[-1].enrollments == 100


def test_year_fee_collection_sets_fees_due_against_the_ledger(
    db: ScopedDb, enrolled: World
) -> None:
    mine, theirs = enrolled.schools
    args = {"school_id": mine.school_id, "school_year_id": mine.school_year_id}
    empty = db.analytics.get_year_fee_collection(**args)
    assert (empty.students, empty.expected, empty.net) == (
        98,
        Decimal("14700000.00"),
        0,
    )
    assert empty.collection_rate == 0
    pay(db, mine, mine.student_ids[5], "150000", method="cash")
    pay(db, mine, mine.student_ids[6], "100000", method="cash")
    pay(db, mine, mine.student_ids[6], "30000", method="cash", kind="refund")
    pay(db, theirs, theirs.student_ids[0], "999", method="cash")
    got = db.analytics.get_year_fee_collection(**args)
    assert (got.collected, got.refunded, got.net) == (
        Decimal("250000.00"),
        Decimal("30000.00"),
        Decimal("220000.00"),
    )
    assert got.outstanding == got.expected - got.net
    assert got.collection_rate == Decimal("0.0150")
    with pytest.raises(NoRowError):
        db.analytics.get_year_fee_collection(
            school_id=mine.school_id, school_year_id=theirs.school_year_id
        )


def test_class_fill_rates_divide_confirmed_by_capacity(
    db: ScopedDb, enrolled: World, pg: psycopg.Connection
) -> None:
    school = enrolled.first
    pg.execute(
        "UPDATE classes SET capacity = NULL WHERE id = %s", [school.class_ids["Tle C"]]
    )
    rows = db.analytics.list_class_fill_rates(
        school_id=school.school_id, school_year_id=school.school_year_id
    )
    assert len(rows) == 10
    by_name = {r.class_name: r for r in rows}
    assert (by_name["6e A"].confirmed, by_name["6e A"].fill_rate) == (
        8,
        Decimal("0.200"),
    )
    assert by_name["5e A"].fill_rate == Decimal("0.250")
    assert (by_name["Tle C"].capacity, by_name["Tle C"].fill_rate) == (None, None)
    assert by_name["2nde C"].series_code == "C"


def test_top_debtors_rank_by_outstanding_and_keep_ties(
    db: ScopedDb, enrolled: World
) -> None:
    school = enrolled.first
    students = class_students(school)["5e A"]
    # Everyone else of the school pays in full; in 5e A, 0 pays nothing, 1 and 2
    # pay half, the others pay in full.
    for sid in school.student_ids:
        if sid not in students[:3]:
            pay(db, school, sid, "150000", method="cash")
    pay(db, school, students[1], "75000", method="cash")
    pay(db, school, students[2], "75000", method="cash")
    args = {"school_id": school.school_id, "school_year_id": school.school_year_id}
    top = db.analytics.list_top_debtors(**args, top=2)
    assert (top[0].student_id, top[0].position, top[0].outstanding) == (
        students[0],
        1,
        Decimal("150000.00"),
    )
    assert {r.student_id for r in top[1:]} == {students[1], students[2]}
    assert {r.position for r in top[1:]} == {2}
    assert sum(r.share for r in top) == Decimal("100.00")
    assert top[0].share == Decimal("50.00")
    assert db.analytics.list_top_debtors(**args, top=1)[0].class_name == "5e A"


def test_payment_totals_group_by_local_day_or_month_with_a_running_net(
    db: ScopedDb, enrolled: World
) -> None:
    mine, theirs = enrolled.schools
    late = datetime(2025, 9, 30, 23, 30, tzinfo=UTC)
    pay(db, mine, mine.student_ids[0], "100", method="cash", paid_at=late)
    pay(
        db,
        mine,
        mine.student_ids[1],
        "50",
        method="cash",
        paid_at=datetime(2025, 9, 2, 9, tzinfo=UTC),
    )
    pay(
        db,
        mine,
        mine.student_ids[1],
        "20",
        method="cash",
        kind="refund",
        paid_at=datetime(2025, 10, 3, 9, tzinfo=UTC),
    )
    pay(db, theirs, theirs.student_ids[0], "999", method="cash", paid_at=late)
    args = {"school_id": mine.school_id, "school_year_id": mine.school_year_id}
    months = db.analytics.list_payment_totals(
        **args, period="month", time_zone="Africa/Abidjan"
    )
    assert [(m.period_start, m.entries, m.net, m.cumulative_net) for m in months] == [
        (date(2025, 9, 1), 2, Decimal("150.00"), Decimal("150.00")),
        (date(2025, 10, 1), 1, Decimal("-20.00"), Decimal("130.00")),
    ]
    assert months[1].refunded == Decimal("20.00")
    tokyo = db.analytics.list_payment_totals(
        **args, period="day", time_zone="Asia/Tokyo"
    )
    assert [d.period_start for d in tokyo] == [
        date(2025, 9, 2),
        date(2025, 10, 1),
        date(2025, 10, 3),
    ]
