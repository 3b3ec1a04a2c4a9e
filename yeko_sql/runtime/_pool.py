r"""psycopg_pool pools that hand out the connection returned last (a stack).

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

These pools also never lose a connection to an interrupted caller.
psycopg_pool covers an interrupt during its ``check``, but not one that lands
between taking a connection off the stack and that check, or just after it,
nor one inside ``putconn``: each of these lost the connection for good (4 of
4 after 400 ``KeyboardInterrupt``\s; an asyncio caller cancelled while
returning one, likewise). ``getconn`` remembers the connection it is handing
out until it is handed out, and ``give_back`` finishes a return that was
interrupted. ``tests/test_runtime_trust.py`` pins both with interrupt storms.
An upstream feature (returns shielded from cancellation, a "connection
handed out" hook) would let this go.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

__all__ = [
    "AsyncLifoConnectionPool",
    "LifoConnectionPool",
    "give_back",
    "give_back_async",
]

logger = logging.getLogger("yeko_sql")

Conn = psycopg.Connection[Any]
AsyncConn = psycopg.AsyncConnection[Any]


class LifoConnectionPool(ConnectionPool[Conn]):
    """A ``ConnectionPool`` whose next connection is the one returned last.

    ``getconn`` does not lose a connection to an interrupt where psycopg_pool
    leaves it open: until the caller has it, the connection taken off the
    stack is remembered per thread (``_handing``) and put back if ``getconn``
    raises. While the pool's own check runs, psycopg_pool puts it back
    itself, so it is forgotten then.
    """

    def __init__(
        self,
        conninfo: str = "",
        *,
        check: Callable[[Conn], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self._handing = threading.local()
        self._user_check = check
        super().__init__(conninfo, check=self._check_handing, **kwargs)
        self._waiting: _Waiters = _Waiters(threading.get_ident)

    def _check_handing(self, conn: Conn) -> None:
        handing = self._handing
        handing.conn = None  # psycopg_pool returns it if the check is interrupted
        if self._user_check is not None:
            self._user_check(conn)
        handing.conn = conn  # nothing interruptible runs from here to return

    def _get_ready_connection(self, timeout: float | None) -> Conn | None:
        if not self._pool or (timeout is not None and timeout <= 0.0):
            return super()._get_ready_connection(timeout)
        conn = self._pool.pop()
        self._handing.conn = conn
        self._nconns_min = min(self._nconns_min, len(self._pool))
        return conn

    def getconn(self, timeout: float | None = None) -> Conn:
        """``ConnectionPool.getconn``, which an interrupt cannot make leak."""
        handing = self._handing
        handing.conn = None
        try:
            conn = super().getconn(timeout)
        except BaseException as exc:
            lost, handing.conn = handing.conn, None
            if lost is not None:
                give_back(self, lost)
            if not isinstance(exc, Exception):  # psycopg_pool handles those
                self._forsake_waiters(exc)
            if self._waiting.owners:
                self._waiting.forget(threading.get_ident())
            raise
        handing.conn = None
        if self._waiting.owners:
            self._waiting.forget(threading.get_ident())
        return conn

    def _forsake_waiters(self, exc: BaseException) -> None:
        """Mark this thread's queued waiters failed, so none is handed a connection.

        psycopg_pool 3.3 marks a waiter failed on an ``Exception`` only: one
        interrupted by ``KeyboardInterrupt`` stayed queued, looking alive,
        and the next connection returned was handed to it and lost (949
        dead waiters after 3 s of interrupts every 3 ms, the pool drained).
        """
        for waiter in self._waiting.of(threading.get_ident()):
            with waiter._cond:
                if waiter.conn is None:
                    waiter.error = exc  # set() now passes it over


def give_back(pool: ConnectionPool[Conn], conn: Conn) -> None:
    """``pool.putconn(conn)``, finished even if an interrupt lands inside it.

    An interrupted ``putconn`` is finished by a thread of its own, where no
    signal handler runs, unless the connection already reached the pool;
    further interrupts while that thread starts only start another, which
    finds the work done. One case is left open: with several threads, an
    interrupt that lands just after the connection was handed to a waiting
    thread, before that thread holds it, returns it twice; psycopg_pool has
    no way to tell. Python can raise an interrupt at the entry of any
    function, so no code of ours can close every window: this narrows them
    to the instructions between a call's ``finally`` and this function.
    """
    try:
        pool.putconn(conn)
    except BaseException:
        _finish_return(pool, conn)
        raise


class _Return:
    """One interrupted return, finished exactly once by whichever thread runs."""

    __slots__ = ("conn", "done", "lock", "pool", "started")

    def __init__(self, pool: ConnectionPool[Conn], conn: Conn) -> None:
        self.pool, self.conn = pool, conn
        self.lock = threading.Lock()
        self.started = threading.Event()
        self.done = False

    def run(self) -> None:
        self.started.set()
        with self.lock:
            if self.done:
                return
            self.done = True
            if _still_lent(self.pool, self.conn):
                try:
                    self.pool.putconn(self.conn)
                except Exception:
                    logger.warning(
                        "returning %s to the pool failed", self.conn, exc_info=True
                    )


def _finish_return(pool: ConnectionPool[Conn], conn: Conn) -> None:
    job = _Return(pool, conn)
    while not job.started.is_set():
        try:
            threading.Thread(target=job.run, daemon=True).start()
        except BaseException:  # noqa: BLE001, S112  (interrupted again: retry)
            continue
    while True:
        try:
            with job.lock:  # wait for the return to be done, interruptibly
                return
        except BaseException:  # noqa: BLE001, S112
            continue


def _still_lent(pool: ConnectionPool[Conn], conn: Conn) -> bool:
    with pool._lock:
        return getattr(conn, "_pool", None) is pool and all(
            idle is not conn for idle in pool._pool
        )


class _Waiters(deque[Any]):
    """psycopg_pool's queue of waiting clients, each tagged with its owner.

    The owner is the asyncio task (or, for the sync pool, the thread) that
    queued it, so an interrupted ``getconn`` can find its own waiter, queued
    still or already handed a connection, until that ``getconn`` ends.

    psycopg_pool queues waiters under its own lock, but ``getconn`` reads and
    prunes the owners after it returns, outside that lock: the owners have a
    lock of their own. Without it a thread leaving ``getconn`` walked the
    owners while another queued, and got ``RuntimeError: dictionary changed
    size during iteration`` (once in ~24,000 refusals past ``max_waiting``;
    tests/test_lifo.py makes it certain).
    """

    def __init__(self, owner: Callable[[], object]) -> None:
        super().__init__()
        self.owner = owner
        self.owners: dict[int, tuple[Any, object]] = {}  # id -> (waiter, owner)
        self._lock = threading.Lock()  # held for no longer than a dict walk

    def append(self, waiter: Any) -> None:
        owner = self.owner()
        with self._lock:
            self.owners[id(waiter)] = (waiter, owner)
        super().append(waiter)

    def clear(self) -> None:
        with self._lock:
            self.owners.clear()
        super().clear()

    def of(self, owner: object) -> list[Any]:
        """The waiters *owner* queued during its current ``getconn``."""
        with self._lock:
            return [w for w, o in self.owners.values() if o == owner]

    def forget(self, owner: object) -> None:
        """*owner*'s ``getconn`` has ended: drop its waiters."""
        with self._lock:
            for key in [k for k, (_, o) in self.owners.items() if o == owner]:
                del self.owners[key]


