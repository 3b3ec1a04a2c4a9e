"""A small school workload over the real schema, shared by the load and fault tests.

``seed`` fills a migrated database with plain SQL (2 schools, 8 classes, 400
students) and a test-only table, ``stress_balances``, holding each student's
balance, which the write transactions keep in step with the payments ledger.
``Workload.pick`` draws a mixed operation (80 % reads); ``run_op`` and
``run_op_async`` run it. ``check_invariants`` then proves nothing was lost,
doubled or half-applied:

- every student's balance equals the sum of their ledger (payments minus refunds);
- at most one confirmed enrollment per student and year;
- every enrollment has exactly its payment (``reference`` = enrollment id) and
  every such payment its enrollment: the two are written in one transaction.
"""

from __future__ import annotations

import random
import time
import traceback
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from yeko_sql.ids import new_id
from yeko_sql.runtime.database import Database
from yeko_sql.runtime.database_async import AsyncDatabase

SCHOOLS = 2
CLASSES = 4  # per school
STUDENTS = 400
FEE = Decimal(5000)
REFUND = Decimal(1000)

WORKLOAD_SQL = """\
-- name: get_student :one
-- A student by id.
SELECT id, matricule, full_name, status
FROM students
WHERE school_id = :school_id
  AND id = :id;

-- name: get_student_balance :scalar
-- A student's balance, from the ledger.
SELECT COALESCE(sum(CASE kind WHEN 'refund' THEN -amount ELSE amount END), 0)
FROM payments
WHERE school_id = :school_id
  AND student_id = :student_id;

-- name: count_student_enrollments :scalar
-- How many enrollments a student has.
SELECT count(*)
FROM enrollments
WHERE school_id = :school_id
  AND student_id = :student_id;

-- name: list_class_roster :many
-- The confirmed students of a class, by name.
SELECT s.id, s.full_name
FROM enrollments AS e
JOIN students AS s ON s.id = e.student_id
WHERE e.school_id = :school_id
  AND e.class_id = :class_id
  AND e.status = 'confirmed'
ORDER BY s.full_name, s.id
LIMIT 50;

-- name: create_enrollment :scalar
-- A pending enrollment.
INSERT INTO enrollments (id, school_id, student_id, class_id, school_year_id)
VALUES (:id, :school_id, :student_id, :class_id, :school_year_id)
RETURNING id;

-- name: insert_payment :execrows
-- One ledger row; reference ties a fee to its enrollment.
INSERT INTO payments (
    id, school_id, student_id, school_year_id, kind, amount, method, reference
)
VALUES (
    :id, :school_id, :student_id, :school_year_id, :kind, :amount, 'cash', :reference
);

-- name: update_balance :execrows
-- Move a student's balance with the ledger.
UPDATE stress_balances
SET balance = balance + :delta
WHERE school_id = :school_id
  AND student_id = :student_id;

-- name: lock_student :scalar
-- Serialise confirmations of one student.
SELECT id
FROM students
WHERE school_id = :school_id
  AND id = :id
FOR NO KEY UPDATE;

-- name: confirm_pending_enrollment :execrows
-- Confirm a student's oldest pending enrollment unless one is confirmed.
UPDATE enrollments
SET status = 'confirmed', confirmed_at = now()
WHERE school_id = :school_id
  AND id = (
    SELECT id
    FROM enrollments
    WHERE school_id = :school_id
      AND student_id = :student_id
      AND status = 'pending'
    ORDER BY created_at, id
    LIMIT 1
  )
  AND NOT EXISTS (
    SELECT 1
    FROM enrollments
    WHERE school_id = :school_id
      AND student_id = :student_id
      AND school_year_id = :school_year_id
      AND status = 'confirmed'
  );
"""

