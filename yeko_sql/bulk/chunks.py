"""Long loads in chunks: each chunk its own short transaction, never silent.

``load_in_chunks`` commits the chunks one after another. When a chunk fails it
is rolled back, nothing after it is attempted, and ``ChunkLoadError`` is
raised with a ``ChunkReport`` attached: the chunks that committed, the one that
failed (its row range, the row and the key that failed) and the ones never
attempted; the original psycopg error is its ``__cause__``. With
``keep_going=True`` a chunk whose rows the database refuses is recorded and the
load goes on to the next chunk; the report is returned. When ``apply`` is an
upsert, running the same load again after fixing the data finishes it without
duplicates.

The failing key is found from the error's fields, never from its message,
which the server translates (``lc_messages``) and may change between versions:

1. ``diag.column_name`` names the column of a not-null violation;
   ``diag.constraint_name`` with ``diag.schema_name`` and ``diag.table_name``
   is looked up in ``pg_constraint`` (unique, primary key, foreign key, check,
   exclusion: ``conkey``) or, for a unique index that is no constraint, in
   ``pg_index`` (its key columns).
2. The failing row is found by running the chunk again in one transaction
   that is rolled back, each attempt in a savepoint: first the whole chunk (it
   must fail the same way: same SQLSTATE, constraint, table and column), then
   its prefixes, by bisection, until ``chunk[:k]`` fails and ``chunk[:k - 1]``
   does not. Row ``k - 1`` is the first failing row: for two rows of the chunk
   that conflict with each other, the later one. That costs at most
   ``1 + ceil(log2(len(chunk)))`` calls of ``apply`` (10 for 500 rows), each
   one statement as ``apply`` sends it, and only when a chunk fails. Deferred
   constraints are made immediate for the attempts, so a chunk that failed at
   COMMIT is located too. Querying the table for the chunk's key values
   instead would be wrong for upserts (a row conflicts with itself) and could
   not see foreign-key, check or not-null failures.
3. The key is that row's values for the constraint's columns, read from the
   item's fields of the same names (a msgspec Struct, a dataclass, a named
   tuple or a mapping, as ``columns_of`` binds them).

When any of this cannot be done the key is ``None`` and ``why_no_key`` says
why; nothing is guessed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
import psycopg

from yeko_sql.bulk.copy import DEFAULT_CHUNK, chunked
from yeko_sql.errors import YekoSqlError

if TYPE_CHECKING:
    from psycopg.errors import Diagnostic

    from yeko_sql.runtime.database import Database, Transaction

__all__ = [
    "ChunkDone",
    "ChunkFailure",
    "ChunkLoadError",
    "ChunkReport",
    "ChunkSpan",
    "load_in_chunks",
]

T = TypeVar("T")

ROW_ERROR_CLASSES = ("21", "22", "23", "44", "P0")
"""SQLSTATE classes of errors about the rows' values: cardinality (an upsert
touching a row twice), data exceptions, integrity constraints, ``WITH CHECK
OPTION``, and errors raised by PL/pgSQL triggers."""

_CONSTRAINT_COLUMNS = """\
/* yeko:chunks.constraint_columns */ SELECT (
    SELECT array_agg(a.attname::text ORDER BY k.ord)
    FROM unnest(c.conkey) WITH ORDINALITY AS k (attnum, ord)
    JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
)
FROM pg_constraint AS c
JOIN pg_class AS t ON t.oid = c.conrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
WHERE n.nspname = $1
  AND t.relname = $2
  AND c.conname = $3"""

# A unique index that backs no constraint reports its own name as the
# constraint. Expression columns (attnum 0) come back as NULL.
_INDEX_COLUMNS = """\
/* yeko:chunks.index_columns */ SELECT (
    SELECT array_agg(a.attname::text ORDER BY k.ord)
    FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, ord)
    LEFT JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    WHERE k.ord <= i.indnkeyatts
)
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = ic.relnamespace
WHERE n.nspname = $1
  AND ic.relname = $2"""


class ChunkSpan(msgspec.Struct, frozen=True, kw_only=True):
    """A chunk's place in the input: index and row range ``[start, stop)``."""

    index: int
    start: int
    stop: int

    def where(self) -> str:
        """``chunk 3 (rows 12-15)``."""
        return f"chunk {self.index} (rows {self.start}-{self.stop - 1})"


class ChunkDone(ChunkSpan, frozen=True, kw_only=True):
    """A chunk that committed, with the row count ``apply`` returned."""

    rows: int


