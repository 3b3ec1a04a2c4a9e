"""The asyncio twin of ``Runner.run`` and ``Runner.stream``.

Binding and shaping come from ``executor.Runner``; only the awaits differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import psycopg
from psycopg import AsyncRawCursor, AsyncRawServerCursor
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

from yeko_sql.executor import STREAM_CHUNK, Runner, add_note, cursor_name
from yeko_sql.kinds import Kind
from yeko_sql.pagination import KeysetPage, Page

__all__ = ["run_async", "stream_async"]


async def run_async(  # noqa: PLR0911  (one return per kind reads best)
    runner: Runner, conn: psycopg.AsyncConnection[Any], kwargs: Mapping[str, object]
) -> Any:
    """Run *runner*'s query on *conn* and return its shaped result."""
    kind = runner.kind
    sql = runner.sql
    try:
        if runner.variants:
            sql, kwargs = runner.choose(kwargs)
        if kind is Kind.PAGE:
            return await _page(runner, conn, sql, kwargs)
        if kind is Kind.KEYSET:
            params, limit = runner.bind_keyset(kwargs)
            cur = await AsyncRawCursor(conn, row_factory=runner.rows).execute(
                sql, params
            )
            rows = await cur.fetchall()
            return KeysetPage(
                items=rows[:limit], limit=limit, has_more=len(rows) > limit
            )
        params = runner.bind(kwargs)
        if kind is Kind.SCALAR:
            tcur = await AsyncRawCursor(conn, row_factory=tuple_row).execute(
                sql, params
            )
            row = await tcur.fetchone()
            return row[0] if row is not None else None
        if not kind.returns_rows:
            plain = await AsyncRawCursor(conn).execute(sql, params)
            return plain.rowcount if kind is Kind.EXECROWS else None
        cur = await AsyncRawCursor(conn, row_factory=runner.rows).execute(sql, params)
        if kind is Kind.ONE:
            return runner.one(await cur.fetchone(), cur.rowcount)
        if kind is Kind.OPT:
            return await cur.fetchone()
        return await cur.fetchall()
    except (psycopg.Error, UnicodeEncodeError) as exc:
        add_note(exc, runner.query, sql)
        raise


async def _page(
    runner: Runner,
    conn: psycopg.AsyncConnection[Any],
    sql: str,
    kwargs: Mapping[str, object],
) -> Page[Any]:
    params, page, page_size = runner.bind_page(kwargs)
    cur = await AsyncRawCursor(conn, row_factory=runner.rows).execute(sql, params)
    items = await cur.fetchall()
    total = runner.total(cur)
    if not items and page > 1:
        again = runner.page_fallback(params)
        total = runner.total(await AsyncRawCursor(conn).execute(sql, again))
    return Page(items=items, total=total, page=page, page_size=page_size)


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