SEED_SQL = f"""
CREATE TABLE stress_balances (
    student_id text PRIMARY KEY REFERENCES students (id),
    school_id text NOT NULL REFERENCES schools (id),
    balance numeric(14, 2) NOT NULL DEFAULT 0
);
INSERT INTO school_year_templates (id, name, starts_on, ends_on, is_active)
VALUES ('tpl000000000000000001', '2025-2026', '2025-09-01', '2026-07-15', true);
INSERT INTO tracks (id, name, code)
VALUES ('trk000000000000000001', 'Premier cycle', 'PC');
INSERT INTO grades (id, track_id, name, code, sort_order)
VALUES ('grd000000000000000001', 'trk000000000000000001', '6e', '6EME', 1);
INSERT INTO schools (id, name, code)
SELECT 'sch' || lpad(n::text, 18, '0'), 'Lycee ' || n, 'LY' || n
FROM generate_series(1, {SCHOOLS}) AS n;
INSERT INTO school_years
    (id, school_id, school_year_template_id, name, starts_on, ends_on, status)
SELECT 'yea' || lpad(n::text, 18, '0'), 'sch' || lpad(n::text, 18, '0'),
       'tpl000000000000000001', '2025-2026', '2025-09-01', '2026-07-15', 'active'
FROM generate_series(1, {SCHOOLS}) AS n;
INSERT INTO classes (id, school_id, school_year_id, grade_id, name, capacity)
SELECT 'cls' || lpad((n * 100 + k)::text, 18, '0'), 'sch' || lpad(n::text, 18, '0'),
       'yea' || lpad(n::text, 18, '0'), 'grd000000000000000001', '6e ' || k, 200
FROM generate_series(1, {SCHOOLS}) AS n, generate_series(1, {CLASSES}) AS k;
INSERT INTO students (id, school_id, matricule, first_name, last_name)
SELECT 'stu' || lpad(i::text, 18, '0'),
       'sch' || lpad((1 + i % {SCHOOLS})::text, 18, '0'),
       'M' || i, 'Awa', 'Kone' || i
FROM generate_series(1, {STUDENTS}) AS i;
INSERT INTO stress_balances (student_id, school_id)
SELECT id, school_id FROM students;
"""


@dataclass(frozen=True, slots=True)
class Student:
    """What an operation needs to know about one seeded student."""

    id: str
    school_id: str
    class_id: str
    school_year_id: str


def seed(url: str) -> list[Student]:
    """Seed a migrated database; return its students."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED_SQL.encode())
    students = []
    for i in range(1, STUDENTS + 1):
        school = 1 + i % SCHOOLS
        students.append(
            Student(
                id=f"stu{i:018d}",
                school_id=f"sch{school:018d}",
                class_id=f"cls{school * 100 + 1 + i % CLASSES:018d}",
                school_year_id=f"yea{school:018d}",
            )
        )
    return students


def write_queries(folder: Path) -> Path:
    """Write the workload's query file, ``stress.sql``, into *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "stress.sql"
    path.write_text(WORKLOAD_SQL, encoding="utf-8")
    return path


Call = tuple[str, Mapping[str, object]]


@dataclass(frozen=True, slots=True)
class Op:
    """One unit of work: a single call, or several in one transaction."""

    name: str
    calls: list[Call]
    transaction: bool = False
    enrollment_id: str | None = None


def enroll_and_pay(s: Student) -> Op:
    """An enrollment, its fee and the balance, all or nothing."""
    enrollment = new_id()
    where = {"school_id": s.school_id, "student_id": s.id}
    return Op(
        "enroll_and_pay",
        [
            (
                "create_enrollment",
                {
                    "id": enrollment,
                    **where,
                    "class_id": s.class_id,
                    "school_year_id": s.school_year_id,
                },
            ),
            (
                "insert_payment",
                {
                    "id": new_id(),
                    **where,
                    "school_year_id": s.school_year_id,
                    "kind": "payment",
                    "amount": FEE,
                    "reference": enrollment,
                },
            ),
            ("update_balance", {**where, "delta": FEE}),
        ],
        transaction=True,
        enrollment_id=enrollment,
    )


class Workload:
    """Draws operations over the seeded students; 80 % reads, 20 % writes."""

    def __init__(self, students: list[Student], seed: int) -> None:
        self.students = students
        self.rng = random.Random(seed)  # noqa: S311  (a workload, not a secret)

    def pick(self) -> Op:  # noqa: PLR0911  (one return per operation)
        """The next operation."""
        s = self.rng.choice(self.students)
        where = {"school_id": s.school_id, "student_id": s.id}
        roll = self.rng.random()
        if roll < 0.35:
            return Op(
                "get_student", [("get_student", {"school_id": s.school_id, "id": s.id})]
            )
        if roll < 0.55:
            return Op("get_balance", [("get_student_balance", where)])
        if roll < 0.70:
            return Op("count_enrollments", [("count_student_enrollments", where)])
        if roll < 0.80:
            roster = {"school_id": s.school_id, "class_id": s.class_id}
            return Op("list_roster", [("list_class_roster", roster)])
        if roll < 0.92:
            return enroll_and_pay(s)
        if roll < 0.97:
            refund = {
                "id": new_id(),
                **where,
                "school_year_id": s.school_year_id,
                "kind": "refund",
                "amount": REFUND,
                "reference": new_id(),
            }
            return Op(
                "refund",
                [
                    ("insert_payment", refund),
                    ("update_balance", {**where, "delta": -REFUND}),
                ],
                transaction=True,
            )
        return Op(
            "confirm",
            [
                ("lock_student", {"school_id": s.school_id, "id": s.id}),
                (
                    "confirm_pending_enrollment",
                    {**where, "school_year_id": s.school_year_id},
                ),
            ],
            transaction=True,
        )


