"""Paging a 1,000,000-row list: keyset against OFFSET, at page 1 and deep."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.data import SCHOOL_ID, Sizes
from benchmarks.harness import Group
from benchmarks.peers import Bench
from benchmarks.reads import enrollment_id

__all__ = ["PAGE_CALLS", "paging_group"]

S = SCHOOL_ID
PAGE_CALLS = 50
"""Calls per sample for the fast pages (one is too short to time alone)."""


def paging_group(b: Bench, sizes: Sizes) -> Group:
    """Page 1 and page ``deep_page`` of one school's enrollment list.

    Fast pages are timed over ``PAGE_CALLS`` calls per sample (one call is
    well under a millisecond, too short to time alone on a busy machine).
    """
    size, deep = sizes.page_size, sizes.deep_page
    after = enrollment_id((deep - 1) * size)  # the last row of the page before
    keyset, offset = b.db.bench.list_enrollments_after, b.db.bench.list_enrollments_at
    calls = range(PAGE_CALLS)

    def keyset_page(after_id: str | None) -> Callable[[], None]:
        def go() -> None:
            for _ in calls:
                keyset(school_id=S, after_id=after_id, limit=size)

        return go

    def first_offset_page() -> None:
        for _ in calls:
            offset(school_id=S, limit=size, offset=0)

    names = (
        "keyset, page 1 (floor)",
        f"keyset, page {deep:,}",
        "OFFSET, page 1",
        f"OFFSET, page {deep:,}",
    )
    return Group(
        key="paging",
        title=(
            f"a list of {sizes.enrollments:,} enrollments, {size} per page"
            " (ms per page)"
        ),
        per=dict.fromkeys(names[:3], PAGE_CALLS),
        max_rounds=3,
        cases=dict(
            zip(
                names,
                (
                    keyset_page(None),
                    keyset_page(after),
                    first_offset_page,
                    lambda: offset(school_id=S, limit=size, offset=(deep - 1) * size),
                ),
                strict=True,
            )
        ),
    )
