from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import psycopg
import pytest

from tests.fix_domain import AsyncScenario, SchoolWorld, ScopedDb, World, new_id
from tests.steps import class_students, enroll_all, pay, walk
from yeko_sql.bulk.copy import columns_of
from yeko_sql.errors import NoRowError
from yeko_sql.runtime.database_async import AsyncDatabase
from yeko_sql.yeko.domain.payments import PaymentInsert

START = datetime(2025, 9, 1, 8, tzinfo=UTC)


IMPORT_FIELDS = [f for f in PaymentInsert.__struct_fields__ if f != "school_id"]


def import_payments(
    db: ScopedDb, school: SchoolWorld, rows: list[PaymentInsert]
) -> int:
    """Bind PaymentInserts as the column arrays insert_payments takes."""
    return int(
        db.payments.insert_payments(
            school_id=school.school_id, **columns_of(rows, IMPORT_FIELDS)
        )
    )


def test_create_payment_records_a_row_paid_now_by_default(
    db: ScopedDb, world: World
) -> None:
    school = world.first
    new = PaymentInsert(
        school_id=school.school_id,
        student_id=school.student_ids[0],
        school_year_id=school.school_year_id,
        amount=Decimal("50000"),
        method="mobile_money",
        reference="OM-1",
        fee_structure_id=school.fee_structure_ids["6EME"],
    )
    payment = db.payments.create_payment(**msgspec.structs.asdict(new))
    assert (payment.id, payment.kind, payment.amount) == (
        new.id,
        "payment",
        Decimal("50000.00"),
    )
    assert payment.paid_at.tzinfo is not None
    assert db.payments.get_payment(id=new.id, school_id=school.school_id) == payment
    found = db.payments.find_payment_by_reference(
        school_id=school.school_id, method="mobile_money", reference="OM-1"
    )
    assert found == payment
    assert (
        db.payments.find_payment_by_reference(
            school_id=school.school_id, method="cash", reference="OM-1"
        )
        is None
    )


def test_a_reused_reference_raises_unique_violation(db: ScopedDb, world: World) -> None:
    school = world.first
    pay(db, school, school.student_ids[0], "100", method="card", reference="C-1")
    with pytest.raises(psycopg.errors.UniqueViolation):
        pay(db, school, school.student_ids[1], "100", method="card", reference="C-1")


def test_payments_for_another_schools_student_or_fee_are_refused(
    db: ScopedDb, world: World
) -> None:
    mine, theirs = world.schools
    with pytest.raises(NoRowError):
        pay(db, mine, theirs.student_ids[0], "100", method="cash")
    with pytest.raises(NoRowError):
        pay(
            db,
            mine,
            mine.student_ids[0],
            "100",
            method="cash",
            fee_structure_id=theirs.fee_structure_ids["6EME"],
        )
    paid = pay(db, theirs, theirs.student_ids[0], "100", method="cash")
    with pytest.raises(NoRowError):
        db.payments.get_payment(id=paid.id, school_id=mine.school_id)
    with pytest.raises(NoRowError):
        db.payments.get_payment(id="x" * 21, school_id=mine.school_id)


