"""The pools hand out the connection returned last (a stack, not a queue)."""

import asyncio
import sys
import threading
import time

from yeko_sql.runtime._pool import (
    AsyncLifoConnectionPool,
    LifoConnectionPool,
    _Waiters,
)
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


def test_the_waiter_registry_survives_threads_queueing_and_leaving_at_once() -> None:
    """The stress run past ``max_waiting`` once raised 'dictionary changed size
    during iteration': a thread leaving ``getconn`` (``forget``) walked the
    owners while another thread queued (``append``, under psycopg_pool's lock
    only). Switching threads every microsecond makes that overlap certain."""
    waiters = _Waiters(threading.get_ident)
    errors: list[BaseException] = []
    stop = threading.Event()

    def churn() -> None:
        me = threading.get_ident()
        try:
            while not stop.is_set():
                for _ in range(20):
                    waiters.append(object())
                waiters.of(me)
                waiters.forget(me)
        except BaseException as exc:  # noqa: BLE001  (asserted below)
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=churn) for _ in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
