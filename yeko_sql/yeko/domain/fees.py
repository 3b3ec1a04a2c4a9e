"""Fee structures: what a school charges per grade and school year."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import msgspec

from yeko_sql.ids import new_id

__all__ = [
    "FeeStructure",
    "FeeStructureData",
    "FeeStructureInsert",
    "FeeStructureLine",
    "FeeStructureRef",
    "FeeType",
    "StudentExpectedFees",
]

FeeType = Literal[
    "registration", "tuition", "exam", "transport", "canteen", "uniform", "other"
]


class FeeStructureData(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a caller chooses for a fee; nothing generated."""

    school_id: str
    school_year_id: str
    grade_id: str
    name: str
    fee_type: FeeType
    amount: Decimal
    currency: str = "XOF"
    due_on: date | None = None


class FeeStructureInsert(FeeStructureData, frozen=True, kw_only=True):
    """What create_fee_structure binds: the data plus a fresh id."""

    id: str = msgspec.field(default_factory=new_id)


class FeeStructure(FeeStructureData, frozen=True, kw_only=True):
    """A row of ``fee_structures`` as queries select it."""

    id: str
    created_at: datetime
    updated_at: datetime


class FeeStructureLine(msgspec.Struct, frozen=True, kw_only=True):
    """A fee in a year's fee schedule, with its grade."""

    id: str
    grade_id: str
    grade_code: str
    grade_name: str
    name: str
    fee_type: FeeType
    amount: Decimal
    currency: str
    due_on: date | None


class FeeStructureRef(msgspec.Struct, frozen=True, kw_only=True):
    """A fee preloaded into a dict for O(1) lookups while importing payments."""

    id: str
    grade_id: str
    name: str
    fee_type: FeeType
    amount: Decimal


class StudentExpectedFees(msgspec.Struct, frozen=True, kw_only=True):
    """What a student owes for a year: the fees of the grade of its confirmed class.

    ``class_id`` and ``grade_id`` are None, and ``expected`` is 0, without a
    confirmed enrollment that year.
    """

    student_id: str
    school_year_id: str
    class_id: str | None
    grade_id: str | None
    fee_count: int
    expected: Decimal
