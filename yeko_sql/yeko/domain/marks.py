"""Marks out of 20 per student, subject and term; report cards and rankings."""

from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec

from yeko_sql.ids import new_id

__all__ = [
    "ClassRankingLine",
    "Mark",
    "MarkData",
    "MarkInsert",
    "MarkKind",
    "MarkSheetLine",
    "ReportCardLine",
]

MarkKind = Literal["quiz", "homework", "test", "exam"]


class MarkData(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a caller chooses for a mark; nothing generated."""

    school_id: str
    student_id: str
    class_id: str
    subject_id: str
    term_id: str
    kind: MarkKind
    value: Decimal
    label: str | None = None


class MarkInsert(MarkData, frozen=True, kw_only=True):
    """What insert_marks binds for one mark: the data plus a fresh id."""

    id: str = msgspec.field(default_factory=new_id)


class Mark(MarkData, frozen=True, kw_only=True):
    """A row of ``marks`` as queries select it."""

    id: str
    recorded_at: datetime
    created_at: datetime
    updated_at: datetime


class MarkSheetLine(msgspec.Struct, frozen=True, kw_only=True):
    """A line of a teacher's mark sheet: one mark and whose it is."""

    id: str
    student_id: str
    matricule: str
    full_name: str
    kind: MarkKind
    label: str | None
    value: Decimal
    recorded_at: datetime


class ReportCardLine(msgspec.Struct, frozen=True, kw_only=True):
    """One subject of a student's report card for a term.

    ``coefficient`` is None when no coefficient template covers the subject;
    such a subject is left out of ``term_average``, the coefficient-weighted
    average of the subject averages (the same on every line).
    """

    subject_id: str
    subject_name: str
    class_id: str
    mark_count: int
    average: Decimal
    coefficient: int | None
    term_average: Decimal | None


class ClassRankingLine(msgspec.Struct, frozen=True, kw_only=True):
    """A student's weighted term average and rank in its class (ties share a rank)."""

    student_id: str
    matricule: str
    full_name: str
    term_average: Decimal | None
    position: int
