"""Transactions and school scopes as libpq steps, shared by both twins.

``Database`` and ``AsyncDatabase`` open, end and nest transactions with the
generators here, driven by ``Connection.wait`` or ``AsyncConnection.wait``,
as named queries are (``statements``). Owning BEGIN and COMMIT, rather than
psycopg's ``Connection.transaction()``, is what lets a transaction:

- set its timeouts and ``application_name`` with ``SET LOCAL`` behind a
  transaction pooler, in the BEGIN's round trip;
- clear what a raw statement left on the session (a setting, a role, a
  temporary table) in the COMMIT's round trip, before the connection goes
  back to the pool;
- know whether its COMMIT went through when the caller was cancelled or
  interrupted while waiting for it (``Outcome``);
- refuse to report a commit when the server rolled back instead.
"""

from __future__ import annotations

from typing import Any

from psycopg import errors, pq
from psycopg.abc import PQGen
from psycopg.generators import execute as pq_execute

from yeko_sql.errors import RowSecurityError
from yeko_sql.runtime._libpq import AnyConnection, execute
from yeko_sql.settings import Settings

__all__ = [
    "SCOPE_SETTING",
    "Outcome",
    "Session",
    "begin",
    "end",
    "enter_school",
    "is_broken",
    "leave_school",
    "release",
    "rollback_to",
    "savepoint",
    "set_configs",
]

SCOPE_SETTING = "yeko.school_id"
"""The setting Row-Level Security policies read the current school from."""

_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)

# Everything DISCARD ALL clears but the prepared statements (and the plans
# they cache), so named queries stay prepared. Each of these may run inside a
# transaction block, where a pooler in transaction mode needs them.
_RESET = (
    b"CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; "
    b"SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES"
)

# The tables whose row-level security policies read the school setting.
_SCOPED_TABLES = (
    "/* yeko:scope.tables */ SELECT coalesce(array_agg(DISTINCT polrelid), '{}') "
    "FROM pg_catalog.pg_policy "
    "WHERE pg_catalog.pg_get_expr(polqual, polrelid) LIKE $1 "
    "OR pg_catalog.pg_get_expr(polwithcheck, polrelid) LIKE $1"
)
_ENTER = (
    "/* yeko:scope */ SELECT set_config('yeko.school_id', $1, true), "
    "coalesce(bool_and(row_security_active(t)), false) FROM unnest($2::oid[]) AS t"
)
_LEAVE = "/* yeko:scope.leave */ SELECT set_config('yeko.school_id', $1, true)"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def set_configs(settings: Settings, *, local: bool) -> bytes:
    """One ``SELECT set_config(...)`` of every session setting, as literals."""
    calls = ", ".join(
        f"set_config({_literal(name)}, {_literal(value)}, {str(local).lower()})"
        for name, value in settings.session_settings().items()
    )
    return f"SELECT {calls}".encode()


class Session:
    """How one database's connections begin, end and scope transactions."""

    __slots__ = ("begin_sql", "pooled", "reset_sql", "scoped_tables", "setup_sql")

    def __init__(self, settings: Settings) -> None:
        self.pooled = settings.pooler == "transaction"
        # Behind a transaction pooler nothing may stay on the session, so the
        # settings go with every transaction; otherwise each new connection
        # runs setup_sql once, and RESET ALL must put them back.
        self.begin_sql = (
            b"BEGIN; " + set_configs(settings, local=True) if self.pooled else b"BEGIN"
        )
        self.setup_sql = None if self.pooled else set_configs(settings, local=False)
        self.reset_sql = _RESET
        if self.setup_sql is not None:
            self.reset_sql += b"; " + self.setup_sql
        self.scoped_tables: list[int] | None = None


class Outcome:
    """Whether a transaction's COMMIT went through, once the server said so.

    psycopg's ``wait`` answers a cancellation or an interrupt by cancelling
    the statement on the server and reading its result to the end before it
    raises; the generator records that result here, so the caller can tell
    a commit that happened from one that did not.
    """

    __slots__ = ("committed", "refused", "sent")

    def __init__(self) -> None:
        self.sent = False
        self.committed = False
        self.refused = False  # the server answered COMMIT with an error

    @property
    def unknown(self) -> bool:
        """COMMIT was sent and no answer came back: it may have committed."""
        return self.sent and not self.committed and not self.refused


def _simple(conn: AnyConnection, sql: bytes) -> PQGen[list[Any]]:
    """Run *sql* (one or more statements, no parameters) in one round trip."""
    pgconn = conn.pgconn
    pgconn.send_query(sql)
    results: list[Any] = yield from pq_execute(pgconn)
    for result in results:
        if result.status not in _OK:
            raise errors.error_from_result(result, encoding=conn.info.encoding)
    return results


