"""Run one statement straight on a connection's libpq handle, without a cursor.

A psycopg cursor is built per call and carries machinery a named query never
uses (query conversion, result sets, scrolling). On an asyncio primary-key
lookup it cost a third of the client's CPU time (66 µs per call against 47 µs
without it; asyncpg: 36 µs). ``execute`` keeps psycopg's own parts, its
``Transformer`` (the connection's dumpers and loaders, as a cursor uses them),
its libpq generators and ``Connection.wait``, and drops the rest, so the sync
and asyncio twins drive the very same generator.

Statements are prepared as psycopg would (``prepare_on``: after so many runs,
at most so many kept, least recently used closed first). A statement's name
is a hash of its SQL text and parameter types (``yeko_<hex>``), never a
counter, so one name means the same statement in every process: behind a
pooler that hands one server connection to several clients, a name another
client prepared is the very statement this one wants (``42P05``, "already
exists", is therefore success). Names never collide with psycopg's own
(``_pg3_*``). The connection must be in autocommit mode or inside a
transaction, and not in pipeline mode: nothing here opens a transaction
implicitly.
"""

from __future__ import annotations

import hashlib
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

__all__ = ["AnyConnection", "execute", "prepare_on", "was_reset"]

AnyConnection: TypeAlias = psycopg.Connection[Any] | psycopg.AsyncConnection[Any]
_Key: TypeAlias = tuple[bytes, tuple[int, ...]]

_Status = pq.ExecStatus
_OK = (_Status.TUPLES_OK, _Status.COMMAND_OK)
_COPY = (_Status.COPY_IN, _Status.COPY_OUT, _Status.COPY_BOTH)
_IDLE = pq.TransactionStatus.IDLE
_SQLSTATE = pq.DiagnosticField.SQLSTATE
_FORGOTTEN = b"26000"  # DISCARD ALL or DEALLOCATE ALL ran on the connection
_EXISTS = b"42P05"  # another client of a pooled server connection prepared it
_REPLANNED = b"RevalidateCachedQuery"  # a migration changed what it returns
# Class 42 on executing a prepared statement: a migration changed a parameter's
# or column's type under it (``operator does not exist``, ...). Prepared afresh,
# the same SQL either works or fails again with the same error, for real.
_SYNTAX_CLASS = b"42"
_DENIED = b"42501"  # a privilege: preparing again changes nothing
# The protocol's Close: no error for a name the server already dropped, so it
# is safe inside a transaction (libpq 17+; else DEALLOCATE, outside one only).
_CLOSE = psycopg.capabilities.has_send_close_prepared()



def statement_name(key: _Key) -> bytes:
    """``yeko_`` and a hash of the SQL text and parameter type OIDs.

    The same statement gets the same name in every process and on every
    connection; two statements get the same name only on a 128-bit collision.
    """
    digest = hashlib.blake2b(key[0], digest_size=16)
    digest.update(b"\0" + ",".join(map(str, key[1])).encode())
    return b"yeko_" + digest.hexdigest().encode()


class _Prepared:
    """The statements one connection has prepared, least recently used first."""

    __slots__ = ("limit", "names", "reset", "seen", "stale", "threshold")

    def __init__(self, threshold: int | None, limit: int | None) -> None:
        self.threshold = None if limit is not None and limit <= 0 else threshold
        self.limit = limit
        self.reset = False  # the server forgot every statement (see was_reset)
        self.names: OrderedDict[_Key, bytes] = OrderedDict()
        self.seen: OrderedDict[_Key, int] = OrderedDict()
        self.stale: list[bytes] = []  # names to close on the server

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
        count = self.seen.pop(key, 0)
        if count < self.threshold:
            self.seen[key] = count + 1  # counts kept for the most recent only
            if self.limit is not None and len(self.seen) > self.limit:
                self.seen.popitem(last=False)
            return None, False
        if self.limit is not None and len(self.names) >= self.limit:
            self.stale.append(self.names.popitem(last=False)[1])
        return statement_name(key), True

    def forget(self, key: _Key, *, every: bool) -> None:
        """Drop *key*'s statement (closing it later), or, with *every*, all.

        *every*: the server forgot them all itself, so nothing is to close.
        """
        if every:
            self.names.clear()
            self.stale.clear()
            self.reset = True
        elif (name := self.names.pop(key, None)) is not None:
            self.stale.append(name)


_registry: WeakKeyDictionary[PGconn, _Prepared] = WeakKeyDictionary()


def prepare_on(
    conn: AnyConnection,
    *,
    threshold: int | None,
    limit: int | None,
) -> None:
    """Prepare statements on *conn* after *threshold* runs, keeping *limit*.

    ``threshold``: 0 prepares at the first run, ``None`` never; a *limit* of
    0 keeps none, so nothing is prepared either. Unconfigured connections
    follow their own ``prepare_threshold`` and ``prepared_max``. Pooled
    connections set psycopg's own ``prepare_threshold`` to ``None``: psycopg
    sends ``DEALLOCATE ALL`` after a rollback when it has prepared anything,
    which would drop these statements too.
    """
    _registry[conn.pgconn] = _Prepared(threshold, limit)