class AsyncLifoConnectionPool(AsyncConnectionPool[AsyncConn]):
    """The asyncio twin of ``LifoConnectionPool``.

    A client waiting for a connection that is cancelled before it enters its
    wait (psycopg_pool 3.3's ``WaitingClient.wait`` takes a lock first) stays
    in the queue looking alive, and the next connection returned is handed
    to it and lost: the storm in tests/test_runtime_trust.py drained a pool
    of 4 in seconds. ``getconn`` marks its own waiter failed when cancelled,
    so the pool skips it, as it does for one that timed out.
    """

    def __init__(self, conninfo: str = "", **kwargs: Any) -> None:
        super().__init__(conninfo, **kwargs)
        self._waiting: _Waiters = _Waiters(asyncio.current_task)

    async def getconn(self, timeout: float | None = None) -> AsyncConn:
        """``AsyncConnectionPool.getconn``, whose cancellation loses nothing."""
        try:
            conn = await super().getconn(timeout)
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            for waiter in self._waiting.of(task):
                if not waiter.conn:
                    waiter.error = exc  # set() now passes it over
            self._waiting.forget(task)
            raise
        if self._waiting.owners:
            self._waiting.forget(asyncio.current_task())
        return conn

    async def _get_ready_connection(self, timeout: float | None) -> AsyncConn | None:
        if not self._pool or (timeout is not None and timeout <= 0.0):
            return await super()._get_ready_connection(timeout)
        conn = self._pool.pop()
        self._nconns_min = min(self._nconns_min, len(self._pool))
        return conn


_returning: set[asyncio.Task[None]] = set()  # returns finishing in the background


async def give_back_async(
    pool: AsyncConnectionPool[AsyncConn], conn: AsyncConn
) -> None:
    """``await pool.putconn(conn)``, shielded from the caller's cancellation.

    An idle connection's return never awaits, so it cannot be cancelled and
    costs no task. A return that is cancelled where it awaits (the pool's
    lock, a rollback) has not reached the pool: it is run again as a task of
    its own, which the caller's cancellation does not reach, and the caller
    sees its ``CancelledError`` at once.
    """
    try:
        await pool.putconn(conn)
    except asyncio.CancelledError:
        # Every await of putconn comes before the connection reaches the pool
        # (or a waiting client), so a cancelled putconn never got it there.
        # It may have let go of it already (``_add_to_pool`` clears the
        # connection's pool before taking the lock): it is lent back to run
        # the return again.
        conn._pool = pool
        _in_background(pool.putconn(conn))
        raise


def _in_background(step: Awaitable[None]) -> None:
    async def run() -> None:
        try:
            await step
        except Exception:
            logger.warning("returning a connection to the pool failed", exc_info=True)

    task = asyncio.get_running_loop().create_task(run())
    _returning.add(task)
    task.add_done_callback(_returning.discard)