def begin(conn: AnyConnection, session: Session) -> PQGen[None]:
    """BEGIN, with the settings behind a transaction pooler."""
    yield from _simple(conn, session.begin_sql)


def end(
    conn: AnyConnection,
    session: Session,
    *,
    commit: bool,
    dirty: bool,
    outcome: Outcome | None = None,
) -> PQGen[None]:
    """COMMIT or ROLLBACK, clearing the session first when *dirty*.

    A rolled-back transaction takes its settings, roles and temporary tables
    with it, so only a commit needs the reset. A commit the server turns into
    a rollback (the transaction had failed) raises rather than pass for one.

    Raises:
        psycopg.errors.InFailedSqlTransaction: COMMIT found the transaction
            aborted by an earlier error, and rolled it back.
    """
    pgconn = conn.pgconn
    if not commit or pgconn.transaction_status == pq.TransactionStatus.INERROR:
        failed = commit
        yield from _simple(conn, b"ROLLBACK")
        if failed:
            raise errors.InFailedSqlTransaction(
                "the transaction was aborted by an earlier error and has been "
                "rolled back; nothing was committed"
            )
        return
    sql = session.reset_sql + b"; COMMIT" if dirty else b"COMMIT"
    if outcome is not None:
        outcome.sent = True
    try:
        results = yield from _simple(conn, sql)
    except errors.Error as exc:
        if outcome is not None and exc.sqlstate and not is_broken(conn):
            # An answer on a live connection: the transaction did not commit.
            # A connection that died with it (even with a FATAL's SQLSTATE)
            # leaves the outcome unknown.
            outcome.refused = True
        raise
    if results[-1].command_status != b"COMMIT":
        raise errors.InFailedSqlTransaction(
            "the server rolled the transaction back instead of committing it"
        )
    if outcome is not None:
        outcome.committed = True


def savepoint(conn: AnyConnection, name: str) -> PQGen[None]:
    """``SAVEPOINT name``."""
    yield from _simple(conn, f"SAVEPOINT {name}".encode())


def release(conn: AnyConnection, name: str) -> PQGen[None]:
    """``RELEASE SAVEPOINT name``: keep what was done since."""
    yield from _simple(conn, f"RELEASE SAVEPOINT {name}".encode())


def rollback_to(conn: AnyConnection, name: str) -> PQGen[None]:
    """Undo what was done since the savepoint, and drop it."""
    yield from _simple(
        conn, f"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}".encode()
    )


def enter_school(
    conn: AnyConnection, session: Session, school_id: str
) -> PQGen[None]:
    """Scope the open transaction to *school_id*; refuse where RLS is off.

    One round trip (after the first, which finds the tables whose policies
    read the setting): ``set_config(..., is_local => true)`` and
    ``row_security_active`` of each of those tables.

    Raises:
        RowSecurityError: row-level security does not apply to this role on
            some scoped table (a superuser, ``BYPASSRLS``, or the owner of a
            table without ``FORCE ROW LEVEL SECURITY``), or no table has a
            policy reading the setting.
    """
    if not school_id:
        raise RowSecurityError(
            f"for_school needs a school id, got {school_id!r}; pass the school's id"
        )
    tables = session.scoped_tables
    if tables is None:
        _, tx = yield from execute(conn, _SCOPED_TABLES, [f"%{SCOPE_SETTING}%"])
        tables = session.scoped_tables = list(tx.load_row(0, tuple)[0])
    if not tables:
        raise RowSecurityError(
            f"no row-level security policy reads {SCOPE_SETTING!r} in this "
            "database, so for_school would scope nothing; apply the migrations "
            "that enable it"
        )
    _, tx = yield from execute(conn, _ENTER, [school_id, tables])
    active = tx.load_row(0, tuple)[1]
    if not active:
        user = conn.info.parameter_status("session_authorization") or "?"
        raise RowSecurityError(
            f"row-level security does not apply to role {user!r} on this "
            "connection (a superuser, a BYPASSRLS role or a table owner without "
            "FORCE ROW LEVEL SECURITY), so for_school would see every school; "
            "connect as the application role (yeko-sql server url prints its URL)"
        )


def leave_school(conn: AnyConnection, previous: str) -> PQGen[None]:
    """Put the setting back as it was before a nested ``for_school``."""
    yield from execute(conn, _LEAVE, [previous])


def is_broken(conn: AnyConnection) -> bool:
    """Whether *conn* can no longer run anything (closed or lost)."""
    return conn.closed or conn.pgconn.status != pq.ConnStatus.OK

