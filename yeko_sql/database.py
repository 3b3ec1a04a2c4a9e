"""``Database``: one psycopg pool, every named query as an attribute.

``db.schools.get_school(id=...)`` borrows an autocommit connection, runs one
statement (one round trip: no BEGIN/COMMIT) and gives the connection back.
``with db.transaction() as tx:`` runs several queries on one connection and
rolls back on any exception; nested ``tx.transaction()`` is a savepoint.
"""

from __future__ import annotations

import logging
import os
import select
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import psycopg
from psycopg import RawCursor
from psycopg_pool import ConnectionPool

from yeko_sql.adapters import shared_adapters
from yeko_sql.compiler import Query
from yeko_sql.errors import YekoSqlError
from yeko_sql.executor import Runner
from yeko_sql.kinds import Kind
from yeko_sql.lifo import LifoConnectionPool
from yeko_sql.loader import load_queries
from yeko_sql.registry import Registry
from yeko_sql.settings import Settings
from yeko_sql.statements import execute, prepare_on
from yeko_sql.streams import stream

__all__ = ["Database", "QueryNamespace", "Transaction"]

logger = logging.getLogger("yeko_sql")

SCOPE_SETTING = "yeko.school_id"
"""The setting Row-Level Security policies read the current school from."""
SCOPE_SQL = f"/* yeko:scope */ SELECT set_config('{SCOPE_SETTING}', $1, true)"


def default_url(url: str | None) -> str:
    """Return *url*, else ``DATABASE_URL``; fail with the fix when neither is set."""
    if url:
        return url
    if env := os.environ.get("DATABASE_URL"):
        return env
    raise YekoSqlError(
        "no database URL: pass one to Database() or set DATABASE_URL; "
        "'yeko-sql server url' prints one for the local server"
    )


def pool_options(settings: Settings) -> dict[str, Any]:
    """The pool's keyword arguments from *settings* (shared by both twins)."""
    return {
        # Every pooled connection: autocommit (one round trip per call) and
        # the shared adapters. Named queries are prepared by ``statements``
        # (see ``prepare_on``), so psycopg's own preparing stays off.
        "kwargs": {
            "autocommit": True,
            "prepare_threshold": None,
            "context": shared_adapters(),
        },
        "min_size": settings.min_size,
        "max_size": settings.max_size,
        "timeout": settings.timeout,
        "max_waiting": settings.max_waiting,
        "max_lifetime": settings.max_lifetime,
        "max_idle": settings.max_idle,
        "reconnect_timeout": settings.reconnect_timeout,
        "open": False,
    }


def configure_statements(
    conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any], settings: Settings
) -> None:
    """Prepare named queries on *conn* as *settings* say (shared by both twins)."""
    prepare_on(conn, threshold=settings.prepare_threshold, limit=settings.prepared_max)


def session_statement(settings: Settings) -> tuple[str, list[object]]:
    """One statement applying the per-connection settings (one round trip)."""
    items = list(settings.session_settings().items())
    calls = ", ".join(
        f"set_config(${2 * i + 1}, ${2 * i + 2}, false)" for i in range(len(items))
    )
    params: list[object] = [value for pair in items for value in pair]
    return f"/* yeko:configure */ SELECT {calls}", params


def socket_is_healthy(
    conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any],
) -> None:
    """Raise if an idle connection's server went away, without a round trip.

    The pool never LISTENs, so an idle pooled connection is sent nothing but
    the FATAL message a server restart or ``pg_terminate_backend`` writes just
    before closing the socket. Anything readable therefore means the
    connection is dead: it is closed here, so the pool cannot hand it back
    out, and the pool takes another.

    Raises:
        psycopg.OperationalError: the connection is dead; the pool replaces it.
    """
    pgconn = conn.pgconn
    poller = select.poll()  # poll, not select: half the cost on the hot path
    poller.register(pgconn.socket, select.POLLIN)
    if poller.poll(0):
        # Reading the FATAL and waiting for EOF would race the server's close.
        pgconn.finish()
        raise psycopg.OperationalError("the server sent data to an idle connection")


class _Target(Protocol):
    def call(self, runner: Runner, kwargs: Mapping[str, object]) -> Any: ...
    def stream(self, runner: Runner, kwargs: Mapping[str, object]) -> Iterator[Any]: ...


