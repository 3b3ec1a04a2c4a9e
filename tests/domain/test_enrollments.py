from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import msgspec
import psycopg
import pytest

from tests.fix_domain import SchoolWorld, World, new_id
from yeko_sql.database import Database
from yeko_sql.domain.enrollments import EnrollmentInsert
from yeko_sql.errors import NoRowError


def class_students(school: SchoolWorld) -> dict[str, list[str]]:
    """Each class name -> the ids of its 10 students, as the world built them."""
    return {
        name: school.student_ids[i * 10 : (i + 1) * 10]
        for i, name in enumerate(school.class_ids)
    }


def enroll_all(db: Database, school: SchoolWorld, status: str = "confirmed") -> int:
    """Enroll every student of *school* in its class with one bulk statement."""
    pairs = [
        (sid, school.class_ids[name])
        for name, sids in class_students(school).items()
        for sid in sids
    ]
    return int(
        db.enrollments.insert_enrollments(
            school_id=school.school_id,
            ids=[new_id() for _ in pairs],
            student_ids=[s for s, _ in pairs],
            class_ids=[c for _, c in pairs],
            statuses=[status] * len(pairs),
        )
    )


def confirmed_per_student(pg: psycopg.Connection, year_id: str) -> dict[str, int]:
    rows = pg.execute(
        "SELECT student_id, count(*) FROM enrollments"
        " WHERE school_year_id = %s AND status = 'confirmed' GROUP BY student_id",
        [year_id],
    ).fetchall()
    return {str(s): int(n) for s, n in rows}


def next_year(pg: psycopg.Connection, world: World, school: SchoolWorld) -> str:
    year_id = new_id()
    pg.execute(
        "INSERT INTO school_years (id, school_id, school_year_template_id, name,"
        " starts_on, ends_on, status)"
        " VALUES (%s, %s, %s, '2026-2027', %s, %s, 'draft')",
        [
            year_id,
            school.school_id,
            world.next_template_id,
            date(2026, 9, 1),
            date(2027, 7, 15),
        ],
    )
    return year_id


def add_class(
    pg: psycopg.Connection,
    world: World,
    school: SchoolWorld,
    *,
    year_id: str,
    grade: str,
    name: str,
) -> str:
    class_id = new_id()
    pg.execute(
        "INSERT INTO classes (id, school_id, school_year_id, grade_id, name, capacity)"
        " VALUES (%s, %s, %s, %s, %s, 40)",
        [class_id, school.school_id, year_id, world.grade_ids[grade], name],
    )
    return class_id


def test_create_enrollment_takes_the_year_of_its_class(
    db: Database, world: World
) -> None:
    school = world.first
    new = EnrollmentInsert(
        school_id=school.school_id,
        student_id=school.student_ids[0],
        class_id=school.class_ids["6e A"],
        status="confirmed",
    )
    enrollment = db.enrollments.create_enrollment(**msgspec.structs.asdict(new))
    assert enrollment.id == new.id
    assert enrollment.school_year_id == school.school_year_id
    assert enrollment.confirmed_at is not None
    assert enrollment.cancelled_at is None
    got = db.enrollments.get_enrollment(id=new.id, school_id=school.school_id)
    assert got == enrollment


def test_a_second_confirmed_enrollment_in_a_year_is_refused(
    db: Database, world: World
) -> None:
    school = world.first
    for class_name in ("6e A", "5e A"):
        new = EnrollmentInsert(
            school_id=school.school_id,
            student_id=school.student_ids[0],
            class_id=school.class_ids[class_name],
            status="confirmed",
        )
        if class_name == "6e A":
            db.enrollments.create_enrollment(**msgspec.structs.asdict(new))
        else:
            with pytest.raises(psycopg.errors.UniqueViolation):
                db.enrollments.create_enrollment(**msgspec.structs.asdict(new))


def test_enrollment_across_schools_is_refused_and_unknown_ids_are_not_found(
    db: Database, world: World
) -> None:
    mine, theirs = world.schools
    with pytest.raises(NoRowError):
        db.enrollments.create_enrollment(
            id=new_id(),
            school_id=mine.school_id,
            student_id=theirs.student_ids[0],
            class_id=mine.class_ids["6e A"],
            status="pending",
        )
    with pytest.raises(NoRowError):
        db.enrollments.create_enrollment(
            id=new_id(),
            school_id=mine.school_id,
            student_id=mine.student_ids[0],
            class_id=theirs.class_ids["6e A"],
            status="pending",
        )
    with pytest.raises(NoRowError):
        db.enrollments.get_enrollment(id="x" * 21, school_id=mine.school_id)


def test_insert_enrollments_skips_other_schools_and_retried_ids(
    db: Database, world: World
) -> None:
    mine, theirs = world.schools
    ids = [new_id(), new_id()]
    args = {
        "school_id": mine.school_id,
        "ids": ids,
        "student_ids": [mine.student_ids[0], theirs.student_ids[0]],
        "class_ids": [mine.class_ids["6e A"], mine.class_ids["6e A"]],
        "statuses": ["pending", "pending"],
    }
    assert db.enrollments.insert_enrollments(**args) == 1
    assert db.enrollments.insert_enrollments(**args) == 0
    with pytest.raises(NoRowError):
        db.enrollments.get_enrollment(id=ids[1], school_id=theirs.school_id)


