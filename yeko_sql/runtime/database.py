"""``Database``: one psycopg pool, every named query as an attribute.

``db.schools.get_school(id=...)`` borrows an autocommit connection, runs one
statement (one round trip: no BEGIN/COMMIT) and gives the connection back.
``with db.transaction() as tx:`` runs several queries on one connection and
rolls back on any exception. A ``transaction()`` or ``for_school()`` opened
inside another one (in the same thread or task) is a savepoint of it, on the
same connection; ``tx.transaction()`` is one explicitly.

A caller cancelled while borrowing, using or returning a connection costs
the pool nothing; an interrupt (``KeyboardInterrupt``) is covered where
psycopg_pool leaves it open (``lifo``), as far as Python code can be.
"""

from __future__ import annotations

import logging
import os
import select
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

import psycopg
from psycopg import RawCursor
from psycopg_pool import ConnectionPool, PoolTimeout

from yeko_sql.errors import ScopeError, TransactionClosedError, YekoSqlError
from yeko_sql.query.compiler import Query
from yeko_sql.query.kinds import Kind
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.runtime._executor import Runner
from yeko_sql.runtime._libpq import prepare_on, was_reset
from yeko_sql.runtime._pool import LifoConnectionPool, give_back
from yeko_sql.runtime._scope import (
    Outcome,
    Session,
    begin,
    end,
    enter_school,
    is_broken,
    leave_school,
    release,
    rollback_to,
    savepoint,
)
from yeko_sql.runtime.adapters import shared_adapters
from yeko_sql.runtime.replica import (
    LSN_NOW,
    REPLAYED,
    ReadToken,
    ReplicaBreaker,
    consistent_reads_block,
    reads_token,
    replayed_enough,
)
from yeko_sql.runtime.streams import stream
from yeko_sql.settings import Settings

__all__ = ["Database", "QueryNamespace", "Transaction"]

