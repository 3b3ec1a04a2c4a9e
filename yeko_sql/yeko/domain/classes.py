"""Classes: a school's groups (6e A, Tle D2) for one grade in one school year."""

from datetime import datetime
from typing import Literal

import msgspec

from yeko_sql.ids import new_id

__all__ = [
    "ClassLookup",
    "ClassOverview",
    "ClassStatus",
    "SchoolClass",
    "SchoolClassData",
    "SchoolClassInsert",
]

ClassStatus = Literal["active", "archived"]


class SchoolClassData(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a caller chooses for a class; series_id None below the 2nde."""

    school_id: str
    school_year_id: str
    grade_id: str
    name: str
    series_id: str | None = None
    capacity: int | None = None


class SchoolClassInsert(SchoolClassData, frozen=True, kw_only=True):
    """What create_class binds: the data plus a fresh id."""

    id: str = msgspec.field(default_factory=new_id)


class SchoolClass(SchoolClassData, frozen=True, kw_only=True):
    """A row of ``classes`` as queries select it."""

    id: str
    status: ClassStatus
    created_at: datetime
    updated_at: datetime


class ClassOverview(msgspec.Struct, frozen=True, kw_only=True):
    """A class in a school year's list, with its grade, series and head count."""

    id: str
    name: str
    grade_id: str
    grade_name: str
    series_id: str | None
    series_code: str | None
    capacity: int | None
    status: ClassStatus
    confirmed_count: int


class ClassLookup(msgspec.Struct, frozen=True, kw_only=True):
    """A class to preload into a dict (id -> name, grade, series, capacity)."""

    id: str
    name: str
    grade_id: str
    series_id: str | None
    capacity: int | None
    status: ClassStatus