def test_a_payment_never_changes_after_insert(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    school = world.first
    paid = pay(db, school, school.student_ids[0], "100", method="cash")
    with pytest.raises(psycopg.errors.RestrictViolation):
        pg.execute("UPDATE payments SET amount = 1 WHERE id = %s", [paid.id])
    with pytest.raises(psycopg.errors.RestrictViolation):
        pg.execute("DELETE FROM payments WHERE id = %s", [paid.id])
    again = db.payments.get_payment(id=paid.id, school_id=school.school_id)
    assert again.amount == Decimal("100.00")


def test_a_rerun_import_inserts_nothing_and_references_dedupe(
    db: ScopedDb, world: World
) -> None:
    mine, theirs = world.schools
    rows = [
        PaymentInsert(
            school_id=mine.school_id,
            student_id=sid,
            school_year_id=mine.school_year_id,
            amount=Decimal("1000"),
            method="mobile_money",
            reference=f"MM-{i}",
            paid_at=START + timedelta(hours=i),
        )
        for i, sid in enumerate(mine.student_ids[:5])
    ]
    cash = PaymentInsert(
        school_id=mine.school_id,
        student_id=mine.student_ids[0],
        school_year_id=mine.school_year_id,
        amount=Decimal("5"),
        method="cash",
    )
    foreign = PaymentInsert(
        school_id=mine.school_id,
        student_id=theirs.student_ids[0],
        school_year_id=mine.school_year_id,
        amount=Decimal("5"),
        method="cash",
    )
    assert import_payments(db, mine, [*rows, cash, foreign]) == 6
    assert import_payments(db, mine, [*rows, cash]) == 0
    same_reference = msgspec.structs.replace(rows[0], id=new_id())
    assert import_payments(db, mine, [same_reference]) == 0


def test_the_balance_equals_the_sum_of_the_students_ledger(
    db: ScopedDb, world: World
) -> None:
    school = world.first
    enroll_all(db, school)
    student_id = school.student_ids[0]
    for i, (amount, kind) in enumerate(
        (
            ("50000", "payment"),
            ("40000", "payment"),
            ("15000", "refund"),
            ("0.50", "payment"),
        )
    ):
        pay(
            db,
            school,
            student_id,
            amount,
            method="cash",
            kind=kind,
            paid_at=START + timedelta(days=i),
        )
    pay(db, school, school.student_ids[1], "999", method="cash")
    ledger = db.payments.list_student_payments(
        school_id=school.school_id,
        student_id=student_id,
        school_year_id=school.school_year_id,
    )
    assert [p.paid_at for p in ledger] == sorted(p.paid_at for p in ledger)
    net = sum(
        (p.amount if p.kind == "payment" else -p.amount for p in ledger), Decimal(0)
    )
    balance = db.payments.get_student_balance(
        school_id=school.school_id,
        student_id=student_id,
        school_year_id=school.school_year_id,
    )
    assert balance.paid == net == Decimal("75000.50")
    assert balance.expected == Decimal("150000.00")
    assert balance.outstanding == balance.expected - net
    with pytest.raises(NoRowError):
        db.payments.get_student_balance(
            school_id=world.schools[1].school_id,
            student_id=student_id,
            school_year_id=school.school_year_id,
        )


def test_walking_the_cash_journal_returns_every_row_once_in_order(
    db: ScopedDb, world: World
) -> None:
    mine, theirs = world.schools
    rows = [
        PaymentInsert(
            school_id=mine.school_id,
            student_id=sid,
            school_year_id=mine.school_year_id,
            amount=Decimal("10"),
            method="cash",
            paid_at=START + timedelta(hours=i // 3),
        )
        for i, sid in enumerate(mine.student_ids[:40])
    ]
    import_payments(db, mine, rows)
    pay(db, theirs, theirs.student_ids[0], "10", method="cash", paid_at=START)
    seen = walk(
        db.payments.list_school_payments,
        6,
        "paid_at",
        school_id=mine.school_id,
        paid_from=None,
        paid_to=None,
    )
    assert seen == sorted((r.paid_at, r.id) for r in rows if r.paid_at is not None)
    assert (
        db.payments.count_school_payments(
            school_id=mine.school_id, paid_from=None, paid_to=None
        )
        == 40
    )
    day = {
        "paid_from": START + timedelta(hours=2),
        "paid_to": START + timedelta(hours=4),
    }
    assert db.payments.count_school_payments(school_id=mine.school_id, **day) == 6
    window = db.payments.list_school_payments(
        school_id=mine.school_id, **day, after_paid_at=None, after_id=None, limit=100
    )
    assert len(window.items) == 6
    assert window.items[0].full_name.startswith("Kouassi")


def test_class_outstanding_lists_what_each_student_still_owes(
    db: ScopedDb, world: World
) -> None:
    school = world.first
    enroll_all(db, school)
    students = class_students(school)["6e A"]
    pay(db, school, students[0], "150000", method="cash")
    pay(db, school, students[1], "20000", method="cash")
    args = {"school_id": school.school_id, "class_id": school.class_ids["6e A"]}
    rows = db.payments.list_class_outstanding(**args, only_unpaid=False)
    assert len(rows) == 10
    by_id = {r.student_id: r for r in rows}
    assert by_id[students[0]].outstanding == 0
    assert by_id[students[0]].last_paid_at is not None
    assert by_id[students[1]].outstanding == Decimal("130000.00")
    assert by_id[students[2]].paid == 0
    assert by_id[students[2]].last_paid_at is None
    unpaid = db.payments.list_class_outstanding(**args, only_unpaid=True)
    assert {r.student_id for r in unpaid} == set(students[1:])
    assert (
        db.payments.list_class_outstanding(
            school_id=world.schools[1].school_id,
            class_id=school.class_ids["6e A"],
            only_unpaid=False,
        )
        == []
    )


def test_the_async_database_reads_the_same_balance(
    db: ScopedDb, world: World, run_async: Callable[[AsyncScenario], Any]
) -> None:
    school = world.first
    enroll_all(db, school)
    pay(db, school, school.student_ids[0], "1000", method="cash")
    args = {
        "school_id": school.school_id,
        "student_id": school.student_ids[0],
        "school_year_id": school.school_year_id,
    }

    async def scenario(adb: AsyncDatabase) -> Any:
        async with adb.for_school(school.school_id) as tx:
            return await tx.payments.get_student_balance(**args)

    assert run_async(scenario) == db.payments.get_student_balance(**args)
