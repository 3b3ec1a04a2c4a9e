import msgspec
import psycopg
import pytest

from tests.fix_domain import ScopedDb, World, new_id
from tests.steps import (
    ENROLLMENT_FIELDS,
    add_class,
    class_students,
    enroll_all,
    next_year,
    walk,
)
from yeko_sql.bulk.copy import columns_of
from yeko_sql.errors import NoRowError
from yeko_sql.yeko.domain.enrollments import EnrollmentInsert


def confirmed_per_student(pg: psycopg.Connection, year_id: str) -> dict[str, int]:
    rows = pg.execute(
        "SELECT student_id, count(*) FROM enrollments"
        " WHERE school_year_id = %s AND status = 'confirmed' GROUP BY student_id",
        [year_id],
    ).fetchall()
    return {str(s): int(n) for s, n in rows}


def test_create_enrollment_takes_the_year_of_its_class_once_confirmed(
    db: ScopedDb, world: World
) -> None:
    school = world.first
    new, again = (
        EnrollmentInsert(
            school_id=school.school_id,
            student_id=school.student_ids[0],
            class_id=school.class_ids[name],
            status="confirmed",
        )
        for name in ("6e A", "5e A")
    )
    enrollment = db.enrollments.create_enrollment(**msgspec.structs.asdict(new))
    assert (enrollment.id, enrollment.school_year_id) == (
        new.id,
        school.school_year_id,
    )
    assert enrollment.confirmed_at is not None
    assert enrollment.cancelled_at is None
    got = db.enrollments.get_enrollment(id=new.id, school_id=school.school_id)
    assert got == enrollment
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.enrollments.create_enrollment(**msgspec.structs.asdict(again))


def test_enrollment_across_schools_is_refused_and_unknown_ids_are_not_found(
    db: ScopedDb, world: World
) -> None:
    mine, theirs = world.schools
    for student_id, class_id in (
        (theirs.student_ids[0], mine.class_ids["6e A"]),
        (mine.student_ids[0], theirs.class_ids["6e A"]),
    ):
        with pytest.raises(NoRowError):
            db.enrollments.create_enrollment(
                id=new_id(),
                school_id=mine.school_id,
                student_id=student_id,
                class_id=class_id,
                status="pending",
            )
    with pytest.raises(NoRowError):
        db.enrollments.get_enrollment(id="x" * 21, school_id=mine.school_id)


def test_insert_enrollments_binds_columns_of_inserts_and_skips_other_schools(
    db: ScopedDb, world: World
) -> None:
    mine, theirs = world.schools
    rows = [
        EnrollmentInsert(
            school_id=mine.school_id,
            student_id=student_id,
            class_id=mine.class_ids["6e A"],
        )
        for student_id in (mine.student_ids[0], theirs.student_ids[0])
    ]
    columns = columns_of(rows, ENROLLMENT_FIELDS)
    assert db.enrollments.insert_enrollments(school_id=mine.school_id, **columns) == 1
    assert db.enrollments.insert_enrollments(school_id=mine.school_id, **columns) == 0
    added = db.enrollments.get_enrollment(id=rows[0].id, school_id=mine.school_id)
    assert (added.status, added.school_year_id) == ("pending", mine.school_year_id)
    with pytest.raises(NoRowError):
        db.enrollments.get_enrollment(id=rows[1].id, school_id=theirs.school_id)


def test_confirm_and_cancel_change_only_this_schools_pending_rows(
    db: ScopedDb, world: World
) -> None:
    mine, theirs = world.schools
    enroll_all(db, mine, "pending")
    enroll_all(db, theirs, "pending")
    ids = [
        r.id
        for school, count in ((mine, 3), (theirs, 1))
        for r in db.enrollments.lookup_student_enrollments(
            school_id=school.school_id,
            school_year_id=school.school_year_id,
            student_ids=school.student_ids[:count],
        )
    ]
    assert db.enrollments.confirm_enrollments(school_id=mine.school_id, ids=ids) == 3
    assert db.enrollments.confirm_enrollments(school_id=mine.school_id, ids=ids) == 0
    assert db.enrollments.cancel_enrollments(school_id=mine.school_id, ids=ids[:1]) == 1
    cancelled = db.enrollments.get_enrollment(id=ids[0], school_id=mine.school_id)
    assert cancelled.status == "cancelled"
    assert cancelled.cancelled_at is not None
    other = db.enrollments.get_enrollment(id=ids[3], school_id=theirs.school_id)
    assert other.status == "pending"


