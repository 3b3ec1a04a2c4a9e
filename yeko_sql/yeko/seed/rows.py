"""The seeder's big tables: enrollments, payments and marks, as row generators.

Each generator walks one school's placements with a random stream of its own
(``stream(seed, school, table)``), so rows flow into COPY without being held
in memory, and no table's rows depend on the order tables are loaded in.
Rows are plain tuples: at a million rows, building a Struct per row would
cost as much as the COPY itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from random import Random
from typing import Any, NamedTuple

from yeko_sql.yeko.seed.data import COEFFICIENTS
from yeko_sql.yeko.seed.plan import (
    AS_OF,
    YEARS,
    Catalog,
    Ids,
    Placement,
    SchoolPlan,
    at,
    money,
    stream,
)

__all__ = ["MarkPlan", "Odds", "enrollment_rows", "mark_rows", "payment_rows"]

Row = tuple[Any, ...]

_MARKS = [Decimal(q) / 4 for q in range(81)]  # quarter points, 0.00 to 20.00
_BIAS = {"MATH": -1.0, "PC": -0.8, "PHILO": -0.7, "FR": -0.3, "EPS": 2.5, "EDHC": 2.0}
_METHODS = (
    ("mobile_money", 0.50),
    ("cash", 0.80),
    ("bank_transfer", 0.92),
    ("cheque", 0.97),
    ("card", 1.0),
)  # fmt: skip  (cumulative odds)
_STEP = 5000  # tuition is paid in multiples of 5,000 XOF


class Odds(NamedTuple):
    """The odds that shape enrollments and payments, in one place."""

    no_extra: float = 0.4  # a student-year has only its confirmed enrollment
    one_extra: float = 0.8  # ... or one more (else two): cancelled, moved, pending
    pending: float = 0.2  # this year, an extra is a pending request
    cancelled: float = 0.6  # ... else cancelled below this, else a class change
    paid_in_full: float = 0.9  # last year's tuition was paid in full
    unallocated: float = 0.02  # a tuition payment names no fee structure
    noted: float = 0.1  # a payment carries a note
    receipt: float = 0.7  # a cash payment has a receipt number
    exam_paid_last_year: float = 0.95
    exam_paid_early: float = 0.08  # this year's exam fee is already paid
    refund: float = 0.03


ODDS = Odds()


class MarkPlan(NamedTuple):
    """Which terms get marks, which evaluations, in which subjects."""

    slots: dict[tuple[int, int], tuple[tuple[str, str, int], ...]]
    """(year, term) -> evaluations as (kind, label, days after the term starts)."""
    subjects: tuple[str, ...] | None = None
    """Short names to mark; None marks every subject of the class."""


Times = tuple[datetime, datetime | None, datetime | None, datetime]
"""An enrollment's enrolled_at, confirmed_at, cancelled_at and updated_at."""


def _enrollment(
    new: Ids, p: Placement, plan: SchoolPlan, where: tuple[str, str], times: Times
) -> Row:
    (class_id, status), (enrolled, confirmed, cancelled, changed) = where, times
    return (new(), plan.school_id, p.student_id, class_id, plan.year_ids[p.year],
            status, enrolled, confirmed, cancelled, enrolled, changed)  # fmt: skip


def enrollment_rows(seed: int, plan: SchoolPlan) -> Iterator[Row]:
    """One confirmed enrollment per placement, plus cancelled, transferred, pending."""
    rng = stream(seed, plan.number, "enrollments")
    new, rand, randint = Ids(rng), rng.random, rng.randint
    for p in plan.placements:
        classes = plan.classes[p.year]
        same_grade = plan.by_grade[p.year][classes[p.class_index][1]]
        start = at(p.enrolled_on, 8 + rng.randrange(9), rng.randrange(60))
        roll = rand()
        extras = 0 if roll < ODDS.no_extra else 1 if roll < ODDS.one_extra else 2
        moved = False  # one class change a year at most
        for _ in range(extras):
            other = classes[rng.choice(same_grade)][0]
            roll = rand()
            if p.year == 1 and roll < ODDS.pending:
                asked = AS_OF - timedelta(days=randint(1, 20), hours=randint(0, 8))
                times: Times = (asked, None, None, asked)
                yield _enrollment(new, p, plan, (other, "pending"), times)
            elif roll < ODDS.cancelled or moved:
                asked = start - timedelta(days=randint(1, 20))
                gone = asked + timedelta(days=randint(1, 10))
                times = (asked, None, gone, gone)
                yield _enrollment(new, p, plan, (other, "cancelled"), times)
            else:
                confirmed = start + timedelta(hours=randint(2, 72))
                left = start + timedelta(days=randint(20, 60))
                times = (start, confirmed, None, left)
                yield _enrollment(new, p, plan, (other, "transferred"), times)
                start, moved = left, True
        confirmed = start + timedelta(hours=randint(1, 72))
        times = (start, confirmed, None, confirmed)
        yield _enrollment(new, p, plan, (classes[p.class_index][0], "confirmed"), times)


