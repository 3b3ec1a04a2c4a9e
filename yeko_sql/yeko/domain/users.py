"""Users, who sign in, and their memberships: one role per user and school."""

from datetime import datetime
from typing import Literal

import msgspec

from yeko_sql.ids import new_id
from yeko_sql.yeko.domain.schools import SchoolStatus

__all__ = [
    "Membership",
    "SchoolMember",
    "User",
    "UserData",
    "UserInsert",
    "UserRole",
    "UserSchool",
    "UserStatus",
]

UserStatus = Literal["invited", "active", "suspended", "archived"]
UserRole = Literal["admin", "director", "teacher", "accountant", "secretary"]


class UserData(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a caller chooses for a user; the email is stored lower-case."""

    email: str
    full_name: str
    phone: str | None = None
    status: UserStatus = "active"


class UserInsert(UserData, frozen=True, kw_only=True):
    """What create_user binds: the data plus a fresh id."""

    id: str = msgspec.field(default_factory=new_id)


class User(UserData, frozen=True, kw_only=True):
    """A row of ``users`` as queries select it."""

    id: str
    created_at: datetime
    updated_at: datetime


class Membership(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``user_schools``: a user's role in one school."""

    id: str
    user_id: str
    school_id: str
    role: UserRole
    created_at: datetime
    updated_at: datetime


class SchoolMember(msgspec.Struct, frozen=True, kw_only=True):
    """A user of one school, with their role there."""

    user_id: str
    email: str
    full_name: str
    phone: str | None
    status: UserStatus
    role: UserRole
    member_since: datetime


class UserSchool(msgspec.Struct, frozen=True, kw_only=True):
    """A school a user works in, with their role there."""

    school_id: str
    name: str
    code: str
    status: SchoolStatus
    role: UserRole