def was_reset(conn: AnyConnection) -> bool:
    """Whether the server forgot every statement of *conn* since last asked.

    That is ``DISCARD ALL`` (or ``DEALLOCATE ALL``), which also reset the
    session's settings: the pool configures the connection again.
    """
    prepared = _registry.get(conn.pgconn)
    if prepared is None or not prepared.reset:
        return False
    prepared.reset = False
    return True


def _prepared_on(conn: AnyConnection) -> _Prepared:
    pgconn = conn.pgconn
    prepared = _registry.get(pgconn)
    if prepared is None:
        prepared = _registry[pgconn] = _Prepared(
            conn.prepare_threshold, conn.prepared_max
        )
    return prepared


def execute(
    conn: AnyConnection, sql: str, params: Sequence[object]
) -> PQGen[tuple[PGresult, abc.Transformer]]:
    """Run *sql* (``$n`` placeholders) with *params*; drive with ``conn.wait``.

    Returns the result and the ``Transformer`` set on it, ready for
    ``load_rows``. A server error is raised as psycopg's own exception.
    """
    pgconn = conn.pgconn
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    if pgconn.pipeline_status != pq.PipelineStatus.OFF:
        raise psycopg.NotSupportedError("named queries cannot run in pipeline mode")
    tx = Transformer(conn)
    query = sql.encode(tx.encoding)
    values = tx.dump_sequence(params, [PyFormat.AUTO] * len(params))
    types = tx.types or ()
    formats = tx.formats
    key = (query, types)
    prepared = _prepared_on(conn)
    for retried in (False, True):
        name, new = prepared.name_for(key)
        if prepared.stale:
            yield from _close_stale(conn, prepared)
        if new:
            assert name is not None  # noqa: S101  (name_for returns one with new)
            yield from _prepare(conn, prepared, key, name)
        if name is None:
            pgconn.send_query_params(query, values, types, formats)
        else:
            pgconn.send_query_prepared(name, values, formats)
        result = (yield from pq_execute(pgconn))[-1]
        if result.status in _OK:
            tx.set_pgresult(result)
            return result, tx
        if result.status in _COPY:
            raise psycopg.ProgrammingError("COPY cannot run as a named query")
        if name is None or not _stale(result, prepared, key):
            break
        # The statement is forgotten either way; it runs once more unless the
        # error aborted the caller's transaction, where nothing more can run.
        if retried or pgconn.transaction_status != _IDLE:
            break
    raise _pooled_error(conn, result)


POOLER_HINT = (
    "a pooler in transaction mode shares server connections between clients; "
    "set Settings(pooler='transaction') (YEKO_SQL_POOLER=transaction)"
)


def _pooled_error(conn: AnyConnection, result: PGresult) -> psycopg.Error:
    """psycopg's error for *result*; says what to set when a pooler caused it."""
    exc = errors.error_from_result(result, encoding=conn.info.encoding)
    if result.error_field(_SQLSTATE) in (_EXISTS, _FORGOTTEN):
        exc.add_note(POOLER_HINT)
    return exc


def _stale(result: PGresult, prepared: _Prepared, key: _Key) -> bool:
    """Forget the statement if the server forgot it or must plan it anew."""
    if result.error_field(_SQLSTATE) == _FORGOTTEN:
        prepared.forget(key, every=True)
        return True
    sqlstate = result.error_field(_SQLSTATE) or b""
    if result.error_field(pq.DiagnosticField.SOURCE_FUNCTION) == _REPLANNED or (
        sqlstate.startswith(_SYNTAX_CLASS) and sqlstate != _DENIED
    ):
        prepared.forget(key, every=False)
        return True
    return False


def _prepare(
    conn: AnyConnection, prepared: _Prepared, key: _Key, name: bytes
) -> PQGen[None]:
    pgconn = conn.pgconn
    pgconn.send_prepare(name, key[0], key[1])
    result = (yield from pq_execute(pgconn))[-1]
    if result.status != _Status.COMMAND_OK:
        # "Already exists": the same name is the same statement (a hash), so
        # another client of this server connection prepared it for us. Inside
        # a transaction the error has aborted it all the same.
        exists = result.error_field(_SQLSTATE) == _EXISTS
        if not exists or pgconn.transaction_status != _IDLE:
            raise _pooled_error(conn, result)
    prepared.names[key] = name


def _close_stale(conn: AnyConnection, prepared: _Prepared) -> PQGen[None]:
    pgconn = conn.pgconn
    if not _CLOSE and pgconn.transaction_status != _IDLE:
        return  # DEALLOCATE of a missing name would abort the transaction
    while prepared.stale:
        name = prepared.stale.pop()
        if _CLOSE:
            pgconn.send_close_prepared(name)
        else:
            pgconn.send_query(b"DEALLOCATE " + name)
        yield from pq_execute(pgconn)  # an error here only says it was gone