class BoundQuery:
    """A named query bound to a database or transaction: call it with keywords."""

    __slots__ = ("_runner", "_target")

    def __init__(self, runner: Runner, target: _Target) -> None:
        self._runner = runner
        self._target = target

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        return self._runner.query.doc

    @property
    def __name__(self) -> str:
        return self._runner.query.name

    @property
    def query(self) -> Query[Any]:
        """The compiled query this call runs."""
        return self._runner.query

    def __call__(self, /, **kwargs: object) -> Any:
        if self._runner.kind is Kind.STREAM:
            return self._target.stream(self._runner, kwargs)
        return self._target.call(self._runner, kwargs)

    def __repr__(self) -> str:
        return f"<query yeko:{self._runner.qualname} :{self._runner.kind.value}>"


class QueryNamespace:
    """The queries of one ``.sql`` file, as attributes."""

    def __init__(self, name: str, calls: Mapping[str, object]) -> None:
        self._name = name
        self.__dict__.update(calls)

    def __getattr__(self, name: str) -> Any:
        known = ", ".join(k for k in self.__dict__ if not k.startswith("_"))
        raise AttributeError(f"{self._name}: no query named {name!r}; it has {known}")

    def __repr__(self) -> str:
        return f"<namespace {self._name!r}>"


def group_runners(queries: Registry, *, strict: bool) -> dict[str, dict[str, Runner]]:
    """One runner per query, grouped by namespace (shared with the async twin)."""
    grouped: dict[str, dict[str, Runner]] = {}
    for query in queries:
        grouped.setdefault(query.namespace, {})[query.name] = Runner(
            query, strict=strict
        )
    return grouped


def bind_namespace(
    name: str,
    runners: Mapping[str, Runner],
    target: Any,
    cls: type[BoundQuery] = BoundQuery,
) -> QueryNamespace:
    """Bind every query of one namespace to *target* (a database or transaction)."""
    return QueryNamespace(
        name, {q: cls(runner, target) for q, runner in runners.items()}
    )


def check_namespace_name(owner: object, name: str) -> None:
    """Refuse a query file whose name would hide an attribute of *owner*."""
    if hasattr(owner, name):
        raise YekoSqlError(
            f"query file {name!r} clashes with {type(owner).__name__}.{name}; "
            "rename the file"
        )


class SlowLog:
    """Times a transaction and logs it, with the queries it ran, when slow."""

    __slots__ = ("finished", "ran", "start", "threshold_ms")

    def __init__(self, threshold_ms: float) -> None:
        self.threshold_ms = threshold_ms
        self.start = time.perf_counter()
        self.ran: list[str] = []
        self.finished = False

    def finish(self) -> None:
        self.finished = True
        elapsed = (time.perf_counter() - self.start) * 1000
        if elapsed > self.threshold_ms:
            logger.warning(
                "slow transaction: %.0f ms (threshold %.0f ms) ran %s",
                elapsed,
                self.threshold_ms,
                ", ".join(self.ran) or "no named query",
            )


class LazyNamespaces:
    """Binds the database's namespaces to this transaction on first use.

    Shared by ``Transaction`` and ``AsyncTransaction``: most transactions
    touch one or two query files, so binding all of them up front is waste.
    """

    _db: Database | Any
    _log: SlowLog
    connection: Any

    def live(self) -> Any:
        """This transaction's connection, while the transaction lasts.

        Raises:
            YekoSqlError: the ``with`` block has ended; the connection is back
                in the pool and may be serving someone else.
        """
        if self._log.finished:
            raise YekoSqlError(
                "this transaction has ended and its connection went back to the "
                "pool; run the query inside the 'with db.transaction()' block"
            )
        return self.connection

    def __getattr__(self, name: str) -> QueryNamespace:
        runners = self._db.runners.get(name)
        if runners is None or name.startswith("_"):
            raise AttributeError(self._db.missing_namespace(name))
        namespace = self.__dict__[name] = bind_namespace(name, runners, self)
        return namespace