def test_transfer_leaves_exactly_one_confirmed_enrollment_per_student_and_year(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    school, theirs = world.schools
    enroll_all(db, school)
    cohort = class_students(school)["2nde A"][:6]
    new_ids = [new_id() for _ in cohort]

    def transfer(to_class_id: str, ids: list[str]) -> int:
        return int(
            db.enrollments.transfer_class_enrollments(
                school_id=school.school_id,
                from_class_id=school.class_ids["2nde A"],
                to_class_id=to_class_id,
                student_ids=cohort,
                new_ids=ids,
            )
        )

    # Into another school's class: nobody moves.
    assert transfer(theirs.class_ids["2nde C"], [new_id() for _ in cohort]) == 0
    assert transfer(school.class_ids["2nde C"], new_ids) == 6
    counts = confirmed_per_student(pg, school.school_year_id)
    assert (len(counts), set(counts.values())) == (100, {1})
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
    assert transfer(school.class_ids["2nde C"], [new_id() for _ in cohort]) == 0


def test_reenrolling_a_grade_skips_withdrawn_students_and_is_idempotent(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    school, theirs = world.schools
    enroll_all(db, school)
    withdrawn = class_students(school)["6e A"][0]
    db.students.update_student_status(
        school_id=school.school_id, status="withdrawn", ids=[withdrawn]
    )
    year_id = next_year(pg, world, school)
    target = add_class(pg, world, school, year_id=year_id, grade="5EME", name="5e A")
    args = {
        "school_id": school.school_id,
        "from_school_year_id": school.school_year_id,
        "grade_id": world.grade_ids["6EME"],
        "series_id": None,
        "to_class_id": target,
    }
    other_school = dict(args, school_id=theirs.school_id)
    assert db.enrollments.insert_next_year_enrollments(**other_school) == 0
    assert db.enrollments.insert_next_year_enrollments(**args) == 9
    assert db.enrollments.insert_next_year_enrollments(**args) == 0
    page = db.enrollments.list_class_enrollments(
        school_id=school.school_id,
        class_id=target,
        status="pending",
        page=1,
        page_size=20,
    )
    assert page.total == 9
    assert {e.student_id for e in page.items} == set(class_students(school)["6e A"][1:])
    assert all(len(e.id) == 21 for e in page.items)
    pending = db.enrollments.count_school_year_enrollments(
        school_id=school.school_id, school_year_id=year_id, status="pending"
    )
    assert pending == 9


def test_class_list_pages_by_name_and_reports_the_total_past_the_end(
    db: ScopedDb, world: World
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
    names = [e.full_name for e in first.items]
    assert names == sorted(names)
    past = db.enrollments.list_class_enrollments(**args, page=5, page_size=4)
    assert (past.items, past.total) == ([], 10)
    other = db.enrollments.list_class_enrollments(
        **dict(args, school_id=world.schools[1].school_id, status=None),
        page=1,
        page_size=4,
    )
    assert other.total == 0


def test_walking_keyset_pages_returns_every_enrollment_once_in_order(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    school = world.first
    enroll_all(db, school)
    # Spread some enrollments over time; the rest share one enrolled_at (ties by id).
    pg.execute(
        "UPDATE enrollments SET enrolled_at = enrolled_at - (ascii(id) %% 7) * interval"
        " '1 day' WHERE school_id = %s AND ascii(id) %% 2 = 0",
        [school.school_id],
    )
    year = {"school_id": school.school_id, "school_year_id": school.school_year_id}
    seen = walk(
        db.enrollments.list_school_year_enrollments,
        7,
        "enrolled_at",
        **year,
        status=None,
    )
    assert len(seen) == len(set(seen)) == 100
    assert seen == sorted(seen)
    assert db.enrollments.count_school_year_enrollments(**year, status=None) == 100
    confirmed = walk(
        db.enrollments.list_school_year_enrollments,
        40,
        "enrolled_at",
        **year,
        status="confirmed",
    )
    assert confirmed == seen


def test_pending_queue_is_keyset_paged_and_scoped_to_the_school(
    db: ScopedDb, world: World
) -> None:
    mine, theirs = world.schools
    enroll_all(db, mine, "pending")
    enroll_all(db, theirs, "pending")
    seen = walk(
        db.enrollments.list_pending_enrollments,
        30,
        "enrolled_at",
        school_id=mine.school_id,
    )
    assert len(seen) == 100
    assert seen == sorted(seen)
    refs = db.enrollments.lookup_student_enrollments(
        school_id=mine.school_id,
        school_year_id=mine.school_year_id,
        student_ids=mine.student_ids,
    )
    assert {i for _, i in seen} == {r.id for r in refs}


def test_lookup_class_enrollments_preloads_confirmed_students_by_class(
    db: ScopedDb, world: World
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
