"""Pages of results: numbered (``Page``) and seek-based (``KeysetPage``)."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

__all__ = [
    "MAX_KEYSET_LIMIT",
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "KeysetPage",
    "Page",
    "limit_offset",
]

T = TypeVar("T")

MAX_PAGE_SIZE = 1000
"""The largest ``page_size`` a ``:page`` call takes."""
MAX_PAGE = 1_000_000
"""The deepest ``page`` a ``:page`` call takes (OFFSET past a billion rows is
a scan nobody wants; seek with ``:keyset``)."""
MAX_KEYSET_LIMIT = 1000
"""The largest ``limit`` a ``:keyset`` call takes."""

TOTAL_COLUMN = "total_count"
"""The window-function column a ``:page`` query selects for its total."""


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """One numbered page of a ``:page`` query, with the total across all pages."""

    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """How many pages the total fills (0 when there is nothing)."""
        return -(-self.total // self.page_size) if self.page_size else 0

    @property
    def has_next(self) -> bool:
        """Whether a later page holds rows."""
        return self.page < self.pages


class KeysetPage(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """One page of a ``:keyset`` (seek) query: cost does not grow with depth.

    Pass the sort key of ``last`` as the seek parameters of the next call.
    """

    items: list[T]
    limit: int
    has_more: bool

    @property
    def last(self) -> T | None:
        """The last row of this page, the seek key of the next, or None."""
        return self.items[-1] if self.items else None


def limit_offset(
    page: int, page_size: int, *, max_page_size: int = MAX_PAGE_SIZE
) -> tuple[int, int]:
    """Turn a 1-based *page* and *page_size* into ``(limit, offset)``.

    Raises:
        ValueError: page outside 1..MAX_PAGE, or page size outside
            1..max_page_size.
    """
    if not 1 <= page <= MAX_PAGE:
        raise ValueError(f"page must be within 1..{MAX_PAGE}, got {page}")
    if not 1 <= page_size <= max_page_size:
        raise ValueError(
            f"page_size must be within 1..{max_page_size}, got {page_size}"
        )
    return page_size, (page - 1) * page_size
