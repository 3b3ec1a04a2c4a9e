from decimal import Decimal

import psycopg
import pytest

from tests.fix_domain import SchoolWorld, ScopedDb, World, new_id
from tests.steps import class_students, enroll_all
from yeko_sql.bulk.copy import columns_of
from yeko_sql.errors import NoRowError
from yeko_sql.yeko.domain.marks import MarkInsert

MARK_FIELDS = [f for f in MarkInsert.__struct_fields__ if f != "school_id"]


def record(db: ScopedDb, school: SchoolWorld, marks: list[MarkInsert]) -> int:
    """Bind MarkInserts as the column arrays insert_marks takes."""
    return int(
        db.marks.insert_marks(
            school_id=school.school_id, **columns_of(marks, MARK_FIELDS)
        )
    )


def mark(
    world: World,
    school: SchoolWorld,
    student_id: str,
    subject: str,
    value: str,
    *,
    class_name: str = "Tle C",
    term: int = 0,
) -> MarkInsert:
    return MarkInsert(
        school_id=school.school_id,
        student_id=student_id,
        class_id=school.class_ids[class_name],
        subject_id=world.subject_ids[subject],
        term_id=school.term_ids[term],
        kind="test",
        label="Devoir 1",
        value=Decimal(value),
    )


def test_insert_marks_skips_other_schools_and_retried_ids(
    db: ScopedDb, world: World
) -> None:
    mine, theirs = world.schools
    student = class_students(mine)["Tle C"][0]
    good = mark(world, mine, student, "MATH", "12.5")
    foreign_student = mark(world, mine, theirs.student_ids[0], "MATH", "10")
    foreign_term = MarkInsert(
        school_id=mine.school_id,
        student_id=student,
        class_id=mine.class_ids["Tle C"],
        subject_id=world.subject_ids["MATH"],
        term_id=theirs.term_ids[0],
        kind="exam",
        value=Decimal(10),
    )
    assert record(db, mine, [good, foreign_student, foreign_term]) == 1
    assert record(db, mine, [good]) == 0
    stored = db.marks.get_mark(id=good.id, school_id=mine.school_id)
    assert (stored.value, stored.label, stored.kind) == (
        Decimal("12.50"),
        "Devoir 1",
        "test",
    )
    with pytest.raises(NoRowError):
        db.marks.get_mark(id=good.id, school_id=theirs.school_id)


def test_a_mark_above_twenty_is_refused(db: ScopedDb, world: World) -> None:
    school = world.first
    with pytest.raises(psycopg.errors.CheckViolation):
        record(
            db,
            school,
            [
                mark(
                    world,
                    school,
                    school.student_ids[0],
                    "MATH",
                    "21",
                    class_name="6e A",
                )
            ],
        )


def test_the_mark_sheet_lists_a_class_subject_and_term_by_name(
    db: ScopedDb, world: World
) -> None:
    school = world.first
    students = class_students(school)["Tle C"]
    record(
        db,
        school,
        [
            mark(world, school, s, "MATH", str(10 + i))
            for i, s in enumerate(reversed(students))
        ],
    )
    record(
        db,
        school,
        [
            mark(world, school, students[0], "FR", "9"),
            mark(world, school, students[0], "MATH", "3", term=1),
        ],
    )
    sheet = db.marks.list_class_subject_marks(
        school_id=school.school_id,
        class_id=school.class_ids["Tle C"],
        term_id=school.term_ids[0],
        subject_id=world.subject_ids["MATH"],
    )
    assert len(sheet) == 10
    assert [m.full_name for m in sheet] == sorted(m.full_name for m in sheet)
    assert (
        db.marks.list_class_subject_marks(
            school_id=world.schools[1].school_id,
            class_id=school.class_ids["Tle C"],
            term_id=school.term_ids[0],
            subject_id=world.subject_ids["MATH"],
        )
        == []
    )


