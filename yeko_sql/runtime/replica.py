"""Reads on a replica, and read-your-writes through a WAL position token.

A ``Database`` given ``read_url`` keeps a second pool. A query whose header
says ``-- replica: ok`` runs there when called on the database itself; every
other query, and everything inside ``transaction()``/``for_school()``, runs on
the primary.

A replica replays the primary's WAL a little later, so a read right after a
write may miss it. Inside ``db.consistent_reads()`` each write call records
the primary's WAL insert position after it (``pg_current_wal_insert_lsn()``,
one more round trip on the same connection), and each replica read first
waits, for at most ``Settings.replica_wait_ms``, until the replica has
replayed that position (``pg_last_wal_replay_lsn()``); past the bound it reads
the primary. ``db.write_token()`` gives the position now, to carry to another
process or request: ``with db.consistent_reads(token):``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = [
    "LSN_NOW",
    "REPLAYED",
    "ReadToken",
    "ReplicaBreaker",
    "consistent_reads_block",
    "lsn_value",
    "reads_token",
    "replayed_enough",
    "replayed_enough_async",
]

LSN_NOW = "/* yeko:replica.lsn */ SELECT pg_current_wal_insert_lsn()::text"
"""The primary's WAL position after a write (cheap: no flush, no lock)."""

REPLAYED = (
    "/* yeko:replica.replayed */ SELECT coalesce("
    "pg_last_wal_replay_lsn() >= $1::pg_lsn, true)"
)
"""Whether the replica replayed a position (true on a server not in recovery)."""

logger = logging.getLogger("yeko_sql")

_POLL_FIRST_S = 0.0002  # a replica on a fast link replays within a few hundred µs
_POLL_MAX_S = 0.002


def _pauses() -> Iterator[float]:
    """Pauses between polls: 0.2 ms, doubling up to 2 ms."""
    pause = _POLL_FIRST_S
    while True:
        yield pause
        pause = min(pause * 2, _POLL_MAX_S)


def lsn_value(text: str) -> int:
    """``16/B374D848`` as a number, to compare two positions.

    Raises:
        ValueError: *text* is not a WAL position.
    """
    high, _, low = text.partition("/")
    if not low:
        raise ValueError(f"{text!r} is not a WAL position such as '16/B374D848'")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass
class ReadToken:
    """The latest primary WAL position a block of reads must see, if any."""

    lsn: str | None = None
    waited_ms: list[float] = field(default_factory=list)  # per replica read
    fell_back: int = 0  # replica reads that went to the primary

    def advance(self, lsn: str | None) -> None:
        """Keep the later of the held position and *lsn*."""
        if lsn and (self.lsn is None or lsn_value(lsn) > lsn_value(self.lsn)):
            self.lsn = lsn


reads_token: contextvars.ContextVar[ReadToken | None] = contextvars.ContextVar(
    "yeko_sql_read_token", default=None
)
"""The ``consistent_reads()`` block the current task or thread is in."""


class ReplicaBreaker:
    """After a replica fails, reads skip it for *pause_s* seconds.

    Without it, every replica read while the replica is down would wait
    ``replica_connect_timeout`` before reading the primary: a second per read
    under load. Once tripped, reads go straight to the primary; when the pause
    is over, one read (the first to ask) tries the replica again, and the
    others keep reading the primary until it has answered: on success the
    breaker closes, on failure it trips for another pause.
    """

    def __init__(self, pause_s: float) -> None:
        self.pause_s = pause_s
        self._until = 0.0  # monotonic time before which reads skip the replica
        self._lock = threading.Lock()
        self.trips = 0  # how many times the replica was found down

    def allow(self) -> bool:
        """Whether this read may try the replica (claims the probe when due)."""
        with self._lock:
            now = time.monotonic()
            if now < self._until:
                return False
            if self._until:  # tripped and the pause is over: this read probes
                self._until = now + self.pause_s
            return True

    def trip(self, what: str) -> bool:
        """The replica failed (*what* says how, for the log); True when it had
        been up, and then a warning is logged, once per outage."""
        with self._lock:
            was_up = not self._until
            self._until = time.monotonic() + self.pause_s
            self.trips += was_up
        if was_up:
            logger.warning(
                "%s reads the primary; replica reads skip the replica for %.0f s",
                what,
                self.pause_s,
            )
        return was_up

    def reset(self) -> None:
        """The replica answered: reads go to it again."""
        if self._until:
            with self._lock:
                self._until = 0.0


@contextmanager
def consistent_reads_block(token: str | None = None) -> Iterator[ReadToken]:
    """Enter a read-your-writes block, seeded with *token* when given."""
    held = ReadToken()
    if token is not None:
        lsn_value(token)  # a malformed token fails here, not at the first read
        held.advance(token)
    reset = reads_token.set(held)
    try:
        yield held
    finally:
        reads_token.reset(reset)


def replayed_enough(
    poll: Callable[[str], bool], lsn: str, wait_ms: float
) -> tuple[bool, float]:
    """Ask *poll* whether *lsn* was replayed until it says so or *wait_ms* pass.

    Returns whether the replica caught up, and the milliseconds waited.
    """
    start = time.perf_counter()
    deadline = start + wait_ms / 1000
    for pause in _pauses():
        if poll(lsn):
            break
        if time.perf_counter() >= deadline:
            return False, (time.perf_counter() - start) * 1000
        time.sleep(pause)
    return True, (time.perf_counter() - start) * 1000


async def replayed_enough_async(
    poll: Callable[[str], Awaitable[bool]], lsn: str, wait_ms: float
) -> tuple[bool, float]:
    """The asyncio twin of ``replayed_enough``."""
    start = time.perf_counter()
    deadline = start + wait_ms / 1000
    for pause in _pauses():
        if await poll(lsn):
            break
        if time.perf_counter() >= deadline:
            return False, (time.perf_counter() - start) * 1000
        await asyncio.sleep(pause)
    return True, (time.perf_counter() - start) * 1000