class _Ledger:
    """Builds one school's payment rows, numbering references per school."""

    __slots__ = ("count", "new", "rng", "school_id")

    def __init__(self, seed: int, plan: SchoolPlan) -> None:
        self.rng = stream(seed, plan.number, "payments")
        self.new = Ids(self.rng)
        self.school_id = plan.school_id
        self.count = 0

    def row(self, p: Placement, year_id: str, fee: str | None, amount: int,
            paid: datetime, *, kind: str = "payment", note: str | None = None,
            method: str = "") -> Row:  # fmt: skip
        self.count += 1
        n = self.count
        if not method:
            roll = self.rng.random()
            method = next(m for m, edge in _METHODS if roll < edge)
        if method == "mobile_money":
            ref: str | None = f"MP{paid:%y%m%d}.{n:07d}"
        elif method == "cash":
            ref = f"REC-{paid:%Y}-{n:06d}" if self.rng.random() < ODDS.receipt else None
        else:
            ref = f"{method[:3].upper()}{n:09d}"
        return (self.new(), self.school_id, p.student_id, year_id, fee, kind,
                money(amount), "XOF", method, ref, note, paid, paid)  # fmt: skip


def _when(rng: Random, day: date, latest: datetime) -> datetime:
    return min(at(day, 7 + rng.randrange(11), rng.randrange(60)), latest)


def _tuition(rng: Random, p: Placement, tuition: int) -> tuple[int, int, int]:
    """How many installments, how much in all, over how many days."""
    year = YEARS[p.year]
    if year.status == "closed":
        parts = rng.choices((1, 2, 3, 4, 5), (10, 20, 35, 25, 10))[0]
        due = tuition
        if rng.random() >= ODDS.paid_in_full:
            due = round(tuition * rng.uniform(0.4, 0.9) / _STEP) * _STEP
        return parts, due, (date(year.starts_on.year + 1, 3, 31) - p.enrolled_on).days
    parts = rng.choices((1, 2, 3), (35, 40, 25))[0]
    due = round(tuition * (0.4 + 0.3 * (parts - 1)) / _STEP) * _STEP
    return parts, due, (AS_OF.date() - p.enrolled_on).days


def payment_rows(seed: int, plan: SchoolPlan) -> Iterator[Row]:
    """Registration, tuition installments, exam fees and a few refunds."""
    book = _Ledger(seed, plan)
    rng = book.rng
    for p in plan.placements:
        year, year_id = YEARS[p.year], plan.year_ids[p.year]
        grade = plan.classes[p.year][p.class_index][1]
        reg_id, registration, tui_id, tuition, exam_id, exam = plan.fees[p.year, grade]
        closed = year.status == "closed"
        latest = at(year.ends_on, 17) if closed else AS_OF
        day = p.enrolled_on + timedelta(days=rng.randint(0, 2))
        yield book.row(p, year_id, reg_id, registration, _when(rng, day, latest))
        parts, due, span = _tuition(rng, p, tuition)
        step = max(_STEP, due // parts // _STEP * _STEP)
        paid, methods = 0, []
        for i in range(parts):
            amount = due - paid if i == parts - 1 else min(step, due - paid)
            if amount <= 0:
                break
            day = p.enrolled_on + timedelta(days=span * i // parts + rng.randint(0, 6))
            fee = None if rng.random() < ODDS.unallocated else tui_id
            note = f"Versement {i + 1}/{parts}" if rng.random() < ODDS.noted else None
            row = book.row(p, year_id, fee, amount, _when(rng, day, latest), note=note)
            methods.append(row[8])
            paid += amount
            yield row
        if exam_id and rng.random() < (
            ODDS.exam_paid_last_year if closed else ODDS.exam_paid_early
        ):
            day = date(year.starts_on.year + 1, 2, 1) if closed else date(2025, 11, 3)
            day += timedelta(days=rng.randint(0, 40))
            yield book.row(p, year_id, exam_id, exam, _when(rng, day, latest))
        if paid > _STEP and rng.random() < ODDS.refund:
            amount = min(paid - _STEP, rng.randint(1, 5) * _STEP)
            day = date(year.ends_on.year, 6, 15) if closed else date(2025, 11, 20)
            yield book.row(p, year_id, tui_id, amount, _when(rng, day, latest),
                           kind="refund", note="Remboursement trop-perçu",
                           method=rng.choice(methods))  # fmt: skip


def mark_rows(
    seed: int, plan: SchoolPlan, catalog: Catalog, marks: MarkPlan
) -> Iterator[Row]:
    """Marks out of 20 per student, subject, marked term and evaluation."""
    rng = stream(seed, plan.number, "marks")
    new, school_id, gauss = Ids(rng), plan.school_id, rng.gauss
    subject_ids = catalog.subjects
    for p in plan.placements:
        class_id, grade, series = plan.classes[p.year][p.class_index]
        subjects = [p.lv2 if s == "LV2" else s for s in COEFFICIENTS[grade, series]]
        if marks.subjects is not None:
            subjects = [s for s in subjects if s in marks.subjects]
        for term, (start, _) in enumerate(YEARS[p.year].terms):
            term_id = plan.term_ids[p.year][term]
            for n, (kind, label, days) in enumerate(
                marks.slots.get((p.year, term), ())
            ):
                # The whole class sits an evaluation on the same day.
                when = at(start + timedelta(days=days + (p.class_index + n) % 5), 10)
                for subject in subjects:
                    value = p.ability + _BIAS.get(subject, 0.0) + gauss(0.0, 2.2)
                    quarter = min(80, max(0, int(value * 4)))
                    yield (new(), school_id, p.student_id, class_id,
                           subject_ids[subject], term_id, kind, label, _MARKS[quarter],
                           when, when, when)  # fmt: skip
