"""Long loads in chunks: each chunk its own short transaction, with a report.

``load_in_chunks`` stops at the first chunk that fails and says which chunks
committed, which one failed (with the row range and, for constraint errors,
the offending key PostgreSQL names), and which were never attempted. When
``apply`` is an upsert, running the same load again after fixing the data
finishes it without duplicates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import msgspec

from yeko_sql.bulk import DEFAULT_CHUNK, chunked

if TYPE_CHECKING:
    from yeko_sql.database import Database, Transaction

__all__ = ["ChunkDone", "ChunkFailure", "ChunkReport", "ChunkSpan", "load_in_chunks"]

T = TypeVar("T")

# "Key (school_id, matricule)=(a, b) already exists." and the foreign-key forms.
_KEY = re.compile(r"^Key (\(.*?\)=\(.*\))(?: already exists| is not present| is still)")


class ChunkSpan(msgspec.Struct, frozen=True, kw_only=True):
    """A chunk's place in the input: index and row range ``[start, stop)``."""

    index: int
    start: int
    stop: int


class ChunkDone(ChunkSpan, frozen=True, kw_only=True):
    """A chunk that committed, with the row count ``apply`` returned."""

    rows: int


class ChunkFailure(ChunkSpan, frozen=True, kw_only=True):
    """The chunk that failed: its error, and the key PostgreSQL named, if any."""

    error: BaseException
    key: str | None = None
    """``(school_id, matricule)=(…, …)`` from the error detail, when there is one."""
    constraint: str | None = None
    """The violated constraint's name, when PostgreSQL reports one."""

    def describe(self) -> str:
        """One line: chunk, rows, what went wrong and where."""
        text = (
            f"chunk {self.index} (rows {self.start}-{self.stop - 1}) failed: "
            f"{type(self.error).__name__}: {str(self.error).splitlines()[0]}"
        )
        if self.key:
            text += f"; key {self.key}"
        return text


class ChunkReport(msgspec.Struct, frozen=True, kw_only=True):
    """What ``load_in_chunks`` did: committed, failed and not attempted chunks."""

    total: int
    """Items handed to the load."""
    size: int
    committed: list[ChunkDone]
    failed: ChunkFailure | None = None
    skipped: list[ChunkSpan] = msgspec.field(default_factory=list)
    """Chunks after the failed one, never attempted."""

    @property
    def ok(self) -> bool:
        """True when every chunk committed."""
        return self.failed is None

    @property
    def rows(self) -> int:
        """Rows affected by the committed chunks, as ``apply`` counted them."""
        return sum(done.rows for done in self.committed)

    @property
    def next_start(self) -> int:
        """Index of the first item not committed (``total`` when all were)."""
        return self.committed[-1].stop if self.committed else 0

    def raise_for_failure(self) -> None:
        """Re-raise the failed chunk's exception, with a note naming the chunk."""
        if self.failed is None:
            return
        failed, error = self.failed, self.failed.error
        note = (
            f"while loading chunk {failed.index} (rows {failed.start}-"
            f"{failed.stop - 1}) of {self.total} rows in chunks of {self.size}"
        )
        if note not in getattr(error, "__notes__", ()):
            error.add_note(note)
        raise error


def _failure(span: ChunkSpan, exc: BaseException) -> ChunkFailure:
    diag = getattr(exc, "diag", None)
    detail = diag.message_detail if diag is not None else None
    found = _KEY.match(detail) if detail else None
    return ChunkFailure(
        index=span.index,
        start=span.start,
        stop=span.stop,
        error=exc,
        key=found.group(1) if found else None,
        constraint=diag.constraint_name if diag is not None else None,
    )


def load_in_chunks(
    db: Database,
    items: Sequence[T],
    apply: Callable[[Transaction, Sequence[T]], int],
    *,
    size: int = DEFAULT_CHUNK,
) -> ChunkReport:
    """Run ``apply(tx, chunk)`` for each chunk of *items*, one transaction each.

    Stops at the first chunk that raises: that chunk is rolled back, the ones
    before it stay committed, the ones after it are not attempted. Nothing is
    raised; call ``report.raise_for_failure()`` to propagate the error.
    """
    if size < 1:
        raise ValueError(f"load_in_chunks: size must be positive, got {size}")
    spans = [
        ChunkSpan(index=i, start=start, stop=min(start + size, len(items)))
        for i, start in enumerate(range(0, len(items), size))
    ]
    committed: list[ChunkDone] = []
    for span, chunk in zip(spans, chunked(items, size), strict=True):
        try:
            with db.transaction() as tx:
                rows = apply(tx, chunk)
        except Exception as exc:  # noqa: BLE001  (any failure stops the load and is reported)
            return ChunkReport(
                total=len(items),
                size=size,
                committed=committed,
                failed=_failure(span, exc),
                skipped=spans[span.index + 1 :],
            )
        committed.append(
            ChunkDone(index=span.index, start=span.start, stop=span.stop, rows=rows)
        )
    return ChunkReport(total=len(items), size=size, committed=committed)
