"""The rows the blog's queries return, as msgspec Structs.

No ``from __future__ import annotations`` here: msgspec reads these
annotations at runtime to decode rows.
"""

from datetime import datetime
from typing import Any, Literal

import msgspec

PostStatus = Literal["draft", "published", "archived"]
"""The labels of the ``post_status`` enum."""


class AuthorData(msgspec.Struct, frozen=True, kw_only=True):
    """What a caller chooses for an author; also what ``copy_structs`` loads."""

    handle: str
    display_name: str


class Author(AuthorData, frozen=True, kw_only=True):
    """A row of ``authors``."""

    id: int
    created_at: datetime


class Post(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``posts``."""

    id: int
    author_id: int
    slug: str
    title: str
    body: str
    status: PostStatus
    metadata: dict[str, Any]
    published_at: datetime | None
    created_at: datetime


class PostSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A post in a list: no body, its author's handle."""

    id: int
    slug: str
    title: str
    author_handle: str
    published_at: datetime | None


class Tag(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``tags``."""

    id: int
    name: str


class Comment(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``comments``; ``parent_id`` is the comment it answers, if any."""

    id: int
    post_id: int
    author_id: int
    parent_id: int | None
    body: str
    created_at: datetime
