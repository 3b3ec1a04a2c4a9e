"""psycopg_pool pools that hand out the connection returned last (a stack).

psycopg_pool keeps idle connections in a queue, first in first out, so even a
lone caller's consecutive calls each land on another server backend, whose
caches (and the client's) have gone cold meanwhile. On the 2-core benchmark
machine that made a pooled asyncio lookup 1.48x asyncpg's held connection.
Last in, first out keeps a lone caller on one warm backend, and leaves the
least recently used connections at the far end, where ``max_idle`` closes
them first (SQLAlchemy's ``pool_use_lifo``, Rails and node-postgres do the
same).

psycopg_pool has no option for this, so ``_get_ready_connection`` is
overridden: a private method, unchanged from psycopg_pool 3.1 to 3.3.
``pyproject.toml`` caps psycopg-pool below 3.4 and
``tests/test_lifo.py`` pins the behaviour, so an upgrade that changes it
fails loudly rather than silently going back to FIFO.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

__all__ = ["AsyncLifoConnectionPool", "LifoConnectionPool"]


class LifoConnectionPool(ConnectionPool[psycopg.Connection[Any]]):
    """A ``ConnectionPool`` whose next connection is the one returned last."""

    def _get_ready_connection(
        self, timeout: float | None
    ) -> psycopg.Connection[Any] | None:
        if not self._pool or (timeout is not None and timeout <= 0.0):
            return super()._get_ready_connection(timeout)
        conn = self._pool.pop()
        self._nconns_min = min(self._nconns_min, len(self._pool))
        return conn


class AsyncLifoConnectionPool(AsyncConnectionPool[psycopg.AsyncConnection[Any]]):
    """The asyncio twin of ``LifoConnectionPool``."""

    async def _get_ready_connection(
        self, timeout: float | None
    ) -> psycopg.AsyncConnection[Any] | None:
        if not self._pool or (timeout is not None and timeout <= 0.0):
            return await super()._get_ready_connection(timeout)
        conn = self._pool.pop()
        self._nconns_min = min(self._nconns_min, len(self._pool))
        return conn
