"""The asyncio twin of ``Runner.run`` and ``Runner.stream``.

``Runner.call`` is one generator of libpq steps for both twins; only the
awaits differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import psycopg
from psycopg import AsyncRawCursor, AsyncRawServerCursor
from psycopg.pq import TransactionStatus

from yeko_sql.executor import STREAM_CHUNK, Runner, add_note, cursor_name

__all__ = ["run_async", "stream_async"]


async def run_async(
    runner: Runner, conn: psycopg.AsyncConnection[Any], kwargs: Mapping[str, object]
) -> Any:
    """Run *runner*'s query on *conn* and return its shaped result."""
    async with conn.lock:
        return await conn.wait(runner.call(conn, kwargs))


async def stream_async(
    runner: Runner,
    conn: psycopg.AsyncConnection[Any],
    sql: str,
    params: list[object],
) -> AsyncIterator[Any]:
    """Yield rows from *conn* in chunks, in constant memory (see ``Runner.stream``)."""
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