def run_op(db: Database, op: Op) -> None:
    """Run *op* on *db*: one call, or its calls in one transaction."""
    if not op.transaction:
        name, kwargs = op.calls[0]
        getattr(db.stress, name)(**kwargs)
        return
    with db.transaction() as tx:
        for name, kwargs in op.calls:
            getattr(tx.stress, name)(**kwargs)


async def run_op_async(db: AsyncDatabase, op: Op) -> None:
    """The asyncio twin of ``run_op``."""
    if not op.transaction:
        name, kwargs = op.calls[0]
        await getattr(db.stress, name)(**kwargs)
        return
    async with db.transaction() as tx:
        for name, kwargs in op.calls:
            await getattr(tx.stress, name)(**kwargs)


@dataclass
class Tally:
    """Latencies per operation, errors per type, enrollments by outcome."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    committed: set[str] = field(default_factory=set)  # enrollments acknowledged
    uncertain: set[str] = field(default_factory=set)  # failed: may have committed
    first: dict[str, str] = field(default_factory=dict)  # error type -> its first

    def timed(self, op: Op, started: float) -> None:
        """Record a success of *op* that started at *started*."""
        self.latencies.setdefault(op.name, []).append(time.perf_counter() - started)
        if op.enrollment_id is not None:
            self.committed.add(op.enrollment_id)

    def failed(self, op: Op, exc: BaseException) -> None:
        """Record a failure of *op*."""
        name = type(exc).__name__
        self.errors[name] += 1
        if name not in self.first:
            where = traceback.format_exception(exc)[-4:]
            self.first[name] = f"{op.name}: {exc!r} at {''.join(where).strip()}"
        if op.enrollment_id is not None:
            self.uncertain.add(op.enrollment_id)

    def merge(self, other: Tally) -> None:
        """Add *other*'s records to this one."""
        for name, values in other.latencies.items():
            self.latencies.setdefault(name, []).extend(values)
        self.errors.update(other.errors)
        for name, text in other.first.items():
            self.first.setdefault(name, text)
        self.committed |= other.committed
        self.uncertain |= other.uncertain

    @property
    def ops(self) -> int:
        """Successful operations."""
        return sum(map(len, self.latencies.values()))

    def percentiles(self) -> tuple[float, float, float]:
        """p50, p95 and p99 latency over every operation, in milliseconds."""
        values = sorted(v for vs in self.latencies.values() for v in vs)
        if not values:
            return (0.0, 0.0, 0.0)

        def at(q: float) -> float:
            return values[min(len(values) - 1, int(q * len(values)))] * 1000

        return at(0.50), at(0.95), at(0.99)


def check_invariants(url: str) -> dict[str, Any]:
    """Assert the workload's invariants on *url*; return row counts for reports."""
    with psycopg.connect(url, autocommit=True) as conn:

        def rows(sql: str) -> list[Any]:
            return conn.execute(sql.encode()).fetchall()

        ledger = rows(
            """SELECT b.student_id, b.balance, COALESCE(p.total, 0)
            FROM stress_balances AS b
            LEFT JOIN (
                SELECT student_id,
                       sum(CASE kind WHEN 'refund' THEN -amount ELSE amount END)
                           AS total
                FROM payments GROUP BY student_id
            ) AS p USING (student_id)
            WHERE b.balance <> COALESCE(p.total, 0)"""
        )
        assert not ledger, f"balances that do not match their ledger: {ledger[:5]}"
        doubled = rows(
            """SELECT student_id, school_year_id, count(*) FROM enrollments
            WHERE status = 'confirmed' GROUP BY 1, 2 HAVING count(*) > 1"""
        )
        assert not doubled, f"students confirmed twice in a year: {doubled[:5]}"
        unpaid = rows(
            """SELECT e.id FROM enrollments AS e
            WHERE (SELECT count(*) FROM payments AS p
                   WHERE p.school_id = e.school_id AND p.method = 'cash'
                     AND p.kind = 'payment' AND p.reference = e.id) <> 1"""
        )
        assert not unpaid, f"enrollments without exactly one fee: {unpaid[:5]}"
        orphans = rows(
            """SELECT p.id FROM payments AS p
            WHERE p.kind = 'payment'
              AND NOT EXISTS (
                SELECT 1 FROM enrollments AS e WHERE e.id = p.reference
              )"""
        )
        assert not orphans, f"fees without their enrollment: {orphans[:5]}"
        (counts,) = rows(
            """SELECT (SELECT count(*) FROM enrollments),
                      (SELECT count(*) FROM enrollments WHERE status = 'confirmed'),
                      (SELECT count(*) FROM payments),
                      (SELECT array_agg(id) FROM enrollments)"""
        )
    return {
        "enrollments": counts[0],
        "confirmed": counts[1],
        "payments": counts[2],
        "enrollment_ids": set(counts[3] or ()),
    }
