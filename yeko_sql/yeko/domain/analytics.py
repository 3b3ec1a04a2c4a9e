"""Analytics of one school and one school year: counts, money, fill rates."""

from datetime import date
from decimal import Decimal

import msgspec

from yeko_sql.yeko.domain.enrollments import EnrollmentStatus

__all__ = [
    "ClassFillRate",
    "EnrollmentCount",
    "PaymentPeriodTotal",
    "TopDebtor",
    "YearFeeCollection",
]


class EnrollmentCount(msgspec.Struct, frozen=True, kw_only=True):
    """How many enrollments one group has; ``all_*`` flags mark subtotals.

    A column rolled up into a subtotal is None with its flag True, which tells it
    apart from a real None (a grade without series).
    """

    grade_code: str | None
    series_code: str | None
    status: EnrollmentStatus | None
    all_grades: bool
    all_series: bool
    all_statuses: bool
    enrollments: int


class YearFeeCollection(msgspec.Struct, frozen=True, kw_only=True):
    """A year's fees: due from confirmed students, collected, refunded, still owed."""

    school_year_id: str
    students: int
    expected: Decimal
    collected: Decimal
    refunded: Decimal
    net: Decimal
    outstanding: Decimal
    collection_rate: Decimal | None


class ClassFillRate(msgspec.Struct, frozen=True, kw_only=True):
    """A class's head count against its capacity (rate None without a capacity)."""

    class_id: str
    class_name: str
    grade_code: str
    series_code: str | None
    capacity: int | None
    confirmed: int
    pending: int
    fill_rate: Decimal | None


class TopDebtor(msgspec.Struct, frozen=True, kw_only=True):
    """A student among those who owe the most; ``share`` is its % of all debt."""

    position: int
    student_id: str
    matricule: str
    full_name: str
    class_name: str
    expected: Decimal
    paid: Decimal
    outstanding: Decimal
    share: Decimal


class PaymentPeriodTotal(msgspec.Struct, frozen=True, kw_only=True):
    """Money in and out over one day, week or month, with the running net."""

    period_start: date
    entries: int
    collected: Decimal
    refunded: Decimal
    net: Decimal
    cumulative_net: Decimal
