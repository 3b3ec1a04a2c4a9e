"""School years (a school's copy of a global template) and their terms."""

from datetime import date, datetime
from typing import Literal

import msgspec

__all__ = [
    "SchoolYear",
    "SchoolYearStatus",
    "SchoolYearTemplate",
    "Term",
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


class Term(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``terms``: one trimester of a school year, numbered by sort_order."""

    id: str
    school_id: str
    school_year_id: str
    name: str
    sort_order: int
    starts_on: date
    ends_on: date
    created_at: datetime
    updated_at: datetime