def test_confirm_and_cancel_change_only_this_schools_pending_rows(
    db: Database, world: World
) -> None:
    mine, theirs = world.schools
    enroll_all(db, mine, "pending")
    enroll_all(db, theirs, "pending")
    mine_refs = db.enrollments.lookup_student_enrollments(
        school_id=mine.school_id,
        school_year_id=mine.school_year_id,
        student_ids=mine.student_ids[:3],
    )
    theirs_refs = db.enrollments.lookup_student_enrollments(
        school_id=theirs.school_id,
        school_year_id=theirs.school_year_id,
        student_ids=theirs.student_ids[:1],
    )
    ids = [r.id for r in mine_refs] + [theirs_refs[0].id]
    assert db.enrollments.confirm_enrollments(school_id=mine.school_id, ids=ids) == 3
    assert db.enrollments.confirm_enrollments(school_id=mine.school_id, ids=ids) == 0
    assert db.enrollments.cancel_enrollments(school_id=mine.school_id, ids=ids[:1]) == 1
    cancelled = db.enrollments.get_enrollment(id=ids[0], school_id=mine.school_id)
    assert cancelled.status == "cancelled"
    assert cancelled.cancelled_at is not None
    other = db.enrollments.get_enrollment(id=ids[3], school_id=theirs.school_id)
    assert other.status == "pending"


def test_transfer_leaves_exactly_one_confirmed_enrollment_per_student_and_year(
    db: Database, world: World, pg: psycopg.Connection
) -> None:
    school = world.first
    enroll_all(db, school)
    cohort = class_students(school)["2nde A"][:6]
    new_ids = [new_id() for _ in cohort]
    moved = db.enrollments.transfer_class_enrollments(
        school_id=school.school_id,
        from_class_id=school.class_ids["2nde A"],
        to_class_id=school.class_ids["2nde C"],
        student_ids=cohort,
        new_ids=new_ids,
    )
    assert moved == 6
    counts = confirmed_per_student(pg, school.school_year_id)
    assert len(counts) == 100
    assert set(counts.values()) == {1}
    head_counts = {
        name: db.enrollments.count_class_enrollments(
            school_id=school.school_id, class_id=school.class_ids[name]
        )
        for name in ("2nde A", "2nde C")
    }
    assert head_counts == {"2nde A": 4, "2nde C": 16}
    history = db.enrollments.list_student_enrollments(
        school_id=school.school_id, student_id=cohort[0]
    )
    assert [(h.class_name, h.status) for h in history] == [
        ("2nde A", "transferred"),
        ("2nde C", "confirmed"),
    ]
    assert history[1].id == new_ids[0]
    # Moving them again from the old class finds no confirmed enrollment there.
    assert (
        db.enrollments.transfer_class_enrollments(
            school_id=school.school_id,
            from_class_id=school.class_ids["2nde A"],
            to_class_id=school.class_ids["2nde C"],
            student_ids=cohort,
            new_ids=[new_id() for _ in cohort],
        )
        == 0
    )


def test_transfer_into_another_schools_class_moves_nobody(
    db: Database, world: World, pg: psycopg.Connection
) -> None:
    mine, theirs = world.schools
    enroll_all(db, mine)
    cohort = class_students(mine)["6e A"]
    moved = db.enrollments.transfer_class_enrollments(
        school_id=mine.school_id,
        from_class_id=mine.class_ids["6e A"],
        to_class_id=theirs.class_ids["5e A"],
        student_ids=cohort,
        new_ids=[new_id() for _ in cohort],
    )
    assert moved == 0
    assert set(confirmed_per_student(pg, mine.school_year_id).values()) == {1}
    assert (
        db.enrollments.count_class_enrollments(
            school_id=mine.school_id, class_id=mine.class_ids["6e A"]
        )
        == 10
    )


def test_reenrolling_a_grade_into_the_next_year_is_idempotent(
    db: Database, world: World, pg: psycopg.Connection
) -> None:
    school = world.first
    enroll_all(db, school)
    year_id = next_year(pg, world, school)
    target = add_class(pg, world, school, year_id=year_id, grade="5EME", name="5e A")
    args = {
        "school_id": school.school_id,
        "from_school_year_id": school.school_year_id,
        "grade_id": world.grade_ids["6EME"],
        "series_id": None,
        "to_class_id": target,
    }
    assert db.enrollments.insert_next_year_enrollments(**args) == 10
    assert db.enrollments.insert_next_year_enrollments(**args) == 0
    page = db.enrollments.list_class_enrollments(
        school_id=school.school_id,
        class_id=target,
        status="pending",
        page=1,
        page_size=20,
    )
    assert page.total == 10
    assert {e.student_id for e in page.items} == set(class_students(school)["6e A"])
    assert all(len(e.id) == 21 for e in page.items)
    assert (
        db.enrollments.count_school_year_enrollments(
            school_id=school.school_id, school_year_id=year_id, status="pending"
        )
        == 10
    )


