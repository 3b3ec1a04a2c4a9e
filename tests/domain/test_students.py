from datetime import date, datetime

import msgspec
import psycopg
import pytest

from tests.fix_domain import ScopedDb, World, new_id
from yeko_sql.bulk.copy import columns_of
from yeko_sql.errors import NoRowError, ParameterError
from yeko_sql.yeko.domain.students import StudentInsert, StudentSummary

UPSERT_FIELDS = [f for f in StudentInsert.__struct_fields__ if f != "school_id"]


def _enroll(pg: psycopg.Connection, world: World, student_id: str, status: str) -> str:
    school = world.first
    enrollment_id = new_id()
    pg.execute(
        "INSERT INTO enrollments (id, school_id, student_id, class_id, school_year_id,"
        " status, confirmed_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, CASE WHEN %s = 'confirmed' THEN now() END)",
        [
            enrollment_id,
            school.school_id,
            student_id,
            school.class_ids["6e A"],
            school.school_year_id,
            status,
            status,
        ],
    )
    return enrollment_id


def test_create_student_returns_the_row_with_its_generated_full_name(
    db: ScopedDb, world: World
) -> None:
    new = StudentInsert(
        school_id=world.first.school_id,
        matricule="NEW001",
        first_name="Jean",
        last_name="Yao",
        gender="M",
    )
    student = db.students.create_student(**msgspec.structs.asdict(new))
    assert (student.id, student.full_name, student.status) == (
        new.id,
        "Yao Jean",
        "active",
    )
    assert student.birth_date is None
    assert db.students.get_student(id=new.id, school_id=new.school_id) == student


def test_a_taken_matricule_raises_unique_violation(db: ScopedDb, world: World) -> None:
    taken = StudentInsert(
        school_id=world.first.school_id,
        matricule="0100000X",
        first_name="A",
        last_name="B",
    )
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.students.create_student(**msgspec.structs.asdict(taken))


def test_upsert_students_inserts_new_updates_changed_and_skips_unchanged(
    db: ScopedDb, world: World
) -> None:
    school_id = world.first.school_id
    rows = [
        StudentInsert(
            school_id=school_id,
            matricule="0100000X",
            first_name="Awa0",
            last_name="Kouassi0",
            birth_date=date(2010, 1, 1),
            gender="M",
        ),
        StudentInsert(
            school_id=school_id,
            matricule="0100001X",
            first_name="Renamed",
            last_name="Kouassi1",
            birth_date=date(2010, 1, 2),
            gender="F",
        ),
        StudentInsert(
            school_id=school_id,
            matricule="NEW-1",
            first_name="Ali",
            last_name="Traore",
            status="transferred",
        ),
    ]
    columns = columns_of(rows, UPSERT_FIELDS)
    assert db.students.upsert_students(school_id=school_id, **columns) == 2
    assert db.students.upsert_students(school_id=school_id, **columns) == 0
    renamed = db.students.find_student_by_matricule(
        school_id=school_id, matricule="0100001X"
    )
    assert renamed is not None
    assert (renamed.id, renamed.full_name) == (
        world.first.student_ids[1],
        "Kouassi1 Renamed",
    )
    added = db.students.find_student_by_matricule(
        school_id=school_id, matricule="NEW-1"
    )
    assert added is not None
    assert (added.id, added.status) == (rows[2].id, "transferred")
    other = db.students.find_student_by_matricule(
        school_id=world.schools[1].school_id, matricule="NEW-1"
    )
    assert other is None


def test_unknown_or_other_school_students_are_not_found(
    db: ScopedDb, world: World
) -> None:
    mine, theirs = world.schools
    with pytest.raises(NoRowError):
        db.students.get_student(id="x" * 21, school_id=mine.school_id)
    with pytest.raises(NoRowError):
        db.students.get_student(id=theirs.student_ids[0], school_id=mine.school_id)
    with pytest.raises(NoRowError):
        db.students.get_student_profile(
            id=theirs.student_ids[0], school_id=mine.school_id
        )
    assert (
        db.students.find_student_by_matricule(
            school_id=mine.school_id, matricule="0200000X"
        )
        is None
    )


def test_list_students_pages_by_name_and_filters_by_prefix(
    db: ScopedDb, world: World
) -> None:
    school_id = world.first.school_id
    first = db.students.list_students(
        school_id=school_id, status=None, search=None, page=1, page_size=30
    )
    assert first.total == 100
    names = [s.full_name for s in first.items]
    assert names == sorted(names)
    found = db.students.list_students(
        school_id=school_id, status="active", search="kouassi1", page=1, page_size=50
    )
    # Kouassi1, Kouassi10..19, Kouassi100 does not exist (ids 0..99).
    assert found.total == 11
    assert all(s.full_name.startswith("Kouassi1") for s in found.items)
    by_matricule = db.students.list_students(
        school_id=school_id, status=None, search="0100042X", page=1, page_size=5
    )
    assert [s.id for s in by_matricule.items] == [world.first.student_ids[42]]


