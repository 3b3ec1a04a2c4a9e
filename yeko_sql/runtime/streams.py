"""``:stream`` queries: rows in chunks, in constant memory (sync and asyncio).

Outside a transaction psycopg's chunked ``stream()`` is one statement; inside
one, a named server-side cursor is used instead, so leaving the loop early
closes the cursor rather than cancelling the query, which would abort the
caller's transaction. Such a stream checks that its transaction is still
open (*live*) before its first fetch and every later one: read after the
block, it raises ``TransactionClosedError`` instead of running outside the
transaction on a connection someone else may hold by then.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import psycopg
from psycopg import AsyncRawCursor, AsyncRawServerCursor, RawCursor, RawServerCursor
from psycopg.pq import TransactionStatus

from yeko_sql.errors import YekoSqlError
from yeko_sql.query.compiler import Query
from yeko_sql.runtime._executor import Runner, add_note

__all__ = ["STREAM_CHUNK", "cursor_name", "stream", "stream_async"]

STREAM_CHUNK = 1000
"""Rows fetched per round trip by ``:stream`` queries."""

_cursors = itertools.count(1)


def cursor_name(query: Query[Any]) -> str:
    """A unique server-side cursor name that says which query it serves."""
    return f"yeko_{query.namespace}_{query.name}_{next(_cursors)}"


def _alive(live: Callable[[], object]) -> bool:
    try:
        live()
    except YekoSqlError:
        return False
    return True


def stream(
    runner: Runner,
    conn: psycopg.Connection[Any],
    sql: str,
    params: list[object],
    *,
    live: Callable[[], object] = lambda: None,
) -> Iterator[Any]:
    """Yield *runner*'s rows from *conn*, ``STREAM_CHUNK`` per round trip.

    *live*, for a stream of a transaction, raises once the transaction ended.
    """
    live()
    in_transaction = conn.info.transaction_status is TransactionStatus.INTRANS
    try:
        if in_transaction:
            server = RawServerCursor(
                conn, cursor_name(runner.query), row_factory=runner.rows
            )
            try:
                server.execute(sql, params)
                while True:
                    live()
                    rows = server.fetchmany(STREAM_CHUNK)
                    for row in rows:
                        live()  # rows fetched before the block ended stay in it
                        yield row
                    if len(rows) < STREAM_CHUNK:
                        break
            finally:
                if _alive(live):
                    server.close()
                else:  # its transaction ended: CLOSE would hit whoever has conn now
                    psycopg.Cursor.close(server)
        else:
            cur = RawCursor(conn, row_factory=runner.rows)
            try:
                yield from cur.stream(sql, params, size=STREAM_CHUNK)
            finally:
                cur.close()
    except (psycopg.Error, UnicodeEncodeError) as exc:
        add_note(exc, runner.query, sql)
        raise


async def stream_async(
    runner: Runner,
    conn: psycopg.AsyncConnection[Any],
    sql: str,
    params: list[object],
    *,
    live: Callable[[], object] = lambda: None,
) -> AsyncIterator[Any]:
    """The asyncio twin of ``stream``."""
    live()
    in_transaction = conn.info.transaction_status is TransactionStatus.INTRANS
    try:
        if in_transaction:
            server = AsyncRawServerCursor(
                conn, cursor_name(runner.query), row_factory=runner.rows
            )
            try:
                await server.execute(sql, params)
                while True:
                    live()
                    rows = await server.fetchmany(STREAM_CHUNK)
                    for row in rows:
                        live()  # rows fetched before the block ended stay in it
                        yield row
                    if len(rows) < STREAM_CHUNK:
                        break
            finally:
                if _alive(live):
                    await server.close()
                else:  # its transaction ended: CLOSE would hit whoever has conn now
                    await psycopg.AsyncCursor.close(server)
        else:
            cur = AsyncRawCursor(conn, row_factory=runner.rows)
            try:
                async for row in cur.stream(sql, params, size=STREAM_CHUNK):
                    yield row
            finally:
                await cur.close()
    except (psycopg.Error, UnicodeEncodeError) as exc:
        add_note(exc, runner.query, sql)
        raise
