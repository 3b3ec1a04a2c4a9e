"""Pool and session settings: one frozen Struct, built explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping

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
    """Validate every decoded row against its Struct's types (tests; slower)."""

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

    def session_settings(self) -> dict[str, str]:
        """The PostgreSQL settings applied to every new connection."""
        return {
            "statement_timeout": str(self.statement_timeout_ms),
            "lock_timeout": str(self.lock_timeout_ms),
            "idle_in_transaction_session_timeout": str(
                self.idle_in_transaction_session_timeout_ms
            ),
            "application_name": self.application_name,
        }
