"""Schools, the tenants: rows, what callers choose, and list projections."""

from datetime import datetime
from typing import Any, Literal

import msgspec

from yeko_sql.ids import new_id

__all__ = [
    "School",
    "SchoolData",
    "SchoolInsert",
    "SchoolSettings",
    "SchoolStatus",
    "SchoolStatusCount",
    "SchoolSummary",
]

SchoolStatus = Literal["active", "suspended", "archived"]


class SchoolData(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a caller chooses for a school; nothing generated."""

    name: str
    code: str
    status: SchoolStatus = "active"
    city: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    settings: dict[str, Any] = msgspec.field(default_factory=dict)


class SchoolInsert(SchoolData, frozen=True, kw_only=True):
    """What create_school binds: the data plus a fresh id."""

    id: str = msgspec.field(default_factory=new_id)


class School(SchoolData, frozen=True, kw_only=True):
    """A row of ``schools`` as queries select it."""

    id: str
    created_at: datetime
    updated_at: datetime


class SchoolSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A school in the platform's list: who, where, since when."""

    id: str
    name: str
    code: str
    status: SchoolStatus
    city: str | None
    created_at: datetime


class SchoolSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A school's settings object (language, currency, report-card options...)."""

    id: str
    settings: dict[str, Any]


class SchoolStatusCount(msgspec.Struct, frozen=True, kw_only=True):
    """How many schools have one status."""

    status: SchoolStatus
    total: int
