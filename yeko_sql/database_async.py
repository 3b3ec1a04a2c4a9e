"""``AsyncDatabase``: the asyncio twin of ``Database``, with the same surface."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import AsyncRawCursor
from psycopg_pool import AsyncConnectionPool

from yeko_sql.database import (
    SCOPE_SQL,
    LazyNamespaces,
    QueryNamespace,
    SlowLog,
    bind_namespace,
    check_namespace_name,
    configure_statements,
    default_url,
    group_runners,
    pool_options,
    session_statement,
    socket_is_healthy,
)
from yeko_sql.executor import Runner
from yeko_sql.lifo import AsyncLifoConnectionPool
from yeko_sql.loader import load_queries
from yeko_sql.registry import Registry
from yeko_sql.settings import Settings
from yeko_sql.statements import execute
from yeko_sql.streams import stream_async

__all__ = ["AsyncDatabase", "AsyncTransaction"]


async def _check(conn: psycopg.AsyncConnection[Any]) -> None:
    socket_is_healthy(conn)  # non-blocking: no await needed


class AsyncTransaction(LazyNamespaces):
    """Queries on one connection inside one transaction, as ``tx.<ns>.<query>``."""

    def __init__(
        self, db: AsyncDatabase, conn: psycopg.AsyncConnection[Any], log: SlowLog
    ) -> None:
        self._db = db
        self.connection = conn
        self._log = log

    def call(self, runner: Runner, kwargs: Mapping[str, object]) -> Any:
        """Run *runner* on this transaction's connection (a coroutine)."""
        self._log.ran.append(runner.qualname)
        return runner.run_async(self.live(), kwargs)

    def stream(
        self, runner: Runner, kwargs: Mapping[str, object]
    ) -> AsyncIterator[Any]:
        """Stream *runner*'s rows on this transaction's connection."""
        self._log.ran.append(runner.qualname)
        sql, params = runner.stream_args(kwargs)
        return stream_async(runner, self.live(), sql, params)

    async def execute(self, sql: str, params: list[object] | None = None) -> int:
        """Run one raw statement (``$1`` placeholders); return rows affected."""
        cur = await AsyncRawCursor(self.live()).execute(sql, params)
        return cur.rowcount

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncTransaction]:
        """A savepoint: roll back to here on an exception, keep the outer work."""
        async with self.live().transaction():
            yield self


class AsyncDatabase:
    """Owns one asyncio connection pool; queries are ``await adb.<ns>.<query>(...)``.

    Use ``async with AsyncDatabase(...) as adb:`` (or ``await open()``/``close()``).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        queries: Registry | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.queries = queries if queries is not None else load_queries()
        self.runners = group_runners(self.queries, strict=self.settings.strict_rows)
        self._statement = session_statement(self.settings)
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = (
            AsyncLifoConnectionPool(
                default_url(url),
                configure=self._configure,
                check=_check,
                name="yeko-sql-async",
                **pool_options(self.settings),
            )
        )
        for name, runners in self.runners.items():
            check_namespace_name(self, name)
            setattr(self, name, bind_namespace(name, runners, self))

    async def _configure(self, conn: psycopg.AsyncConnection[Any]) -> None:
        configure_statements(conn, self.settings)
        await AsyncRawCursor(conn).execute(*self._statement)

    def missing_namespace(self, name: str) -> str:
        """The message for an unknown ``adb.<name>``."""
        return f"no query file {name!r}; namespaces: {', '.join(sorted(self.runners))}"

    def __getattr__(self, name: str) -> QueryNamespace:
        raise AttributeError(self.missing_namespace(name))

    # -- lifecycle -----------------------------------------------------------

    async def open(self, *, wait: bool = True) -> AsyncDatabase:
        """Open the pool; with *wait*, until ``min_size`` connections are ready."""
        await self.pool.open(wait=wait, timeout=self.settings.timeout)
        return self

    async def close(self) -> None:
        """Close the pool and every connection in it."""
        await self.pool.close()

    async def __aenter__(self) -> AsyncDatabase:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- running -------------------------------------------------------------

    async def call(self, runner: Runner, kwargs: Mapping[str, object]) -> Any:
        """Run *runner* on a pooled connection (the path of ``adb.<ns>.<query>``)."""
        # getconn/putconn rather than pool.connection(), as the sync twin does:
        # no async context manager per call (measured 7.2 -> 3.9 µs). The pool
        # lends conn to this call alone, so no lock is taken.
        pool = self.pool
        conn = await pool.getconn()
        try:
            return await conn.wait(runner.call(conn, kwargs))
        finally:
            await pool.putconn(conn)

    def stream(
        self, runner: Runner, kwargs: Mapping[str, object]
    ) -> AsyncIterator[Any]:
        """Stream *runner*'s rows; the connection is held until the iterator ends.

        Parameters are checked now, not at the first ``anext()``.
        """
        sql, params = runner.stream_args(kwargs)
        return self._stream(runner, sql, params)

    async def _stream(
        self, runner: Runner, sql: str, params: list[object]
    ) -> AsyncIterator[Any]:
        async with self.pool.connection() as conn:
            async for row in stream_async(runner, conn, sql, params):
                yield row

    @asynccontextmanager
    async def for_school(self, school_id: str) -> AsyncIterator[AsyncTransaction]:
        """A transaction scoped to one school by Row-Level Security (``SET LOCAL``)."""
        async with self.transaction() as tx:
            conn = tx.connection
            await conn.wait(execute(conn, SCOPE_SQL, [school_id]))  # prepared
            yield tx

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncTransaction]:
        """Run several queries on one connection, atomically (see ``Database``)."""
        log = SlowLog(self.settings.slow_transaction_ms)
        try:
            async with self.pool.connection() as conn, conn.transaction():
                yield AsyncTransaction(self, conn, log)
        finally:
            log.finish()