def test_a_corrected_or_deleted_mark_changes_only_in_its_school(
    db: ScopedDb, world: World
) -> None:
    mine, theirs = world.schools
    first = mark(world, mine, mine.student_ids[0], "MATH", "8", class_name="6e A")
    second = mark(world, mine, mine.student_ids[0], "FR", "9", class_name="6e A")
    record(db, mine, [first, second])
    assert (
        db.marks.update_mark_value(
            id=first.id, school_id=theirs.school_id, value=Decimal(20)
        )
        == 0
    )
    assert (
        db.marks.update_mark_value(
            id=first.id, school_id=mine.school_id, value=Decimal("18.25")
        )
        == 1
    )
    assert db.marks.get_mark(id=first.id, school_id=mine.school_id).value == Decimal(
        "18.25"
    )
    assert db.marks.delete_marks(ids=[second.id], school_id=theirs.school_id) == 0
    assert db.marks.delete_marks(ids=[second.id], school_id=mine.school_id) == 1


def test_the_report_card_weights_subject_averages_by_coefficient(
    db: ScopedDb, world: World
) -> None:
    school = world.first
    student = class_students(school)["Tle C"][0]
    record(
        db,
        school,
        [
            mark(world, school, student, "MATH", "10"),
            mark(world, school, student, "MATH", "14"),
            mark(world, school, student, "FR", "15"),
            mark(world, school, student, "FR", "2", term=1),
        ],
    )
    card = db.marks.list_student_report_card(
        school_id=school.school_id, student_id=student, term_id=school.term_ids[0]
    )
    lines = {c.subject_name: (c.mark_count, c.average, c.coefficient) for c in card}
    # Tle weights Mathematiques 7 and the other subjects 2 (series C falls back to
    # the grade's coefficients, which have no series).
    assert lines == {
        "Mathematiques": (2, Decimal("12.00"), 7),
        "Francais": (1, Decimal("15.00"), 2),
    }
    assert {c.term_average for c in card} == {Decimal("12.67")}  # (12*7 + 15*2) / 9
    assert (
        db.marks.list_student_report_card(
            school_id=world.schools[1].school_id,
            student_id=student,
            term_id=school.term_ids[0],
        )
        == []
    )


def test_the_class_ranking_ranks_by_weighted_average_with_ties(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    school = world.first
    enroll_all(db, school)
    a, b, c, d = class_students(school)["Tle C"][:4]
    unweighted = new_id()
    pg.execute(
        "INSERT INTO subjects (id, name, category) VALUES (%s, 'Musique', 'other')",
        [unweighted],
    )
    record(
        db,
        school,
        [
            mark(world, school, a, "MATH", "16"),
            mark(world, school, a, "FR", "10"),
            mark(world, school, b, "MATH", "10"),
            mark(world, school, b, "FR", "16"),
            mark(world, school, c, "MATH", "16"),
            mark(world, school, c, "FR", "10"),
            MarkInsert(
                school_id=school.school_id,
                student_id=d,
                class_id=school.class_ids["Tle C"],
                subject_id=unweighted,
                term_id=school.term_ids[0],
                kind="quiz",
                value=Decimal(20),
            ),
        ],
    )
    ranking = db.marks.list_class_ranking(
        school_id=school.school_id,
        class_id=school.class_ids["Tle C"],
        term_id=school.term_ids[0],
    )
    # a and c tie at (16*7 + 10*2) / 9 and are listed by name (Kouassi90, Kouassi92).
    assert [(r.student_id, r.term_average, r.position) for r in ranking] == [
        (a, Decimal("14.67"), 1),
        (c, Decimal("14.67"), 1),
        (b, Decimal("11.33"), 3),
        (d, None, 4),
    ]
    card = db.marks.list_student_report_card(
        school_id=school.school_id, student_id=a, term_id=school.term_ids[0]
    )
    assert card[0].term_average == ranking[0].term_average
    assert (
        db.marks.list_class_ranking(
            school_id=world.schools[1].school_id,
            class_id=school.class_ids["Tle C"],
            term_id=school.term_ids[0],
        )
        == []
    )
