"""``:stream`` queries: rows in chunks, in constant memory (sync and asyncio).

Outside a transaction psycopg's chunked ``stream()`` is one statement; inside
one, a named server-side cursor is used instead, so leaving the loop early
closes the cursor rather than cancelling the query, which would abort the
caller's transaction.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
from psycopg import AsyncRawCursor, AsyncRawServerCursor, RawCursor, RawServerCursor
from psycopg.pq import TransactionStatus

from yeko_sql.compiler import Query
from yeko_sql.executor import Runner, add_note

__all__ = ["STREAM_CHUNK", "cursor_name", "stream", "stream_async"]

STREAM_CHUNK = 1000
"""Rows fetched per round trip by ``:stream`` queries."""

_cursors = itertools.count(1)


def cursor_name(query: Query[Any]) -> str:
    """A unique server-side cursor name that says which query it serves."""
    return f"yeko_{query.namespace}_{query.name}_{next(_cursors)}"


def stream(
    runner: Runner, conn: psycopg.Connection[Any], sql: str, params: list[object]
) -> Iterator[Any]:
    """Yield *runner*'s rows from *conn*, ``STREAM_CHUNK`` per round trip."""
    in_transaction = conn.info.transaction_status is TransactionStatus.INTRANS
    try:
        if in_transaction:
            with RawServerCursor(
                conn, cursor_name(runner.query), row_factory=runner.rows
            ) as server:
                server.itersize = STREAM_CHUNK
                server.execute(sql, params)
                yield from server
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
) -> AsyncIterator[Any]:
    """The asyncio twin of ``stream``."""
    in_transaction = conn.info.transaction_status is TransactionStatus.INTRANS
    try:
        if in_transaction:
            async with AsyncRawServerCursor(
                conn, cursor_name(runner.query), row_factory=runner.rows
            ) as server:
                server.itersize = STREAM_CHUNK
                await server.execute(sql, params)
                async for row in server:
                    yield row
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
