from datetime import date
from decimal import Decimal

import msgspec
import psycopg
import pytest

from tests.fix_domain import ScopedDb, World
from tests.steps import enroll_all
from yeko_sql.bulk.copy import columns_of
from yeko_sql.errors import NoRowError
from yeko_sql.yeko.domain.fees import FeeStructureInsert, FeeType

UPSERT_FIELDS = [
    f
    for f in FeeStructureInsert.__struct_fields__
    if f not in {"school_id", "school_year_id"}
]


def test_create_fee_structure_returns_the_row(db: ScopedDb, world: World) -> None:
    school = world.first
    new = FeeStructureInsert(
        school_id=school.school_id,
        school_year_id=school.school_year_id,
        grade_id=world.grade_ids["6EME"],
        name="Inscription",
        fee_type="registration",
        amount=Decimal("25000"),
    )
    fee = db.fees.create_fee_structure(**msgspec.structs.asdict(new))
    assert (fee.id, fee.amount, fee.currency, fee.due_on) == (
        new.id,
        Decimal("25000.00"),
        "XOF",
        None,
    )
    assert db.fees.get_fee_structure(id=new.id, school_id=school.school_id) == fee


def test_a_fee_for_another_schools_year_is_refused(db: ScopedDb, world: World) -> None:
    mine, theirs = world.schools
    new = FeeStructureInsert(
        school_id=mine.school_id,
        school_year_id=theirs.school_year_id,
        grade_id=world.grade_ids["6EME"],
        name="Inscription",
        fee_type="registration",
        amount=Decimal("1"),
    )
    with pytest.raises(NoRowError):
        db.fees.create_fee_structure(**msgspec.structs.asdict(new))
    with pytest.raises(NoRowError):
        db.fees.get_fee_structure(
            id=theirs.fee_structure_ids["6EME"], school_id=mine.school_id
        )


def test_a_taken_fee_name_for_the_grade_raises_unique_violation(
    db: ScopedDb, world: World
) -> None:
    school = world.first
    new = FeeStructureInsert(
        school_id=school.school_id,
        school_year_id=school.school_year_id,
        grade_id=world.grade_ids["6EME"],
        name="Scolarite",
        fee_type="tuition",
        amount=Decimal("1"),
    )
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.fees.create_fee_structure(**msgspec.structs.asdict(new))


def test_upsert_fee_structures_inserts_updates_and_skips_unchanged(
    db: ScopedDb, world: World
) -> None:
    school = world.first

    def fee(grade: str, name: str, kind: FeeType, amount: str) -> FeeStructureInsert:
        return FeeStructureInsert(
            school_id=school.school_id,
            school_year_id=school.school_year_id,
            grade_id=world.grade_ids[grade],
            name=name,
            fee_type=kind,
            amount=Decimal(amount),
            due_on=date(2025, 10, 31) if kind == "tuition" else None,
        )

    rows = [
        fee("6EME", "Scolarite", "tuition", "175000"),
        fee("5EME", "Scolarite", "tuition", "150000"),
        fee("6EME", "Examen", "exam", "10000"),
    ]
    args = {
        "school_id": school.school_id,
        "school_year_id": school.school_year_id,
        **columns_of(rows, UPSERT_FIELDS),
    }
    # 6EME tuition changes, 5EME tuition is unchanged, 6EME exam is new.
    assert db.fees.upsert_fee_structures(**args) == 2
    assert db.fees.upsert_fee_structures(**args) == 0
    sixth = db.fees.list_fee_structures(
        school_id=school.school_id,
        school_year_id=school.school_year_id,
        grade_id=world.grade_ids["6EME"],
    )
    assert [(f.name, f.amount) for f in sixth] == [
        ("Examen", Decimal("10000.00")),
        ("Scolarite", Decimal("175000.00")),
    ]
    assert sixth[1].id == school.fee_structure_ids["6EME"]
    other = dict(args, school_year_id=world.schools[1].school_year_id)
    assert db.fees.upsert_fee_structures(**other) == 0


def test_the_fee_schedule_lists_grades_in_order_and_lookup_preloads_it(
    db: ScopedDb, world: World
) -> None:
    school = world.first
    schedule = db.fees.list_fee_structures(
        school_id=school.school_id, school_year_id=school.school_year_id, grade_id=None
    )
    assert [f.grade_code for f in schedule] == [
        "6EME",
        "5EME",
        "4EME",
        "3EME",
        "2NDE",
        "1ERE",
        "TLE",
    ]
    refs = {
        f.id: f
        for f in db.fees.lookup_fee_structures(
            school_id=school.school_id, school_year_id=school.school_year_id
        )
    }
    assert set(refs) == set(school.fee_structure_ids.values())
    assert (
        db.fees.lookup_fee_structures(
            school_id=school.school_id, school_year_id=world.schools[1].school_year_id
        )
        == []
    )


def test_a_student_owes_the_fees_of_its_confirmed_grade(
    db: ScopedDb, world: World
) -> None:
    school = world.first
    student_id = school.student_ids[0]
    args = {
        "school_id": school.school_id,
        "school_year_id": school.school_year_id,
        "student_id": student_id,
    }
    before = db.fees.get_student_expected_fees(**args)
    assert (before.class_id, before.fee_count, before.expected) == (None, 0, 0)
    enroll_all(db, school)
    db.fees.create_fee_structure(
        **msgspec.structs.asdict(
            FeeStructureInsert(
                school_id=school.school_id,
                school_year_id=school.school_year_id,
                grade_id=world.grade_ids["6EME"],
                name="Inscription",
                fee_type="registration",
                amount=Decimal("25000"),
            )
        )
    )
    after = db.fees.get_student_expected_fees(**args)
    assert (after.class_id, after.grade_id) == (
        school.class_ids["6e A"],
        world.grade_ids["6EME"],
    )
    assert (after.fee_count, after.expected) == (2, Decimal("175000.00"))
    with pytest.raises(NoRowError):
        db.fees.get_student_expected_fees(
            **dict(args, school_id=world.schools[1].school_id)
        )
