"""Enrollments: a student's place in one class for one school year."""

from datetime import datetime
from typing import Literal

import msgspec

from yeko_sql.ids import new_id

__all__ = [
    "ClassEnrollment",
    "Enrollment",
    "EnrollmentData",
    "EnrollmentInsert",
    "EnrollmentListing",
    "EnrollmentRef",
    "EnrollmentStatus",
    "StudentEnrollment",
]

EnrollmentStatus = Literal["pending", "confirmed", "cancelled", "transferred"]


class EnrollmentData(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a caller chooses; the school year comes from the class."""

    school_id: str
    student_id: str
    class_id: str
    status: EnrollmentStatus = "pending"


class EnrollmentInsert(EnrollmentData, frozen=True, kw_only=True):
    """What create_enrollment binds: the data plus a fresh id."""

    id: str = msgspec.field(default_factory=new_id)


class Enrollment(EnrollmentData, frozen=True, kw_only=True):
    """A row of ``enrollments`` as queries select it."""

    id: str
    school_year_id: str
    enrolled_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ClassEnrollment(msgspec.Struct, frozen=True, kw_only=True):
    """A line of a class list: the enrollment and its student's name."""

    id: str
    student_id: str
    matricule: str
    full_name: str
    status: EnrollmentStatus
    enrolled_at: datetime
    confirmed_at: datetime | None


class EnrollmentListing(msgspec.Struct, frozen=True, kw_only=True):
    """An enrollment in a school-wide list, with its student and class names."""

    id: str
    student_id: str
    matricule: str
    full_name: str
    class_id: str
    class_name: str
    school_year_id: str
    status: EnrollmentStatus
    enrolled_at: datetime


class EnrollmentRef(msgspec.Struct, frozen=True, kw_only=True):
    """Who is in which class: preloaded into a dict for O(1) lookups."""

    id: str
    student_id: str
    class_id: str
    school_year_id: str
    status: EnrollmentStatus


class StudentEnrollment(msgspec.Struct, frozen=True, kw_only=True):
    """A line of a student's enrollment history, with the class and year names."""

    id: str
    school_year_id: str
    school_year_name: str
    class_id: str
    class_name: str
    status: EnrollmentStatus
    enrolled_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None
