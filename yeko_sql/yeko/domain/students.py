"""Students of a school: rows, what callers choose, and profile projections."""

from datetime import date, datetime
from typing import Literal

import msgspec

from yeko_sql.ids import new_id
from yeko_sql.yeko.domain.enrollments import EnrollmentStatus

__all__ = [
    "Student",
    "StudentData",
    "StudentGender",
    "StudentInsert",
    "StudentProfile",
    "StudentRef",
    "StudentStatus",
    "StudentSummary",
]

StudentStatus = Literal["active", "withdrawn", "transferred", "graduated", "archived"]
StudentGender = Literal["M", "F"]


class StudentData(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a caller chooses for a student; nothing generated."""

    school_id: str
    matricule: str
    first_name: str
    last_name: str
    birth_date: date | None = None
    gender: StudentGender | None = None
    status: StudentStatus = "active"


class StudentInsert(StudentData, frozen=True, kw_only=True):
    """What create_student and upsert_students bind: the data plus a fresh id."""

    id: str = msgspec.field(default_factory=new_id)


class Student(StudentData, frozen=True, kw_only=True):
    """A row of ``students`` as queries select it."""

    id: str
    full_name: str
    created_at: datetime
    updated_at: datetime


class StudentSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A student in a school's name-ordered list."""

    id: str
    matricule: str
    full_name: str
    gender: StudentGender | None
    birth_date: date | None
    status: StudentStatus


class StudentRef(msgspec.Struct, frozen=True, kw_only=True):
    """A student's id and names, preloaded into a dict keyed by matricule."""

    id: str
    matricule: str
    full_name: str
    status: StudentStatus


class StudentProfile(msgspec.Struct, frozen=True, kw_only=True):
    """A student with the current enrollment of the active year (None: none)."""

    id: str
    school_id: str
    matricule: str
    full_name: str
    birth_date: date | None
    gender: StudentGender | None
    status: StudentStatus
    school_year_id: str | None
    enrollment_id: str | None
    enrollment_status: EnrollmentStatus | None
    class_id: str | None
    class_name: str | None
    grade_code: str | None
    grade_name: str | None
    series_code: str | None
