"""Pool and session settings: one frozen Struct, built explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

import msgspec

__all__ = ["Settings"]

_PREFIX = "YEKO_SQL_"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """How a ``Database`` sizes its pool and configures each connection.

    Durations are in seconds for the pool (psycopg_pool's unit) and in
    milliseconds for the PostgreSQL session settings (the server's unit).
    """

    min_size: int = 2
    """Connections the pool keeps open."""
    max_size: int = 10
    """Connections the pool may open at most."""
    timeout: float = 30.0
    """Seconds a caller waits for a connection before ``PoolTimeout``."""
    max_waiting: int = 0
    """Callers allowed to wait at once (0: no limit); more get ``TooManyRequests``."""
    max_lifetime: float = 3600.0
    """Seconds before a connection is replaced."""
    max_idle: float = 600.0
    """Seconds an idle connection above ``min_size`` is kept."""
    reconnect_timeout: float = 300.0
    """Seconds the pool keeps trying to reconnect before giving up."""
    statement_timeout_ms: int = 30_000
    """Per-connection ``statement_timeout`` (0 disables it)."""
    lock_timeout_ms: int = 5_000
    """Per-connection ``lock_timeout`` (0 disables it)."""
    idle_in_transaction_session_timeout_ms: int = 60_000
    """Per-connection ``idle_in_transaction_session_timeout`` (0 disables it)."""
    application_name: str = "yeko-sql"
    """Shown in ``pg_stat_activity`` and the server log."""
    slow_transaction_ms: float = 500.0
    """A transaction running longer is logged with the queries it ran."""
    prepare_threshold: int | None = 0
    """Runs of a named query before it is prepared (0: at once; None: never)."""
    prepared_max: int = 512
    """Prepared named queries kept per connection (least recently used go)."""
    strict_rows: bool = False
    """Validate every field of every row with msgspec (slower).

    Off, rows are still checked where it is cheap and matters: a NULL into a
    field that is not Optional and a value outside a ``Literal`` raise
    ``RowDecodeError``.
    """
    pooler: Literal["transaction"] | None = None
    """``"transaction"`` behind PgBouncer (or any pooler) in transaction mode.

    Named queries then run unprepared and nothing is set for the session:
    timeouts and ``application_name`` are set per transaction (``SET
    LOCAL``); single calls outside a transaction run with the role's own
    settings (``ALTER ROLE ... SET statement_timeout``). See docs/runtime.md,
    "Behind PgBouncer".
    """
    replica_wait_ms: float = 100.0
    """How long a read-your-writes replica read waits for the replica to replay
    the caller's last write before it reads the primary instead."""
    replica_connect_timeout: float = 1.0
    """Seconds a replica read waits for a read-pool connection before it reads
    the primary instead (a replica that is down must not stall reads)."""
    replica_retry_s: float = 5.0
    """After a replica read failed, seconds during which replica reads go
    straight to the primary; then one read tries the replica again."""
    keepalives_idle_s: int = 30
    """Seconds of TCP silence before the first keepalive probe (libpq)."""
    keepalives_interval_s: int = 10
    """Seconds between unanswered keepalive probes."""
    keepalives_count: int = 3
    """Unanswered probes before the connection is declared dead."""
    tcp_user_timeout_ms: int = 30_000
    """Milliseconds sent data may stay unacknowledged before the connection
    is declared dead (Linux ``TCP_USER_TIMEOUT``; 0: the system default)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``YEKO_SQL_<FIELD>`` variables, defaults elsewhere.

        ``YEKO_SQL_MAX_SIZE=20`` sets ``max_size``; ``YEKO_SQL_PREPARE_THRESHOLD=none``
        turns preparing off.

        Raises:
            ValueError: a variable does not parse as its field's type.
        """
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for name in cls.__struct_fields__:
            value = env.get(_PREFIX + name.upper())
            if value is not None:
                raw[name] = None if value.strip().lower() in {"none", ""} else value
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise ValueError(f"{_PREFIX}*: {exc}; fix or unset that variable") from exc

    def connection_options(self) -> dict[str, object]:
        """libpq options of every pooled connection: keepalives, dead peers.

        Without them a connection dropped silently (a NAT, a failover) leaves a
        call waiting for TCP's retransmission timeout, many minutes.
        """
        return {
            "keepalives": 1,
            "keepalives_idle": self.keepalives_idle_s,
            "keepalives_interval": self.keepalives_interval_s,
            "keepalives_count": self.keepalives_count,
            "tcp_user_timeout": self.tcp_user_timeout_ms,
        }

    def session_settings(self) -> dict[str, str]:
        """The PostgreSQL settings every connection (or transaction) runs with."""
        return {
            "statement_timeout": str(self.statement_timeout_ms),
            "lock_timeout": str(self.lock_timeout_ms),
            "idle_in_transaction_session_timeout": str(
                self.idle_in_transaction_session_timeout_ms
            ),
            "application_name": self.application_name,
        }