class Transaction(LazyNamespaces):
    """Queries on one connection inside one transaction, as ``tx.<ns>.<query>``."""

    def __init__(
        self, db: Database, conn: psycopg.Connection[Any], log: SlowLog
    ) -> None:
        self._db = db
        self.connection = conn
        self._log = log

    def call(self, runner: Runner, kwargs: Mapping[str, object]) -> Any:
        """Run *runner* on this transaction's connection."""
        self._log.ran.append(runner.qualname)
        return runner.run(self.live(), kwargs)

    def stream(self, runner: Runner, kwargs: Mapping[str, object]) -> Iterator[Any]:
        """Stream *runner*'s rows on this transaction's connection."""
        self._log.ran.append(runner.qualname)
        sql, params = runner.stream_args(kwargs)
        return stream(runner, self.live(), sql, params)

    def execute(self, sql: str, params: list[object] | None = None) -> int:
        """Run one raw statement (``$1`` placeholders); return rows affected."""
        return RawCursor(self.live()).execute(sql, params).rowcount

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A savepoint: roll back to here on an exception, keep the outer work."""
        with self.live().transaction():
            yield self


class Database:
    """Owns one connection pool; every named query is ``db.<namespace>.<query>``.

    Use it as a context manager (or call ``open()``/``close()``) so the pool
    opens and closes with your program.
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
        self.pool: ConnectionPool[psycopg.Connection[Any]] = LifoConnectionPool(
            default_url(url),
            configure=self._configure,
            check=socket_is_healthy,
            name="yeko-sql",
            **pool_options(self.settings),
        )
        for name, runners in self.runners.items():
            check_namespace_name(self, name)
            setattr(self, name, bind_namespace(name, runners, self))

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        configure_statements(conn, self.settings)
        RawCursor(conn).execute(*self._statement)

    def missing_namespace(self, name: str) -> str:
        """The message for an unknown ``db.<name>``."""
        return f"no query file {name!r}; namespaces: {', '.join(sorted(self.runners))}"

    def __getattr__(self, name: str) -> QueryNamespace:
        # Only reached when no namespace of that name was set in __init__.
        raise AttributeError(self.missing_namespace(name))

    # -- lifecycle -----------------------------------------------------------

    def open(self, *, wait: bool = True) -> Database:
        """Open the pool; with *wait*, until ``min_size`` connections are ready."""
        self.pool.open(wait=wait, timeout=self.settings.timeout)
        return self

    def close(self) -> None:
        """Close the pool and every connection in it."""
        self.pool.close()

    def __enter__(self) -> Database:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- running -------------------------------------------------------------

    def call(self, runner: Runner, kwargs: Mapping[str, object]) -> Any:
        """Run *runner* on a pooled connection (the path of ``db.<ns>.<query>``)."""
        # getconn/putconn rather than pool.connection(): no generator per call.
        # The pool lends conn to this call alone, so no lock is taken.
        pool = self.pool
        conn = pool.getconn()
        try:
            return conn.wait(runner.call(conn, kwargs))
        finally:
            pool.putconn(conn)

    def stream(self, runner: Runner, kwargs: Mapping[str, object]) -> Iterator[Any]:
        """Stream *runner*'s rows; the connection is held until the iterator ends.

        Parameters are checked now, not at the first ``next()``.
        """
        sql, params = runner.stream_args(kwargs)
        return self._stream(runner, sql, params)

    def _stream(self, runner: Runner, sql: str, params: list[object]) -> Iterator[Any]:
        with self.pool.connection() as conn:
            yield from stream(runner, conn, sql, params)

    @contextmanager
    def for_school(self, school_id: str) -> Iterator[Transaction]:
        """A transaction scoped to one school by Row-Level Security.

        Sets ``yeko.school_id`` with ``set_config(..., is_local => true)`` (that
        is ``SET LOCAL``), so the scope ends with the transaction and can never
        leak to the next user of the pooled connection. Connected as the
        application role, every school-owned table then shows and accepts only
        that school's rows.
        """
        with self.transaction() as tx:
            conn = tx.connection
            conn.wait(execute(conn, SCOPE_SQL, [school_id]))  # prepared, as queries
            yield tx

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Run several queries on one connection, atomically.

        Commits when the block ends, rolls back on any exception. A
        transaction slower than ``settings.slow_transaction_ms`` is logged with
        the queries it ran.
        """
        log = SlowLog(self.settings.slow_transaction_ms)
        try:
            with self.pool.connection() as conn, conn.transaction():
                yield Transaction(self, conn, log)
        finally:
            log.finish()
