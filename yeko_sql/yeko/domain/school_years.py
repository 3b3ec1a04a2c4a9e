"""School years (a school's copy of a global template) and their terms."""

from datetime import date, datetime
from typing import Literal

import msgspec

from yeko_sql.ids import new_id

__all__ = [
    "SchoolYear",
    "SchoolYearStatus",
    "SchoolYearTemplate",
    "Term",
    "TermData",
    "TermInsert",
]

SchoolYearStatus = Literal["draft", "active", "closed"]


class SchoolYearTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``school_year_templates``: a global year such as 2025-2026."""

    id: str
    name: str
    starts_on: date
    ends_on: date
    is_active: bool
    created_at: datetime
    updated_at: datetime


class SchoolYear(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``school_years``: draft, then active (one per school), then closed."""

    id: str
    school_id: str
    school_year_template_id: str
    name: str
    starts_on: date
    ends_on: date
    status: SchoolYearStatus
    created_at: datetime
    updated_at: datetime


class TermData(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a caller chooses for a term of a school year."""

    name: str
    sort_order: int
    starts_on: date
    ends_on: date


class TermInsert(TermData, frozen=True, kw_only=True):
    """What upsert_terms binds, one array per field: the data plus a fresh id."""

    id: str = msgspec.field(default_factory=new_id)


class Term(TermData, frozen=True, kw_only=True):
    """A row of ``terms``: one trimester of a school year, numbered by sort_order."""

    id: str
    school_id: str
    school_year_id: str
    created_at: datetime
    updated_at: datetime