def test_reenrollment_skips_withdrawn_students_and_other_schools(
    db: Database, world: World, pg: psycopg.Connection
) -> None:
    mine, theirs = world.schools
    enroll_all(db, mine)
    withdrawn = class_students(mine)["6e A"][0]
    db.students.update_student_status(
        school_id=mine.school_id, status="withdrawn", ids=[withdrawn]
    )
    year_id = next_year(pg, world, mine)
    target = add_class(pg, world, mine, year_id=year_id, grade="5EME", name="5e A")
    assert (
        db.enrollments.insert_next_year_enrollments(
            school_id=theirs.school_id,
            from_school_year_id=mine.school_year_id,
            grade_id=world.grade_ids["6EME"],
            series_id=None,
            to_class_id=target,
        )
        == 0
    )
    assert (
        db.enrollments.insert_next_year_enrollments(
            school_id=mine.school_id,
            from_school_year_id=mine.school_year_id,
            grade_id=world.grade_ids["6EME"],
            series_id=None,
            to_class_id=target,
        )
        == 9
    )


def test_class_list_pages_by_name_and_reports_the_total_past_the_end(
    db: Database, world: World
) -> None:
    school = world.first
    enroll_all(db, school)
    args = {
        "school_id": school.school_id,
        "class_id": school.class_ids["Tle C"],
        "status": "confirmed",
    }
    first = db.enrollments.list_class_enrollments(**args, page=1, page_size=4)
    assert first.total == 10
    assert [e.full_name for e in first.items] == sorted(
        e.full_name for e in first.items
    )
    past = db.enrollments.list_class_enrollments(**args, page=5, page_size=4)
    assert past.items == []
    assert past.total == 10
    other = db.enrollments.list_class_enrollments(
        school_id=world.schools[1].school_id,
        class_id=school.class_ids["Tle C"],
        status=None,
        page=1,
        page_size=4,
    )
    assert other.total == 0


def walk(
    query: Callable[..., Any], limit: int, **args: object
) -> list[tuple[datetime, str]]:
    """Every (enrolled_at, id) of a keyset *query*, page after page."""
    seen: list[tuple[datetime, str]] = []
    after: tuple[datetime | None, str | None] = (None, None)
    while True:
        page = query(**args, after_enrolled_at=after[0], after_id=after[1], limit=limit)
        seen += [(e.enrolled_at, e.id) for e in page.items]
        if not page.has_more:
            return seen
        assert page.last is not None
        after = (page.last.enrolled_at, page.last.id)


def test_walking_keyset_pages_returns_every_enrollment_once_in_order(
    db: Database, world: World, pg: psycopg.Connection
) -> None:
    school = world.first
    enroll_all(db, school)
    # Spread some enrollments over time; the rest share one enrolled_at (ties by id).
    pg.execute(
        "UPDATE enrollments SET enrolled_at = enrolled_at - (ascii(id) %% 7) * interval"
        " '1 day' WHERE school_id = %s AND ascii(id) %% 2 = 0",
        [school.school_id],
    )
    seen = walk(
        db.enrollments.list_school_year_enrollments,
        7,
        school_id=school.school_id,
        school_year_id=school.school_year_id,
        status=None,
    )
    assert len(seen) == 100
    assert seen == sorted(seen)
    assert len(set(seen)) == 100
    assert (
        db.enrollments.count_school_year_enrollments(
            school_id=school.school_id,
            school_year_id=school.school_year_id,
            status=None,
        )
        == 100
    )


def test_pending_queue_is_keyset_paged_and_scoped_to_the_school(
    db: Database, world: World
) -> None:
    mine, theirs = world.schools
    enroll_all(db, mine, "pending")
    enroll_all(db, theirs, "pending")
    seen = walk(db.enrollments.list_pending_enrollments, 30, school_id=mine.school_id)
    assert len(seen) == 100
    assert seen == sorted(seen)
    mine_ids = {
        r.id
        for r in db.enrollments.lookup_student_enrollments(
            school_id=mine.school_id,
            school_year_id=mine.school_year_id,
            student_ids=mine.student_ids,
        )
    }
    assert {i for _, i in seen} == mine_ids


def test_lookup_class_enrollments_preloads_confirmed_students_by_class(
    db: Database, world: World
) -> None:
    mine, theirs = world.schools
    enroll_all(db, mine)
    class_ids = [
        mine.class_ids["6e A"],
        mine.class_ids["5e A"],
        theirs.class_ids["6e A"],
    ]
    refs = db.enrollments.lookup_class_enrollments(
        school_id=mine.school_id, class_ids=class_ids
    )
    by_student = {r.student_id: r.class_id for r in refs}
    assert len(by_student) == 20
    assert by_student[mine.student_ids[0]] == mine.class_ids["6e A"]
    assert by_student[mine.student_ids[10]] == mine.class_ids["5e A"]
