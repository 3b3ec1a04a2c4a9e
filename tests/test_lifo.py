"""The pools hand out the connection returned last (a stack, not a queue)."""

import asyncio

from yeko_sql.runtime._pool import AsyncLifoConnectionPool, LifoConnectionPool
from yeko_sql.runtime.database import Database
from yeko_sql.runtime.database_async import AsyncDatabase


def test_the_sync_pool_lends_the_connection_returned_last(database_url: str) -> None:
    with LifoConnectionPool(database_url, min_size=3, max_size=3) as pool:
        pool.wait()
        first, second = pool.getconn(), pool.getconn()
        pool.putconn(first)
        pool.putconn(second)
        again = pool.getconn()
        assert again is second  # FIFO would lend the third, idle all along
        pool.putconn(again)
        assert pool.getconn() is second
    assert isinstance(Database(database_url).pool, LifoConnectionPool)


def test_the_async_pool_lends_the_connection_returned_last(database_url: str) -> None:
    async def main() -> None:
        async with AsyncLifoConnectionPool(
            database_url, min_size=3, max_size=3
        ) as pool:
            await pool.wait()
            first, second = await pool.getconn(), await pool.getconn()
            await pool.putconn(first)
            await pool.putconn(second)
            again = await pool.getconn()
            assert again is second
            await pool.putconn(again)
            assert await pool.getconn() is second
        assert isinstance(AsyncDatabase(database_url).pool, AsyncLifoConnectionPool)

    asyncio.run(main())