class ChunkFailure(ChunkSpan, frozen=True, kw_only=True):
    """A chunk that failed and was rolled back: its error and the failing key.

    Every field but ``error`` is read from the error's fields and the catalog,
    never from its (translated) message.
    """

    error: Exception
    sqlstate: str | None = None
    constraint: str | None = None
    """The violated constraint (or unique index), as PostgreSQL names it."""
    schema: str | None = None
    table: str | None = None
    column: str | None = None
    """The column PostgreSQL names (a not-null violation)."""
    columns: tuple[str, ...] = ()
    """The key's columns: the constraint's or index's, else ``(column,)``."""
    row: int | None = None
    """Index in *items* of the first row that fails, found by running the chunk
    again (see the module's documentation); ``None`` when not found."""
    key: dict[str, object] | None = None
    """That row's values for ``columns``, read from the item's fields."""
    why_no_key: str | None = None
    """Why ``key`` is ``None``, when it is."""

    def describe(self) -> str:
        """One line: the chunk, the error, the row and the key."""
        error = self.error
        if not isinstance(error, psycopg.Error) or error.sqlstate is None:
            # Not the server's (translated) text: Python's or psycopg's own.
            first = str(error).splitlines()[0] if str(error) else ""
            return f"{self.where()}: {type(error).__name__}: {first}"
        text = f"{self.where()}: {type(error).__name__}"
        if self.sqlstate:
            text += f" ({self.sqlstate})"
        if self.constraint:
            text += f" on {self.constraint!r}"
        if self.table:
            table = f"{self.schema}.{self.table}" if self.schema else self.table
            text += f" of table {table!r}"
        if self.column and self.columns != (self.column,):
            text += f", column {self.column!r}"
        if self.row is not None:
            text += f", at row {self.row}"
        if self.key is not None:
            names = ", ".join(self.key)
            values = ", ".join(repr(v) for v in self.key.values())
            text += f", key ({names})=({values})"
        elif self.why_no_key:
            text += f", key unknown: {self.why_no_key}"
        return text


class ChunkReport(msgspec.Struct, frozen=True, kw_only=True):
    """What ``load_in_chunks`` did: committed, failed and not attempted chunks."""

    total: int
    """Items handed to the load."""
    size: int
    committed: list[ChunkDone]
    failures: list[ChunkFailure] = msgspec.field(default_factory=list)
    """Chunks that failed and were rolled back, in order (more than one only
    with ``keep_going=True``)."""
    skipped: list[ChunkSpan] = msgspec.field(default_factory=list)
    """Chunks after the one that stopped the load, never attempted."""

    @property
    def ok(self) -> bool:
        """True when every chunk committed."""
        return not self.failures

    @property
    def failed(self) -> ChunkFailure | None:
        """The first chunk that failed, if any."""
        return self.failures[0] if self.failures else None

    @property
    def rows(self) -> int:
        """Rows affected by the committed chunks, as ``apply`` counted them."""
        return sum(done.rows for done in self.committed)

    @property
    def next_start(self) -> int:
        """Index of the first item not committed (``total`` when all were).

        Every item before it is committed; with ``keep_going=True`` some
        after it may be too.
        """
        missing = [*self.failures, *self.skipped]
        return min(span.start for span in missing) if missing else self.total

    def raise_for_failure(self) -> None:
        """Raise ``ChunkLoadError`` for the first failed chunk, if any."""
        if self.failures:
            failure = self.failures[0]
            raise ChunkLoadError(self, failure) from failure.error