logger = logging.getLogger("yeko_sql")


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
        # Every pooled connection: autocommit (one round trip per call),
        # keepalives and the shared adapters. Named queries are prepared by
        # ``statements`` (see ``prepare_on``), so psycopg's own preparing
        # stays off.
        "kwargs": {
            "autocommit": True,
            "prepare_threshold": None,
            "context": shared_adapters(),
            **settings.connection_options(),
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


AnyConn = psycopg.Connection[Any] | psycopg.AsyncConnection[Any]


class Sessions:
    """What both twins do to every pooled connection, worked out once.

    ``prepare`` (a new connection) sets up named queries as the settings
    say; ``Session.setup_sql``, unless behind a transaction pooler, sets the
    session settings. ``stale`` tells a connection whose session was reset
    under it (``DISCARD ALL``: the server forgot yeko's statements, or
    ``application_name`` changed), so the pool's check configures it again.
    """

    __slots__ = ("application_name", "session", "settings", "setup_sql")

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.session = Session(settings)
        self.setup_sql = self.session.setup_sql
        self.application_name = settings.application_name.encode()

    def prepare(self, conn: AnyConn) -> None:
        """Set up *conn*'s prepared statements (no round trip)."""
        prepare_on(
            conn,
            # Behind a transaction pooler a statement prepared in one
            # transaction may be missing in the next: run them unnamed.
            threshold=None if self.session.pooled else self.settings.prepare_threshold,
            limit=self.settings.prepared_max,
        )

    def stale(self, conn: AnyConn) -> bool:
        """Whether *conn*'s session settings must be set again."""
        if self.setup_sql is None:
            return False
        if was_reset(conn):
            return True
        return (
            conn.pgconn.parameter_status(b"application_name") != self.application_name
        )


def socket_is_healthy(conn: AnyConn) -> None:
    """Raise if an idle connection's server went away, without a round trip.

    The pool never LISTENs, so an idle pooled connection is sent nothing but
    the FATAL message a server restart or ``pg_terminate_backend`` writes just
    before closing the socket. Anything readable therefore means the
    connection is dead: it is closed here, so the pool cannot hand it back
    out, and the pool takes another. A connection whose peer vanished without
    a word (a NAT, a failover) is caught by the keepalives and
    ``tcp_user_timeout`` of ``Settings.connection_options`` instead.

    Raises:
        psycopg.OperationalError: the connection is dead; the pool replaces it.
    """
    pgconn = conn.pgconn
    if _readable(pgconn.socket):
        # Reading the FATAL and waiting for EOF would race the server's close.
        pgconn.finish()
        raise psycopg.OperationalError("the server sent data to an idle connection")


def _poll_readable(fd: int) -> bool:
    poller = select.poll()  # poll, not select: half the cost on the hot path
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _select_readable(fd: int) -> bool:
    # Windows has no poll(); select() takes sockets there.
    return bool(select.select([fd], [], [], 0)[0])


_readable: Callable[[int], bool] = (
    _poll_readable if hasattr(select, "poll") else _select_readable
)


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
    Also holds what both twins know of one transaction: its connection, its
    school, whether a raw statement may have left state on the session, and
    the outcome of its COMMIT.
    """

    _db: Database | Any
    _log: SlowLog
    connection: Any
    school_id: str | None
    dirty: bool
    outcome: Outcome
    savepoints: int

    def _start(self, db: Any, conn: Any, log: SlowLog) -> None:
        self._db = db
        self.connection = conn
        self._log = log
        self.school_id = None
        self.dirty = False
        self.outcome = Outcome()
        self.savepoints = 0

    @property
    def ended(self) -> bool:
        """Whether the ``with`` block has ended (the connection went back)."""
        return self._log.finished

    def live(self) -> Any:
        """This transaction's connection, while the transaction lasts.

        Raises:
            TransactionClosedError: the ``with`` block has ended; the
                connection is back in the pool and may be serving someone else.
        """
        if self._log.finished:
            raise TransactionClosedError(
                "this transaction has ended and its connection went back to the "
                "pool; run the query (or read the stream) inside the "
                "'with db.transaction()' block"
            )
        return self.connection

    @property
    def commit_unknown(self) -> bool:
        """Whether COMMIT was sent and nobody knows if it went through.

        True after the connection failed, or the caller was interrupted
        twice, while COMMIT was on its way: the transaction may have
        committed, so running it again may do it twice.
        """
        return self.outcome.unknown

    def __getattr__(self, name: str) -> QueryNamespace:
        runners = self._db.runners.get(name)
        if runners is None or name.startswith("_"):
            raise AttributeError(self._db.missing_namespace(name))
        namespace = self.__dict__[name] = bind_namespace(name, runners, self)
        return namespace


def savepoint_name(tx: LazyNamespaces) -> str:
    """The next savepoint's name in *tx* (counted, so nesting never clashes)."""
    tx.savepoints += 1
    return f"yeko_savepoint_{tx.savepoints}"


def commit_note(exc: BaseException, outcome: Outcome) -> None:
    """Say on an interrupt that reached COMMIT whether the transaction committed."""
    if outcome.committed:
        exc.add_note("yeko_sql: the transaction had committed before this")
    elif outcome.unknown:
        exc.add_note(
            "yeko_sql: COMMIT was sent and its outcome is unknown; check before "
            "running the transaction again"
        )


def school_mismatch(current: str, wanted: str) -> ScopeError:
    """The error for ``for_school(wanted)`` inside ``for_school(current)``."""
    return ScopeError(
        f"for_school({wanted!r}) inside for_school({current!r}): one transaction "
        "cannot act for two schools; end the outer block first, or open the "
        "inner one in another thread or task"
    )


class Transaction(LazyNamespaces):
    """Queries on one connection inside one transaction, as ``tx.<ns>.<query>``."""

    def __init__(
        self, db: Database, conn: psycopg.Connection[Any], log: SlowLog
    ) -> None:
        self._start(db, conn, log)

    def call(self, runner: Runner, kwargs: Mapping[str, object]) -> Any:
        """Run *runner* on this transaction's connection."""
        self._log.ran.append(runner.qualname)
        return runner.run(self.live(), kwargs)

    def stream(self, runner: Runner, kwargs: Mapping[str, object]) -> Iterator[Any]:
        """Stream *runner*'s rows on this transaction's connection.

        Each fetch checks that the transaction is still open: a stream read
        after its block raises ``TransactionClosedError``.
        """
        self._log.ran.append(runner.qualname)
        sql, params = runner.stream_args(kwargs)
        return stream(runner, self.live(), sql, params, live=self.live)

    def execute(self, sql: str, params: list[object] | None = None) -> int:
        """Run one raw statement (``$1`` placeholders); return rows affected.

        Whatever it leaves on the session (a setting, a role, a temporary
        table) is cleared when the transaction commits, before the
        connection goes back to the pool.
        """
        conn = self.live()
        self.dirty = True
        return RawCursor(conn).execute(sql, params).rowcount

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A savepoint: roll back to here on an exception, keep the outer work."""
        conn = self.live()
        name = savepoint_name(self)
        conn.wait(savepoint(conn, name))
        try:
            yield self
        except BaseException as exc:
            if not self.ended and not is_broken(conn):
                conn.wait(rollback_to(conn, name))
            if isinstance(exc, psycopg.Rollback):
                return
            raise
        conn.wait(release(self.live(), name))


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
        read_url: str | None = None,
    ) -> None:
        """Open nothing yet; *queries* default to the app's ``[tool.yeko-sql]``.

        With *read_url* (a replica, or a multi-host URL with
        ``target_session_attrs=prefer-standby``), queries marked ``-- replica:
        ok`` called on the database run on a second pool there
        (``yeko_sql.runtime.replica``).

        Raises:
            ConfigError: no *queries* given and no ``[tool.yeko-sql]`` declares
                ``sql``.
        """
        self.settings = settings or Settings()
        self.queries = queries if queries is not None else load_queries()
        self.runners = group_runners(self.queries, strict=self.settings.strict_rows)
        self._sessions = Sessions(self.settings)
        self._session = self._sessions.session
        self._current: ContextVar[Transaction | None] = ContextVar(
            "yeko_sql_transaction", default=None
        )
        self.pool: ConnectionPool[psycopg.Connection[Any]] = LifoConnectionPool(
            default_url(url),
            configure=self._configure,
            check=self._check,
            name="yeko-sql",
            **pool_options(self.settings),
        )
        self.read_pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._breaker = ReplicaBreaker(self.settings.replica_retry_s)
        if read_url is not None:
            self.read_pool = LifoConnectionPool(
                read_url,
                configure=self._configure,
                check=self._check,
                name="yeko-sql-read",
                **pool_options(self.settings),
            )
        for name, runners in self.runners.items():
            check_namespace_name(self, name)
            setattr(self, name, bind_namespace(name, runners, self))

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        self._sessions.prepare(conn)
        if self._sessions.setup_sql is not None:
            RawCursor(conn).execute(self._sessions.setup_sql)

    def _check(self, conn: psycopg.Connection[Any]) -> None:
        socket_is_healthy(conn)
        if self._sessions.stale(conn):
            logger.info("session settings were reset on %s: setting them again", conn)
            self._configure(conn)

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
        if self.read_pool is not None:
            self.read_pool.open(wait=False)  # a replica down must not stop us
        return self

    def close(self) -> None:
        """Close the pools and every connection in them."""
        self.pool.close()
        if self.read_pool is not None:
            self.read_pool.close()

    def __enter__(self) -> Database:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- running -------------------------------------------------------------

    def call(self, runner: Runner, kwargs: Mapping[str, object]) -> Any:
        """Run *runner* on a pooled connection (the path of ``db.<ns>.<query>``)."""
        # getconn/putconn rather than pool.connection(): no generator per call.
        # The pool lends conn to this call alone, so no lock is taken. Nothing
        # between getconn's return and the ``try`` can be interrupted (no
        # signal handler runs there); the pool covers its own inside.
        if self.read_pool is not None:
            return self._call_routed(runner, kwargs)
        pool = self.pool
        conn = pool.getconn()
        try:
            return conn.wait(runner.call(conn, kwargs))
        finally:
            give_back(pool, conn)

    def _call_routed(self, runner: Runner, kwargs: Mapping[str, object]) -> Any:
        """With a read pool: replica reads there; a write's position recorded."""
        held = reads_token.get()
        if runner.query.replica:
            done, result = self._on_replica(runner, kwargs, held)
            if done:
                return result
        pool = self.pool
        conn = pool.getconn()
        try:
            result = conn.wait(runner.call(conn, kwargs))
            if held is not None and not runner.query.replica:
                held.advance(_lsn_now(conn))
            return result
        finally:
            give_back(pool, conn)

    def _on_replica(
        self, runner: Runner, kwargs: Mapping[str, object], held: ReadToken | None
    ) -> tuple[bool, Any]:
        """Run a replica read; (False, None): read the primary instead."""
        pool = self.read_pool
        if pool is None or not self._breaker.allow():
            return False, None
        try:
            conn = pool.getconn(timeout=self.settings.replica_connect_timeout)
        except PoolTimeout:
            self._breaker.trip(f"no replica connection: {runner.qualname}")
            return False, None
        try:
            if held is not None and held.lsn is not None:
                caught_up, waited = replayed_enough(
                    lambda lsn: _replayed(conn, lsn),
                    held.lsn,
                    self.settings.replica_wait_ms,
                )
                held.waited_ms.append(waited)
                if not caught_up:
                    held.fell_back += 1
                    return False, None
            result = conn.wait(runner.call(conn, kwargs))
        except psycopg.OperationalError:
            if not is_broken(conn):
                raise
            self._breaker.trip(f"the replica failed: {runner.qualname}")
            return False, None
        else:
            self._breaker.reset()
            return True, result
        finally:
            give_back(pool, conn)

    @contextmanager
    def consistent_reads(self, token: str | None = None) -> Iterator[ReadToken]:
        """Replica reads in this block see this block's writes (read-your-writes).

        Each write call records the primary's WAL position after it; each
        ``-- replica: ok`` read waits until the replica replayed it, at most
        ``settings.replica_wait_ms``, then reads the primary. *token*
        (``write_token()``, from another request) seeds the position.

        Raises:
            ValueError: *token* is not a WAL position.
        """
        with consistent_reads_block(token) as held:
            yield held

    def write_token(self) -> str:
        """The primary's WAL position now: reads carrying it see every write so far."""
        pool = self.pool
        conn = pool.getconn()
        try:
            return _lsn_now(conn)
        finally:
            give_back(pool, conn)

    def stream(self, runner: Runner, kwargs: Mapping[str, object]) -> Iterator[Any]:
        """Stream *runner*'s rows; the connection is held until the iterator ends.

        Parameters are checked now, not at the first ``next()``.
        """
        sql, params = runner.stream_args(kwargs)
        return self._stream(runner, sql, params)

    def _stream(self, runner: Runner, sql: str, params: list[object]) -> Iterator[Any]:
        pool = self.pool
        conn = pool.getconn()
        try:
            yield from stream(runner, conn, sql, params)
        finally:
            give_back(pool, conn)

    @contextmanager
    def for_school(self, school_id: str) -> Iterator[Transaction]:
        """A transaction scoped to one school by Row-Level Security.

        Sets ``yeko.school_id`` with ``set_config(..., is_local => true)`` (that
        is ``SET LOCAL``), so the scope ends with the transaction and can never
        leak to the next user of the pooled connection. Connected as the
        application role, every school-owned table then shows and accepts only
        that school's rows.

        Inside another ``transaction()`` or ``for_school()`` of this database
        (same thread), it is a savepoint of that transaction: for the same
        school, or scoping an unscoped transaction until the block ends. A
        different school than the enclosing scope's is refused.

        Raises:
            RowSecurityError: row-level security does not apply on this
                connection (a superuser or the owner): the scope would be a lie.
            ScopeError: nested in a scope of another school.
        """
        outer = self._current.get()
        if outer is not None and not outer.ended:
            with self._nested_school(outer, school_id) as tx:
                yield tx
            return
        with self._transaction(school_id) as tx:
            yield tx

    @contextmanager
    def _nested_school(
        self, outer: Transaction, school_id: str
    ) -> Iterator[Transaction]:
        if outer.school_id is not None and outer.school_id != school_id:
            raise school_mismatch(outer.school_id, school_id)
        with outer.transaction():
            if outer.school_id is not None:
                yield outer
                return
            conn = outer.connection
            conn.wait(enter_school(conn, self._session, school_id))
            outer.school_id = school_id
            try:
                yield outer
            finally:
                outer.school_id = None
            conn.wait(leave_school(outer.live(), ""))

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Run several queries on one connection, atomically.

        Commits when the block ends, rolls back on any exception. Inside
        another ``transaction()`` or ``for_school()`` of this database (same
        thread), it is a savepoint of that transaction instead. A transaction
        slower than ``settings.slow_transaction_ms`` is logged with the
        queries it ran.

        An interrupt (``KeyboardInterrupt``) that arrives while COMMIT is on
        its way propagates with a note saying whether the transaction had
        committed.
        """
        outer = self._current.get()
        if outer is not None and not outer.ended:
            with outer.transaction() as tx:
                yield tx
            return
        with self._transaction(None) as tx:
            yield tx

    @contextmanager
    def _transaction(self, school_id: str | None) -> Iterator[Transaction]:
        log = SlowLog(self.settings.slow_transaction_ms)
        session = self._session
        pool = self.pool
        conn = pool.getconn()
        try:
            tx = Transaction(self, conn, log)
            token = self._current.set(tx)
            try:
                conn.wait(begin(conn, session))
                if school_id is not None:
                    conn.wait(enter_school(conn, session, school_id))
                    tx.school_id = school_id
                yield tx
            except BaseException as exc:
                log.finished = True
                if not is_broken(conn):
                    try:
                        conn.wait(end(conn, session, commit=False, dirty=False))
                    except Exception:
                        logger.warning("rollback failed on %s", conn, exc_info=True)
                if isinstance(exc, psycopg.Rollback):
                    return  # ``raise Rollback``: roll back quietly, as psycopg does
                raise
            finally:
                self._current.reset(token)
            log.finished = True
            try:
                conn.wait(
                    end(conn, session, commit=True, dirty=tx.dirty, outcome=tx.outcome)
                )
            except BaseException as exc:
                commit_note(exc, tx.outcome)
                raise
            if self.read_pool is not None and (held := reads_token.get()) is not None:
                held.advance(_lsn_now(conn))
        finally:
            try:
                give_back(pool, conn)  # first: an interrupt in the log loses nothing
            finally:
                log.finish()


def _lsn_now(conn: psycopg.Connection[Any]) -> str:
    row = RawCursor(conn).execute(LSN_NOW).fetchone()
    return str(row[0]) if row else ""


def _replayed(conn: psycopg.Connection[Any], lsn: str) -> bool:
    row = RawCursor(conn).execute(REPLAYED, [lsn]).fetchone()
    return bool(row and row[0])
