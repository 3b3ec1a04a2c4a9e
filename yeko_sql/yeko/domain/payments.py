"""Payments: the append-only money ledger, balances and outstanding fees."""

from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec

from yeko_sql.ids import new_id

__all__ = [
    "Payment",
    "PaymentData",
    "PaymentInsert",
    "PaymentKind",
    "PaymentLine",
    "PaymentMethod",
    "StudentBalance",
    "StudentOutstanding",
]

PaymentKind = Literal["payment", "refund"]
PaymentMethod = Literal["cash", "mobile_money", "bank_transfer", "cheque", "card"]


class PaymentData(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a caller chooses for a ledger row; ``paid_at`` None means now."""

    school_id: str
    student_id: str
    school_year_id: str
    amount: Decimal
    method: PaymentMethod
    kind: PaymentKind = "payment"
    currency: str = "XOF"
    fee_structure_id: str | None = None
    reference: str | None = None
    note: str | None = None
    paid_at: datetime | None = None


class PaymentInsert(PaymentData, frozen=True, kw_only=True):
    """What create_payment binds: the data plus a fresh id."""

    id: str = msgspec.field(default_factory=new_id)


class Payment(PaymentData, frozen=True, kw_only=True):
    """A row of ``payments`` as queries select it; it never changes."""

    id: str
    paid_at: datetime
    created_at: datetime


class PaymentLine(Payment, frozen=True, kw_only=True):
    """A line of the school's cash journal: the ledger row and who it is for."""

    matricule: str
    full_name: str


class StudentBalance(msgspec.Struct, frozen=True, kw_only=True):
    """A student's account for a year: fees due, net paid, still owed.

    ``paid`` is payments minus refunds; ``outstanding`` is ``expected - paid``
    (negative when the school owes the student).
    """

    student_id: str
    school_year_id: str
    expected: Decimal
    paid: Decimal
    outstanding: Decimal


class StudentOutstanding(msgspec.Struct, frozen=True, kw_only=True):
    """A student of a class with what it owes for the class's year."""

    student_id: str
    matricule: str
    full_name: str
    expected: Decimal
    paid: Decimal
    outstanding: Decimal
    last_paid_at: datetime | None