class ChunkLoadError(YekoSqlError):
    """A chunk of ``load_in_chunks`` failed; the report says what committed.

    ``failure`` is the chunk the error is about (its psycopg error is
    ``__cause__``), ``report`` the whole load.
    """

    def __init__(self, report: ChunkReport, failure: ChunkFailure) -> None:
        super().__init__(report, failure)  # args round-trip: picklable
        self.report, self.failure = report, failure

    def __str__(self) -> str:
        report = self.report
        chunks = -(-report.total // report.size)
        done = f"{len(report.committed)} of {chunks} chunks ({report.rows} rows)"
        state = f"{done} committed"
        if len(report.failures) > 1:
            state += f", {len(report.failures)} failed"
        if report.skipped:
            state += f", {len(report.skipped)} not attempted"
        fix = "the rows" if _about_rows(self.failure.error) else "the cause"
        return (
            f"{self.failure.describe()}; {state}; fix {fix} and load again (with "
            "an upsert apply, the committed rows are updated, not duplicated)"
        )


def load_in_chunks(
    db: Database,
    items: Sequence[T],
    apply: Callable[[Transaction, Sequence[T]], int],
    *,
    size: int = DEFAULT_CHUNK,
    keep_going: bool = False,
    find_row: bool = True,
) -> ChunkReport:
    """Run ``apply(tx, chunk)`` for each chunk of *items*, one transaction each.

    A chunk that raises is rolled back whole, its good rows too. By default
    the load stops there: the chunks before it stay committed, the ones after
    it are not attempted, and ``ChunkLoadError`` is raised.

    With ``keep_going=True``, a chunk the database refuses because of its rows
    (SQLSTATE classes 21, 22, 23, 44 and P0: unique, foreign key, check,
    not-null, bad values, errors raised by triggers) is recorded in
    ``report.failures`` and the load goes on with the next chunk; none of that
    chunk's rows are loaded. Fix them and load ``items[f.start:f.stop]`` for
    each failure again (or the whole load, with an upsert). Any other error (a
    lost connection, a timeout, a Python error in ``apply``) still stops the
    load and raises, since the next chunks would fail the same way.

    To find the failing row, a failed chunk is run again in a transaction that
    is rolled back, calling ``apply`` up to ``1 + log2(size)`` more times.
    ``apply`` must therefore work through *tx* only, with no other side
    effects; ``find_row=False`` skips that (the key is then unknown).

    Raises:
        ChunkLoadError: a chunk failed (and, with ``keep_going``, not because
            of its rows); ``report`` is attached, the error is ``__cause__``.
        ValueError: *size* is not positive.
    """
    if size < 1:
        raise ValueError(f"load_in_chunks: size must be positive, got {size}")
    spans = [
        ChunkSpan(index=i, start=start, stop=min(start + size, len(items)))
        for i, start in enumerate(range(0, len(items), size))
    ]
    committed: list[ChunkDone] = []
    failures: list[ChunkFailure] = []
    for span, chunk in zip(spans, chunked(items, size), strict=True):
        try:
            with db.transaction() as tx:
                rows = apply(tx, chunk)
        except Exception as exc:
            failure = _failure(db, span, chunk, exc, apply, find_row=find_row)
            failures.append(failure)
            if keep_going and _about_rows(exc):
                continue
            report = ChunkReport(
                total=len(items),
                size=size,
                committed=committed,
                failures=failures,
                skipped=spans[span.index + 1 :],
            )
            raise ChunkLoadError(report, failure) from exc
        committed.append(
            ChunkDone(index=span.index, start=span.start, stop=span.stop, rows=rows)
        )
    return ChunkReport(
        total=len(items), size=size, committed=committed, failures=failures
    )


# -- finding the failing row and key --------------------------------------------


class _Undo(Exception):  # noqa: N818  (control flow, never seen by callers)
    """Rolls back a probe's savepoint, or the probing transaction."""


def _about_rows(exc: BaseException) -> bool:
    sqlstate = exc.sqlstate if isinstance(exc, psycopg.Error) else None
    return sqlstate is not None and sqlstate.startswith(ROW_ERROR_CLASSES)


def _failure(
    db: Database,
    span: ChunkSpan,
    chunk: Sequence[T],
    exc: Exception,
    apply: Callable[[Transaction, Sequence[T]], int],
    *,
    find_row: bool,
) -> ChunkFailure:
    if not isinstance(exc, psycopg.Error) or exc.sqlstate is None:
        return ChunkFailure(
            index=span.index,
            start=span.start,
            stop=span.stop,
            error=exc,
            why_no_key=f"{type(exc).__name__} is not an error from PostgreSQL",
        )
    diag = exc.diag
    columns: tuple[str, ...] = ()
    row: int | None = None
    key: dict[str, object] | None = None
    why: str | None
    if not _about_rows(exc):
        why = f"{_name(exc)} is not about the rows' values"
    else:
        try:
            columns, row, why = _probe_chunk(db, exc, chunk, apply, find_row=find_row)
        except Exception as probe:  # noqa: BLE001  (the load's own error matters more)
            why = f"the chunk could not be run again ({type(probe).__name__})"
        if row is not None:
            if why is None:
                key, why = _key_of(chunk[row], columns, span.start + row)
            row += span.start
    return ChunkFailure(
        index=span.index,
        start=span.start,
        stop=span.stop,
        error=exc,
        sqlstate=exc.sqlstate,
        constraint=diag.constraint_name,
        schema=diag.schema_name,
        table=diag.table_name,
        column=diag.column_name,
        columns=columns,
        row=row,
        key=key,
        why_no_key=why,
    )


def _probe_chunk(
    db: Database,
    exc: psycopg.Error,
    chunk: Sequence[T],
    apply: Callable[[Transaction, Sequence[T]], int],
    *,
    find_row: bool,
) -> tuple[tuple[str, ...], int | None, str | None]:
    """The key's columns, the failing row's index in *chunk*, and why not."""
    found: tuple[tuple[str, ...], int | None, str | None] = ((), None, None)
    # The probes leave nothing behind: _Undo rolls the transaction back.
    with suppress(_Undo), db.transaction() as tx:
        columns, why = _key_columns(tx.connection, exc.diag)
        row: int | None = None
        row_why: str | None = "find_row=False: the chunk was not run again"
        if find_row:
            row, row_why = _first_failing_row(tx, exc, chunk, apply)
        found = (columns, row, row_why or why)
        raise _Undo
    return found


def _key_columns(
    conn: psycopg.Connection[Any], diag: Diagnostic
) -> tuple[tuple[str, ...], str | None]:
    """The key's columns, from the error's fields and the catalog, and why not."""
    if diag.column_name:
        return (diag.column_name,), None
    name, schema, table = diag.constraint_name, diag.schema_name, diag.table_name
    if name is None:
        return (), "the error names no constraint or column"
    if schema is None or table is None:
        return (), f"constraint {name!r} is not a table's"
    return _catalog_columns(conn, schema, table, name)


def _catalog_columns(
    conn: psycopg.Connection[Any], schema: str, table: str, name: str
) -> tuple[tuple[str, ...], str | None]:
    """The columns of constraint (or unique index) *name* of *table*."""
    cur = psycopg.RawCursor(conn)
    # Unprepared: these run rarely, and behind a pooler a name would not stay.
    args = [schema, table, name]
    found = cur.execute(_CONSTRAINT_COLUMNS, args, prepare=False).fetchone()
    if found is None:
        found = cur.execute(_INDEX_COLUMNS, [schema, name], prepare=False).fetchone()
    if found is None:
        return (), f"constraint {name!r} of {schema}.{table} is not in the catalog"
    columns: list[str | None] = found[0] or []
    if not columns:
        return (), f"constraint {name!r} has no columns"
    if None in columns:
        return (), f"index {name!r} has expressions, not only columns"
    return tuple(c for c in columns if c is not None), None


def _first_failing_row(
    tx: Transaction,
    exc: psycopg.Error,
    chunk: Sequence[T],
    apply: Callable[[Transaction, Sequence[T]], int],
) -> tuple[int | None, str | None]:
    """Bisect prefixes of *chunk*: ``chunk[:good]`` passes, ``chunk[:bad]`` fails."""
    tx.execute("SET CONSTRAINTS ALL IMMEDIATE")  # a deferred check fails in place
    error = _attempt(tx, apply, chunk)
    if error is None:
        return None, "the chunk did not fail when run again"
    if not _same(error, exc):
        return None, f"the chunk failed differently when run again: {_name(error)}"
    good, bad = 0, len(chunk)
    while bad - good > 1:
        mid = (good + bad) // 2
        attempt = _attempt(tx, apply, chunk[:mid])
        if attempt is None:
            good = mid
        else:
            bad, error = mid, attempt
    if not _same(error, exc):
        return None, f"an earlier row fails first, with {_name(error)}"
    return bad - 1, None


def _attempt(
    tx: Transaction,
    apply: Callable[[Transaction, Sequence[T]], int],
    rows: Sequence[T],
) -> Exception | None:
    """Apply *rows* in a savepoint that is always rolled back; the error, if any."""
    try:
        _apply_and_undo(tx, apply, rows)
    except Exception as exc:  # noqa: BLE001  (any failure is an answer here)
        return exc
    return None


def _apply_and_undo(
    tx: Transaction,
    apply: Callable[[Transaction, Sequence[T]], int],
    rows: Sequence[T],
) -> None:
    with suppress(_Undo), tx.transaction():
        apply(tx, rows)
        raise _Undo


def _same(error: Exception, exc: psycopg.Error) -> bool:
    if not isinstance(error, psycopg.Error) or error.sqlstate != exc.sqlstate:
        return False
    a, b = error.diag, exc.diag
    return (a.constraint_name, a.table_name, a.column_name) == (
        b.constraint_name,
        b.table_name,
        b.column_name,
    )


def _name(error: Exception) -> str:
    if not isinstance(error, psycopg.Error):
        return type(error).__name__
    text = f"{type(error).__name__} ({error.sqlstate})"
    constraint = error.diag.constraint_name
    return f"{text} on {constraint!r}" if constraint else text


_MISSING = object()


def _key_of(
    item: object, columns: tuple[str, ...], row: int
) -> tuple[dict[str, object] | None, str | None]:
    if not columns:
        return None, "no columns to read"
    key: dict[str, object] = {}
    for column in columns:
        value = _field(item, column)
        if value is _MISSING:
            kind = type(item).__name__
            return None, f"row {row} is a {kind} with no field {column!r}"
        key[column] = value
    return key, None


def _field(item: object, name: str) -> object:
    if isinstance(item, Mapping):
        return item.get(name, _MISSING)
    named = (
        isinstance(item, msgspec.Struct)
        or (dataclasses.is_dataclass(item) and not isinstance(item, type))
        or (isinstance(item, tuple) and hasattr(item, "_fields"))
    )
    return getattr(item, name, _MISSING) if named else _MISSING
