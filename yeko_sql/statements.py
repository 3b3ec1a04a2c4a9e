"""Run one statement straight on a connection's libpq handle, without a cursor.

A psycopg cursor is built per call and carries machinery a named query never
uses (query conversion, result sets, scrolling). On an asyncio primary-key
lookup it cost a third of the client's CPU time (66 µs per call against 47 µs
without it; asyncpg: 36 µs). ``execute`` keeps psycopg's own parts, its
``Transformer`` (the connection's dumpers and loaders, as a cursor uses them),
its libpq generators and ``Connection.wait``, and drops the rest, so the sync
and asyncio twins drive the very same generator.

Statements are prepared as psycopg would (``prepare_on``: after so many runs,
at most so many kept, least recently used dropped first), under their own
names, so they never collide with psycopg's. The connection must be in
autocommit mode or inside a transaction: nothing here opens one implicitly.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, TypeAlias
from weakref import WeakKeyDictionary

import psycopg
from psycopg import abc, errors, pq
from psycopg.abc import PQGen
from psycopg.adapt import PyFormat, Transformer
from psycopg.generators import execute as pq_execute
from psycopg.pq.abc import PGconn, PGresult

__all__ = ["AnyConnection", "execute", "prepare_on"]

AnyConnection: TypeAlias = psycopg.Connection[Any] | psycopg.AsyncConnection[Any]
_Key: TypeAlias = tuple[bytes, tuple[int, ...]]

_FATAL = pq.ExecStatus.FATAL_ERROR
_IDLE = pq.TransactionStatus.IDLE
_SQLSTATE = pq.DiagnosticField.SQLSTATE
_FORGOTTEN = b"26000"  # DISCARD ALL or DEALLOCATE ALL ran on the connection
_REPLANNED = b"RevalidateCachedQuery"  # a migration changed what it returns

_numbers = itertools.count(1)  # next() on a count is atomic: threads share it


class _Prepared:
    """The statements one connection has prepared, least recently used first."""

    __slots__ = ("limit", "names", "seen", "threshold")

    def __init__(self, threshold: int | None, limit: int | None) -> None:
        self.threshold = threshold
        self.limit = limit
        self.names: OrderedDict[_Key, bytes] = OrderedDict()
        self.seen: dict[_Key, int] = {}

    def name_for(self, key: _Key) -> tuple[bytes | None, bool]:
        """The statement's name and whether it must be prepared first.

        ``(None, False)``: run it unnamed (not prepared, or not yet).
        """
        name = self.names.get(key)
        if name is not None:
            self.names.move_to_end(key)
            return name, False
        if self.threshold is None:
            return None, False
        count = self.seen.get(key, 0)
        if count < self.threshold:
            self.seen[key] = count + 1
            return None, False
        self.seen.pop(key, None)
        return f"yeko_{next(_numbers)}".encode(), True

    def evict(self) -> bytes | None:
        """The least recently used name, when the connection holds too many."""
        if self.limit is None or len(self.names) < self.limit:
            return None
        return self.names.popitem(last=False)[1]


_registry: WeakKeyDictionary[PGconn, _Prepared] = WeakKeyDictionary()


def prepare_on(
    conn: AnyConnection, *, threshold: int | None, limit: int | None
) -> None:
    """Prepare statements on *conn* after *threshold* runs, keeping *limit*.

    ``threshold``: 0 prepares at the first run, ``None`` never. Unconfigured
    connections follow their own ``prepare_threshold`` and ``prepared_max``.
    Pooled connections set psycopg's own ``prepare_threshold`` to ``None``:
    psycopg sends ``DEALLOCATE ALL`` after a rollback when it has prepared
    anything, which would drop these statements too.
    """
    _registry[conn.pgconn] = _Prepared(threshold, limit)


def _prepared_on(conn: AnyConnection) -> _Prepared:
    pgconn = conn.pgconn
    prepared = _registry.get(pgconn)
    if prepared is None:
        prepared = _registry[pgconn] = _Prepared(
            conn.prepare_threshold, conn.prepared_max
        )
    return prepared


def execute(
    conn: AnyConnection, sql: bytes, params: Sequence[object]
) -> PQGen[tuple[PGresult, abc.Transformer]]:
    """Run *sql* (``$n`` placeholders) with *params*; drive with ``conn.wait``.

    Returns the result and the ``Transformer`` set on it, ready for
    ``load_rows``. A server error is raised as psycopg's own exception.
    """
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    tx = Transformer(conn)
    values = tx.dump_sequence(params, [PyFormat.AUTO] * len(params))
    types = tx.types or ()
    formats = tx.formats
    key = (sql, types)
    prepared = _prepared_on(conn)
    pgconn = conn.pgconn
    for retried in (False, True):
        name, new = prepared.name_for(key)
        if new:
            assert name is not None  # noqa: S101  (name_for returns one with new)
            yield from _prepare(conn, prepared, key, name)
        if name is None:
            pgconn.send_query_params(sql, values, types, formats)
        else:
            pgconn.send_query_prepared(name, values, formats)
        result = (yield from pq_execute(pgconn))[-1]
        if result.status != _FATAL:
            tx.set_pgresult(result)
            return result, tx
        # A statement the server forgot, or whose plan a migration changed, is
        # prepared again and run once more: unless the error aborted the
        # caller's transaction, where nothing more can run.
        if name is None or retried or pgconn.transaction_status != _IDLE:
            break
        if result.error_field(_SQLSTATE) == _FORGOTTEN:
            prepared.names.clear()
        elif result.error_field(pq.DiagnosticField.SOURCE_FUNCTION) == _REPLANNED:
            del prepared.names[key]
            pgconn.send_query(b"DEALLOCATE " + name)
            yield from pq_execute(pgconn)
        else:
            break
    raise errors.error_from_result(result, encoding=conn.info.encoding)


def _prepare(
    conn: AnyConnection, prepared: _Prepared, key: _Key, name: bytes
) -> PQGen[None]:
    pgconn = conn.pgconn
    old = prepared.evict()
    if old is not None:
        pgconn.send_query(b"DEALLOCATE " + old)
        yield from pq_execute(pgconn)
    pgconn.send_prepare(name, key[0], key[1])
    result = (yield from pq_execute(pgconn))[-1]
    if result.status == _FATAL:
        raise errors.error_from_result(result, encoding=conn.info.encoding)
    prepared.names[key] = name