def test_list_students_sorts_by_a_declared_order_only(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    school_id = world.first.school_id
    # Make creation order differ from name and matricule order.
    pg.execute(
        "UPDATE students SET created_at = created_at + ascii(right(id, 1)) * interval"
        " '1 minute' WHERE school_id = %s",
        [school_id],
    )
    args = {"school_id": school_id, "status": None, "search": None, "page": 1}

    def listed(sort: str) -> list[StudentSummary]:
        page = db.students.list_students(**args, page_size=100, sort=sort)
        assert page.total == 100
        return list(page.items)

    by_name, newest, by_matricule = map(listed, ("name", "newest", "matricule"))
    assert by_name == db.students.list_students(**args, page_size=100).items
    assert [s.full_name for s in by_name] == sorted(s.full_name for s in by_name)
    assert [s.matricule for s in by_matricule] == sorted(
        s.matricule for s in by_matricule
    )
    created: dict[str, datetime] = dict(
        pg.execute(
            "SELECT id, created_at FROM students WHERE school_id = %s", [school_id]
        ).fetchall()
    )
    keys = [(created[s.id], s.id) for s in newest]
    assert keys == sorted(keys, reverse=True)
    with pytest.raises(ParameterError, match="unknown sort 'full_name DESC'"):
        db.students.list_students(**args, page_size=5, sort="full_name DESC")


def test_an_offset_past_the_end_still_reports_the_total(
    db: ScopedDb, world: World
) -> None:
    page = db.students.list_students(
        school_id=world.first.school_id, status=None, search=None, page=99, page_size=10
    )
    assert page.items == []
    assert page.total == 100


def test_lookup_students_maps_matricules_to_ids_of_one_school(
    db: ScopedDb, world: World
) -> None:
    refs = db.students.lookup_students(
        school_id=world.first.school_id, matricules=["0100003X", "0200003X", "nope"]
    )
    assert {r.matricule: r.id for r in refs} == {"0100003X": world.first.student_ids[3]}


def test_profile_without_an_enrollment_has_none_columns(
    db: ScopedDb, world: World
) -> None:
    school = world.first
    profile = db.students.get_student_profile(
        id=school.student_ids[0], school_id=school.school_id
    )
    assert profile.full_name == "Kouassi0 Awa0"
    assert profile.enrollment_id is None
    assert profile.class_name is None


def test_profile_prefers_the_confirmed_enrollment_of_the_active_year(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    school = world.first
    student_id = school.student_ids[0]
    _enroll(pg, world, student_id, "pending")
    confirmed = _enroll(pg, world, student_id, "confirmed")
    profile = db.students.get_student_profile(id=student_id, school_id=school.school_id)
    assert profile.enrollment_id == confirmed
    assert (profile.enrollment_status, profile.class_name, profile.grade_code) == (
        "confirmed",
        "6e A",
        "6EME",
    )
    assert profile.series_code is None
    assert profile.school_year_id == school.school_year_id


def test_update_student_status_changes_only_this_schools_rows(
    db: ScopedDb, world: World
) -> None:
    mine, theirs = world.schools
    changed = db.students.update_student_status(
        school_id=mine.school_id,
        status="graduated",
        ids=[mine.student_ids[0], mine.student_ids[1], theirs.student_ids[0]],
    )
    assert changed == 2
    again = db.students.update_student_status(
        school_id=mine.school_id, status="graduated", ids=[mine.student_ids[0]]
    )
    assert again == 0
    other = db.students.get_student(
        id=theirs.student_ids[0], school_id=theirs.school_id
    )
    assert other.status == "active"


def test_withdraw_students_cancels_their_current_enrollments(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    school = world.first
    student_id = school.student_ids[0]
    enrollment_id = _enroll(pg, world, student_id, "confirmed")
    assert (
        db.students.withdraw_students(school_id=school.school_id, ids=[student_id]) == 1
    )
    student = db.students.get_student(id=student_id, school_id=school.school_id)
    assert student.status == "withdrawn"
    status, cancelled_at = pg.execute(
        "SELECT status, cancelled_at FROM enrollments WHERE id = %s", [enrollment_id]
    ).fetchone() or (None, None)
    assert status == "cancelled"
    assert cancelled_at is not None
    assert (
        db.students.withdraw_students(school_id=school.school_id, ids=[student_id]) == 0
    )
