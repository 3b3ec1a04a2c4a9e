"""Run an idempotent transaction again when PostgreSQL asks for it.

Serialization failures (``40001``) and deadlocks (``40P01``) are not bugs:
the server aborted one of two conflicting transactions and the right answer
is to run it again from the start. ``retry`` does that, in a fresh
``db.transaction()`` each time, a bounded number of times, sleeping an
exponentially growing, jittered delay in between::

    def move(tx: Transaction) -> None:
        tx.accounts.debit(id=a, amount=10)
        tx.accounts.credit(id=b, amount=10)

    retry(db, move, serializable=True)

*fn* must be safe to run more than once: everything it wrote in a failed
attempt was rolled back, but anything it did outside the database (an email,
an append to a Python list) was not. Errors other than *retry_on* propagate at
once; the last retryable one propagates when the attempts run out, with a note
saying how many were made.

A transaction whose COMMIT was sent but never answered (the connection broke,
or the caller was interrupted twice, while it was on its way) may have
committed: it is never run again, whatever *retry_on* says, and its error
propagates with a note saying so. A COMMIT the server refused (a
serialization failure at commit) did not commit, and is retried as usual.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from psycopg import OperationalError
from psycopg.errors import DeadlockDetected, SerializationFailure
from psycopg_pool import PoolTimeout

if TYPE_CHECKING:
    from yeko_sql.runtime.database import Database, Transaction
    from yeko_sql.runtime.database_async import AsyncDatabase, AsyncTransaction

__all__ = ["FAILOVER", "RETRYABLE", "backoff_delay", "retry", "retry_async"]

T = TypeVar("T")

logger = logging.getLogger("yeko_sql")

RETRYABLE: tuple[type[BaseException], ...] = (SerializationFailure, DeadlockDetected)
"""What the server asks to run again: ``40001`` and ``40P01``."""

FAILOVER: tuple[type[BaseException], ...] = (
    *RETRYABLE,
    OperationalError,
    PoolTimeout,
)
"""``RETRYABLE`` plus what a failover raises while the standby takes over.

A connection killed with the old primary, a read-only error from a standby
not yet promoted, no server to connect to yet (``PoolTimeout``): all are
``OperationalError`` or the pool's timeout. Pass ``retry_on=FAILOVER`` for
**idempotent** work only (an insert of a client-made id with ``ON CONFLICT
DO NOTHING``, an update to a fixed value): the transaction that failed was
rolled back, or never reached a server. A COMMIT sent and never answered is
still never re-run (the note says so): the caller decides, for instance by
reading whether its id is there.
"""

_SERIALIZABLE = (
    "/* yeko:retry.serializable */ SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"
)


def backoff_delay(
    attempt: int,
    *,
    backoff: float,
    max_backoff: float,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed *attempt* (1-based): "equal jitter".

    The cap doubles each attempt, ``min(max_backoff, backoff * 2 ** (attempt - 1))``,
    and the delay is uniform in ``[cap / 2, cap]``: never zero, so two losers do
    not collide again at once, and never above *max_backoff*.
    """
    cap = min(max_backoff, backoff * 2.0 ** (attempt - 1))
    return cap / 2 + rng() * cap / 2


def _check(attempts: int, backoff: float, max_backoff: float) -> None:
    if attempts < 1:
        raise ValueError(f"retry: attempts must be at least 1, got {attempts}")
    if backoff < 0 or max_backoff < 0:
        raise ValueError(
            f"retry: backoff and max_backoff must be >= 0, got {backoff}, {max_backoff}"
        )


def _give_up(exc: BaseException, attempts: int) -> None:
    exc.add_note(
        f"yeko_sql.runtime.retry: gave up after {attempts} attempt"
        f"{'s' if attempts > 1 else ''} ({type(exc).__name__} each time it failed)"
    )


def _refuse_if_committed(
    exc: BaseException, tx: Transaction | AsyncTransaction | None
) -> None:
    if tx is not None and tx.commit_unknown:
        exc.add_note(
            "yeko_sql.runtime.retry: not run again: COMMIT was sent and never "
            "answered, so the transaction may have committed"
        )
        raise exc


def retry(
    db: Database,
    fn: Callable[[Transaction], T],
    *,
    attempts: int = 5,
    backoff: float = 0.05,
    max_backoff: float = 1.0,
    retry_on: tuple[type[BaseException], ...] = RETRYABLE,
    serializable: bool = False,
) -> T:
    """Run ``fn(tx)`` in ``db.transaction()``; run it again on *retry_on* errors.

    With *serializable*, each attempt starts with ``SET TRANSACTION ISOLATION
    LEVEL SERIALIZABLE``. Returns what the successful attempt returned.

    Raises:
        ValueError: *attempts* < 1 or a negative backoff.
        Exception: the first error not in *retry_on*, or the last one that is,
            after *attempts* attempts (with a note saying so).
    """
    _check(attempts, backoff, max_backoff)
    attempt = 1
    while True:
        tx: Transaction | None = None
        try:
            with db.transaction() as tx:
                if serializable:
                    tx.execute(_SERIALIZABLE)
                return fn(tx)
        except retry_on as exc:
            _refuse_if_committed(exc, tx)
            if attempt >= attempts:
                _give_up(exc, attempt)
                raise
            delay = backoff_delay(attempt, backoff=backoff, max_backoff=max_backoff)
            logger.info(
                "retry: attempt %d of %d failed (%s), again in %.0f ms",
                attempt,
                attempts,
                type(exc).__name__,
                delay * 1000,
            )
            time.sleep(delay)
            attempt += 1


async def retry_async(
    db: AsyncDatabase,
    fn: Callable[[AsyncTransaction], Awaitable[T]],
    *,
    attempts: int = 5,
    backoff: float = 0.05,
    max_backoff: float = 1.0,
    retry_on: tuple[type[BaseException], ...] = RETRYABLE,
    serializable: bool = False,
) -> T:
    """The asyncio twin of ``retry``: ``await fn(tx)`` in ``db.transaction()``."""
    _check(attempts, backoff, max_backoff)
    attempt = 1
    while True:
        atx: AsyncTransaction | None = None
        try:
            async with db.transaction() as atx:
                if serializable:
                    await atx.execute(_SERIALIZABLE)
                return await fn(atx)
        except retry_on as exc:
            _refuse_if_committed(exc, atx)
            if attempt >= attempts:
                _give_up(exc, attempt)
                raise
            delay = backoff_delay(attempt, backoff=backoff, max_backoff=max_backoff)
            logger.info(
                "retry: attempt %d of %d failed (%s), again in %.0f ms",
                attempt,
                attempts,
                type(exc).__name__,
                delay * 1000,
            )
            await asyncio.sleep(delay)
            attempt += 1
