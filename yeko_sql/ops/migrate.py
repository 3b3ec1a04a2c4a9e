"""Apply, roll back, inspect and reconcile yoyo migrations.

yoyo reads the files, orders them by ``-- depends:`` and runs their steps; this
module drives it one level lower than ``backend.apply_migrations`` so that a run
killed at any instant (``kill -9``, a lost machine) leaves nothing to repair by
hand. The rules, and the yoyo internals they rest on (pinned by
``tests/test_migrate.py``):

**One migration, one transaction, one record.** yoyo's own ``apply_one`` commits
a migration's steps, then writes its ``_yoyo_migration`` row in a second
transaction: a kill between the two leaves the schema changed but unrecorded, and
every later run fails on ``DuplicateTable``. Here a transactional migration runs
inside one transaction of ours, opened with yoyo's ``backend.transaction()`` on
the backend's connection: ``Migration.process_steps`` then nests its steps in
savepoints, and the same transaction writes the rows yoyo itself writes
(``backend.mark_one`` into ``_yoyo_migration``, ``backend.log_migration`` into
``_yoyo_log``) and the file's checksum into ``yeko_migration_checksums`` before
it commits. ``yoyo`` itself therefore still sees every migration as applied.

**Non-transactional migrations** (``-- transactional: false``, for
``CREATE INDEX CONCURRENTLY``) cannot share a transaction with their record: they
are recorded, in one transaction, only after every step succeeded and every index
they create is valid. A kill before that leaves them unrecorded, so the next run
runs them again; they must therefore be re-runnable (``IF NOT EXISTS``). An index
left ``NOT indisvalid`` by a cut-short build is found by its name in the
migration's SQL: ``apply`` drops it (``DROP INDEX CONCURRENTLY``) and runs the
migration again, recorded or not, and says so. ``status`` reports any invalid
index, with the migration that builds it.

**The lock** is a PostgreSQL session advisory lock on :data:`LOCK_KEY`, taken
with ``pg_try_advisory_lock`` on the very connection that runs the migrations
and held until it closes. A killed run releases it when its session ends: there
is no row to break. On PostgreSQL 14 and later the session sets
``client_connection_check_interval`` so the server notices a dead client within
a second even in the middle of a long ``CREATE INDEX CONCURRENTLY``, cancels it
and lets the lock go. A second run polls for the lock up to ``lock_timeout``
seconds, then names the holder (backend pid, ``application_name``, since when,
what it runs). yoyo's own ``yoyo_lock`` row is never used; ``break_lock`` only
removes one left by yoyo or an older yeko-sql.

**Checksums** (SHA-256 of the file and its rollback) are written with the
record and forgotten with the un-record, in the same transaction. An applied
migration without one is *unverified*: ``status`` reports it, ``apply`` refuses
to run until ``rehash`` records it explicitly.

**Reconcile** handles a database whose records and schema disagree (for example
an old yoyo run killed between commit and record). It replays every
transactional migration, in order, inside one transaction that is always
rolled back: a migration whose replay fails with a *duplicate object* error has
its effects present; one whose replay succeeds and adds catalog objects has its
effects absent; a recorded one whose replay fails with an *undefined object*
error dropped what it drops. Unrecorded-but-present migrations are recorded;
recorded but absent ones un-recorded; anything else is reported and left alone.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

import msgspec
import psycopg
from yoyo import get_backend, internalmigrations, read_migrations
from yoyo.migrations import topological_sort

from yeko_sql.config import load_config
from yeko_sql.errors import MigrationError

__all__ = [
    "LOCK_KEY",
    "MigrationState",
    "ReconcileAction",
    "RehashReport",
    "apply_migrations",
    "break_lock",
    "invalid_indexes",
    "list_migrations",
    "lock_holder",
    "mark_migrations",
    "migration_status",
    "reconcile_migrations",
    "rehash_migrations",
    "rollback_migrations",
    "yoyo_url",
]

#: The advisory lock key every yeko-sql migration run takes in its database:
#: the bytes ``b"yekomigr"`` as a big-endian bigint. In ``pg_locks`` it shows as
#: ``locktype = 'advisory'``, ``classid = 2036689775``, ``objid = 1835624306``,
#: ``objsubid = 1``.
LOCK_KEY = int.from_bytes(b"yekomigr", "big")

_CHECKSUMS = "yeko_migration_checksums"
_CREATE_CHECKSUMS = f"""
CREATE TABLE IF NOT EXISTS {_CHECKSUMS} (
    migration_id text PRIMARY KEY,
    sha256 text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
)"""
_UPSERT_CHECKSUM = (
    f"INSERT INTO {_CHECKSUMS} (migration_id, sha256) VALUES (%s, %s) "  # noqa: S608
    "ON CONFLICT (migration_id) DO UPDATE SET sha256 = EXCLUDED.sha256, "
    "recorded_at = now()"
)
_FORGET_CHECKSUM = f"DELETE FROM {_CHECKSUMS} WHERE migration_id = %s"  # noqa: S608

_POLL_SECONDS = 0.2
_CHECK_INTERVAL = "1s"
_PG14 = 140000  # the first server with client_connection_check_interval
_CONCURRENT_INDEX = re.compile(
    r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r'("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)',
    re.IGNORECASE,
)
# SQLSTATEs saying "this already exists": a replay that fails with one of them
# meets the effects of an earlier, unrecorded run.
_DUPLICATE_STATES = frozenset({"42P07", "42710", "42701", "42P06", "42723", "42712"})
# ...and "this does not exist": a recorded migration that drops something fails
# its replay with one of them, which is what having run it leaves.
_UNDEFINED_STATES = frozenset({"42P01", "42704", "42703", "42883", "3F000"})
_FINGERPRINT = """
SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_proc),
       (SELECT count(*) FROM pg_type), (SELECT count(*) FROM pg_namespace),
       (SELECT count(*) FROM pg_constraint), (SELECT count(*) FROM pg_policy),
       (SELECT count(*) FROM pg_trigger), (SELECT count(*) FROM pg_extension),
       (SELECT count(*) FROM pg_attribute WHERE attnum > 0 AND NOT attisdropped),
       (SELECT count(*) FROM pg_class WHERE relrowsecurity)"""

Say = Callable[[str], object]

_PARSED_KEPT = 8
_parsed: dict[tuple[str, tuple[tuple[str, int, int], ...]], Any] = {}


def _read(source: str | Path | None) -> Any:
    """yoyo's ``read_migrations`` of *source*, every file parsed, cached.

    *source* None means the app's ``[tool.yeko-sql] migrations`` (a
    ``ConfigError`` when it declares none, never another app's migrations).
    yoyo parses with sqlparse, about 20 ms a file; the cache is keyed by the
    folder and every file's name, size and mtime, so an edit is seen at once.
    """
    folder = Path(source or load_config().require_migrations()).resolve()
    key = (
        str(folder),
        tuple(
            (f.name, f.stat().st_size, f.stat().st_mtime_ns)
            for f in sorted(folder.iterdir())
            if f.is_file()
        ),
    )
    if key not in _parsed:
        migrations = read_migrations(str(folder))
        for m in migrations:
            m.load()
        if len(_parsed) >= _PARSED_KEPT:
            del _parsed[next(iter(_parsed))]
        _parsed[key] = migrations
    return _parsed[key]


def _checkpoint(instant: str, migration_id: str) -> None:
    """A named instant of a run (``applied``, ``recorded``, ``committed``).

    Does nothing; ``tests/migrate_victim.py`` replaces it to kill a run there.
    """


class MigrationState(msgspec.Struct, frozen=True, kw_only=True):
    """One migration as ``yeko-sql migrate status`` shows it."""

    id: str
    applied: bool
    edited: bool
    applied_at: datetime | None
    message: str
    unverified: bool = False
    """Applied, but no checksum was ever recorded for it (``rehash`` records it)."""
    invalid_indexes: tuple[str, ...] = ()
    """Indexes this migration builds that PostgreSQL marks ``NOT indisvalid``."""


class RehashReport(msgspec.Struct, frozen=True, kw_only=True):
    """What ``rehash`` did, migration by migration."""

    recorded: list[str]
    """Applied migrations that had no checksum and now have one."""
    changed: list[str]
    """Applied migrations whose stored checksum was replaced."""
    unchanged: list[str]
    forgotten: list[str]
    """Checksums of migrations that are not applied, removed."""


class ReconcileAction(msgspec.Struct, frozen=True, kw_only=True):
    """What ``reconcile`` does (or, under ``dry_run``, would do) to one migration."""

    id: str
    action: Literal["record", "unrecord", "leave"]
    reason: str


def yoyo_url(url: str) -> str:
    """Return *url* (a URL or a ``key=value`` conninfo) as the
    ``postgresql+psycopg://`` URL yoyo needs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    if "://" in url:
        return url
    params = psycopg.conninfo.conninfo_to_dict(url)
    user = quote(str(params.pop("user", "")), safe="")
    password = params.pop("password", None)
    auth = f"{user}:{quote(str(password), safe='')}@" if password else f"{user}@"
    host = str(params.pop("host", "localhost"))
    port = params.pop("port", None)
    dbname = quote(str(params.pop("dbname", "")), safe="")
    query = f"?{urlencode(params)}" if params else ""
    netloc = f"{auth if user or password else ''}{host}{f':{port}' if port else ''}"
    return f"postgresql+psycopg://{netloc}/{dbname}{query}"


def _checksum(path: str) -> str:
    digest = hashlib.sha256(Path(path).read_bytes())
    rollback = Path(path).with_suffix(".rollback.sql")
    if rollback.is_file():
        digest.update(rollback.read_bytes())
    return digest.hexdigest()


def _redact(url: str) -> str:
    """*url* with any password hidden, whether a URL or a key=value conninfo."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "<database url>"
    if "password" in params:
        params["password"] = "***"  # noqa: S105  (the mask, not a secret)
    return psycopg.conninfo.make_conninfo("", **params)


# -- the lock ---------------------------------------------------------------------

_HOLDER = """
SELECT a.pid, a.application_name, a.backend_start, a.state, left(a.query, 120)
FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid::bigint = %s AND l.objid::bigint = %s
"""


def _describe_holder(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute(_HOLDER, [LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF]).fetchone()
    if row is None:
        return None
    pid, app, since, state, query = row
    return (
        f"backend pid {pid} ({app or 'no application_name'}, connected since "
        f"{since:%Y-%m-%d %H:%M:%S %Z}, {state}: {' '.join(str(query).split())!r})"
    )


def lock_holder(url: str) -> str | None:
    """Describe the session holding the migration lock of *url*'s database, if any."""
    with psycopg.connect(url, autocommit=True) as conn:
        return _describe_holder(conn)


def _set_up_session(conn: psycopg.Connection[Any]) -> None:
    name = f"yeko-sql migrate {os.getpid()}@{socket.gethostname()}"[:63]
    conn.execute("SELECT set_config('application_name', %s, false)", [name])
    if conn.info.server_version >= _PG14:
        conn.execute(
            "SELECT set_config('client_connection_check_interval', %s, false)",
            [_CHECK_INTERVAL],
        )


def _acquire(conn: psycopg.Connection[Any], url: str, lock_timeout: float) -> None:
    deadline = time.monotonic() + lock_timeout
    while True:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()
        if row is not None and row[0]:
            return
        if time.monotonic() >= deadline:
            holder = _describe_holder(conn) or "a session that has just ended"
            raise MigrationError(
                f"{_redact(url)}: migrations are locked by {holder} and the lock was "
                f"not released within {lock_timeout:g}s; wait for that run, or end "
                "it (the lock dies with its session: pg_terminate_backend(pid))"
            )
        time.sleep(_POLL_SECONDS)


@contextmanager
def _session(url: str, lock_timeout: float) -> Iterator[Any]:
    """A yoyo backend whose connection holds the migration lock until it closes."""
    backend = get_backend(yoyo_url(url))
    conn: psycopg.Connection[Any] = backend.connection
    try:
        _set_up_session(conn)
        _acquire(conn, url, lock_timeout)
        if internalmigrations.needs_upgrading(backend):
            # What backend.ensure_internal_schema_updated() does, minus the
            # yoyo_lock row it would take: we already hold the advisory lock.
            internalmigrations.upgrade(backend)
        # yoyo's own flag for "schema checked": spares an information_schema
        # query in every mark_one and get_applied_migration_hashes.
        backend._internal_schema_updated = True
        conn.execute(_CREATE_CHECKSUMS)
        yield backend
    finally:
        conn.close()


def _reset_session(backend: Any) -> None:
    """Undo a migration's session-level SETs; the advisory lock stays held."""
    conn: psycopg.Connection[Any] = backend.connection
    conn.execute("RESET ALL")
    backend.init_connection(conn)
    _set_up_session(conn)


# -- records ------------------------------------------------------------------


def _checksums(conn: psycopg.Connection[Any]) -> dict[str, str]:
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [_CHECKSUMS]).fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute(f"SELECT migration_id, sha256 FROM {_CHECKSUMS}").fetchall()  # noqa: S608
    return dict(rows)


def _applied_hashes(backend: Any) -> set[str]:
    return set(backend.get_applied_migration_hashes())


def _record(backend: Any, migration: Any, operation: str) -> None:
    """Inside the caller's transaction: the rows yoyo writes, and the checksum."""
    backend.mark_one(migration, log=False)
    backend.log_migration(migration, operation)
    backend.connection.execute(
        _UPSERT_CHECKSUM, [migration.id, _checksum(migration.path)]
    )


def _unrecord(backend: Any, migration: Any, operation: str) -> None:
    """Inside the caller's transaction: remove the record and the checksum."""
    backend.unmark_one(migration, log=False)
    backend.log_migration(migration, operation)
    backend.connection.execute(_FORGET_CHECKSUM, [migration.id])


# -- indexes ------------------------------------------------------------------


def _index_names(migration: Any) -> list[str]:
    """Names of the indexes a migration builds with CREATE INDEX CONCURRENTLY."""
    migration.load()
    source = re.sub(r"--[^\n]*", "", str(migration.source))
    return _CONCURRENT_INDEX.findall(source)


def _index_states(
    conn: psycopg.Connection[Any], names: Sequence[str]
) -> dict[str, bool]:
    """``{schema.name: indisvalid}`` for those of *names* that exist."""
    states: dict[str, bool] = {}
    for name in names:
        row = conn.execute(
            "SELECT format('%%I.%%I', n.nspname, c.relname), i.indisvalid"
            " FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid"
            " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE i.indexrelid = to_regclass(%s)",
            [name],
        ).fetchone()
        if row is not None:
            states[row[0]] = row[1]
    return states


def _all_invalid(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT format('%I.%I', n.nspname, c.relname)"
        " FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid"
        " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'pg_toast')"
        " ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def _drop_invalid(backend: Any, migration: Any, say: Say) -> bool:
    """Drop the invalid indexes *migration* builds; return whether there were any."""
    conn: psycopg.Connection[Any] = backend.connection
    invalid = [
        n
        for n, valid in _index_states(conn, _index_names(migration)).items()
        if not valid
    ]
    for name in invalid:
        conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        say(
            f"repair: index {name} of {migration.id} was invalid (a cut-short "
            "CREATE INDEX CONCURRENTLY); dropped it to build it again"
        )
    return bool(invalid)


def _check_indexes(conn: psycopg.Connection[Any], url: str, migration: Any) -> None:
    states = _index_states(conn, _index_names(migration))
    if bad := [name for name, valid in states.items() if not valid]:
        raise MigrationError(
            f"{_redact(url)}: migration {migration.id} left index(es) "
            f"{', '.join(bad)} invalid; run 'yeko-sql migrate apply' again (it drops "
            f"and rebuilds them), or by hand: "
            + "; ".join(f"DROP INDEX CONCURRENTLY {b}" for b in bad)
            + "; then 'yeko-sql migrate apply'"
        )


def invalid_indexes(
    url: str, *, source: str | Path | None = None
) -> list[tuple[str, str | None]]:
    """Every ``NOT indisvalid`` index of *url*: ``(schema.name, migration id)``.

    The migration is the one whose SQL builds an index of that name, or None.
    """
    migrations = _read(source)
    with psycopg.connect(url, autocommit=True) as conn:
        invalid = _all_invalid(conn)
        owners: dict[str, str] = {}
        for m in migrations:
            for name in _index_states(conn, _index_names(m)):
                owners.setdefault(name, m.id)
    return [(name, owners.get(name)) for name in invalid]


# -- apply ----------------------------------------------------------------------


def _refuse_unverifiable(url: str, backend: Any, migrations: Any) -> None:
    recorded = _checksums(backend.connection)
    applied = _applied_hashes(backend)
    done = [m for m in migrations if m.hash in applied]
    if edited := [
        m.id for m in done if m.id in recorded and recorded[m.id] != _checksum(m.path)
    ]:
        raise MigrationError(
            f"{_redact(url)}: applied migration(s) {', '.join(map(repr, edited))} "
            "were edited after they ran; revert the edit and add a new migration, "
            "or run 'yeko-sql migrate rehash' if the change is only cosmetic"
        )
    if unverified := [m.id for m in done if m.id not in recorded]:
        raise MigrationError(
            f"{_redact(url)}: applied migration(s) {', '.join(map(repr, unverified))} "
            "have no recorded checksum (applied by yoyo or an older yeko-sql), so an "
            "edit since they ran cannot be ruled out; check the files match what "
            "ran, then run 'yeko-sql migrate rehash' to record them"
        )


def _apply_one(url: str, backend: Any, migration: Any, say: Say) -> None:
    migration.load()
    if migration.use_transactions:
        try:
            with backend.transaction():
                migration.process_steps(backend, "apply")
                _checkpoint("applied", migration.id)
                _record(backend, migration, "apply")
                _checkpoint("recorded", migration.id)
        except psycopg.Error as exc:
            if exc.sqlstate in _DUPLICATE_STATES:
                exc.add_note(
                    f"migration {migration.id}: its objects already exist, though "
                    "it is not recorded (an old yoyo run killed between commit and "
                    "record?); run 'yeko-sql migrate reconcile --dry-run'"
                )
            raise
        _checkpoint("committed", migration.id)
    else:
        if _drop_invalid(backend, migration, say):
            say(f"repair: running {migration.id} again")
        migration.process_steps(backend, "apply")
        _checkpoint("applied", migration.id)
        _check_indexes(backend.connection, url, migration)
        with backend.transaction():
            _record(backend, migration, "apply")
            _checkpoint("recorded", migration.id)
        _checkpoint("committed", migration.id)
    _reset_session(backend)


def _repair_recorded(url: str, backend: Any, migrations: Any, say: Say) -> None:
    """Rebuild invalid indexes of migrations already recorded as applied."""
    applied = _applied_hashes(backend)
    for m in migrations:
        if m.hash not in applied or m.use_transactions:
            continue
        if _drop_invalid(backend, m, say):
            m.process_steps(backend, "apply")
            _check_indexes(backend.connection, url, m)
            with backend.transaction():
                backend.log_migration(m, "apply")
                backend.connection.execute(_UPSERT_CHECKSUM, [m.id, _checksum(m.path)])
            say(f"repair: ran {m.id} again; its indexes are valid")
            _reset_session(backend)


def apply_migrations(
    url: str,
    *,
    source: str | Path | None = None,
    lock_timeout: float = 60.0,
    say: Say | None = None,
) -> list[str]:
    """Apply every pending migration under *source* to *url*; return their ids.

    A second run is a no-op. Concurrent runs wait for each other's lock up to
    *lock_timeout* seconds. Invalid indexes left by a cut-short
    ``CREATE INDEX CONCURRENTLY`` are dropped and built again; *say* (default:
    nothing) is told each repair.

    Raises:
        MigrationError: the lock was not released in time; an applied
            migration's file was edited since it ran, or has no checksum; an
            index is invalid after the run.
        psycopg.Error: a migration failed (it is rolled back and unrecorded;
            those before it stay applied and recorded).
    """
    tell: Say = say or (lambda _message: None)
    migrations = _read(source)
    with _session(url, lock_timeout) as backend:
        _refuse_unverifiable(url, backend, migrations)
        _repair_recorded(url, backend, migrations, tell)
        applied = _applied_hashes(backend)
        pending = list(topological_sort(m for m in migrations if m.hash not in applied))
        for m in pending:
            _apply_one(url, backend, m, tell)
        if leftover := _all_invalid(backend.connection):
            raise MigrationError(
                f"{_redact(url)}: index(es) {', '.join(leftover)} are invalid and "
                "no migration builds them; drop them ("
                + "; ".join(f"DROP INDEX CONCURRENTLY {name}" for name in leftover)
                + ") or rebuild them with REINDEX INDEX CONCURRENTLY"
            )
    return [m.id for m in pending]


def rollback_migrations(
    url: str,
    *,
    source: str | Path | None = None,
    count: int | None = 1,
    lock_timeout: float = 60.0,
) -> list[str]:
    """Roll back the last *count* applied migrations (all when None).

    Each one's rollback, un-record and checksum removal commit together (a
    non-transactional one is un-recorded after its steps succeed), so a failed
    rollback leaves that migration applied, recorded and checksummed.
    """
    migrations = _read(source)
    with _session(url, lock_timeout) as backend:
        applied = backend.to_rollback(migrations)
        chosen = list(applied if count is None else applied[:count])
        for m in chosen:
            m.load()
            if m.use_transactions:
                with backend.transaction():
                    m.process_steps(backend, "rollback")
                    _unrecord(backend, m, "rollback")
            else:
                m.process_steps(backend, "rollback")
                with backend.transaction():
                    _unrecord(backend, m, "rollback")
            _reset_session(backend)
    return [m.id for m in chosen]


def list_migrations(*, source: str | Path | None = None) -> list[tuple[str, str]]:
    """Return ``(id, message)`` for every migration under *source*, in order."""
    return [(m.id, _message(m)) for m in _read(source)]


def migration_status(
    url: str, *, source: str | Path | None = None
) -> list[MigrationState]:
    """Return every migration under *source*: applied, edited, unverified, invalid.

    Reads only: creates no table and takes no lock.
    """
    migrations = _read(source)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT to_regclass('_yoyo_migration') IS NOT NULL"
        ).fetchone()
        applied_at: dict[str, datetime] = {}
        if row and row[0]:
            applied_at = dict(
                conn.execute(
                    "SELECT migration_id, applied_at_utc FROM _yoyo_migration"
                ).fetchall()
            )
        recorded = _checksums(conn)
        states = []
        for m in migrations:
            applied = m.id in applied_at
            index_states = _index_states(conn, _index_names(m))
            states.append(
                MigrationState(
                    id=m.id,
                    applied=applied,
                    edited=applied
                    and m.id in recorded
                    and recorded[m.id] != _checksum(m.path),
                    unverified=applied and m.id not in recorded,
                    applied_at=applied_at.get(m.id),
                    message=_message(m),
                    invalid_indexes=tuple(
                        n for n, valid in index_states.items() if not valid
                    ),
                )
            )
    return states


def _message(migration: Any) -> str:
    migration.load()
    lines = (migration.module.__doc__ or "").strip().splitlines()
    return lines[0] if lines else ""


def rehash_migrations(
    url: str, *, source: str | Path | None = None, lock_timeout: float = 60.0
) -> RehashReport:
    """Record the current files of applied migrations as their checksums.

    Also forgets checksums of migrations that are not applied. Returns what
    changed, id by id.
    """
    migrations = _read(source)
    with _session(url, lock_timeout) as backend:
        conn: psycopg.Connection[Any] = backend.connection
        before = _checksums(conn)
        applied = _applied_hashes(backend)
        done = [m for m in migrations if m.hash in applied]
        done_ids = {m.id for m in done}
        report = RehashReport(
            recorded=[m.id for m in done if m.id not in before],
            changed=[
                m.id
                for m in done
                if m.id in before and before[m.id] != _checksum(m.path)
            ],
            unchanged=[
                m.id
                for m in done
                if m.id in before and before[m.id] == _checksum(m.path)
            ],
            forgotten=sorted(set(before) - done_ids),
        )
        with conn.transaction():
            for m in done:
                conn.execute(_UPSERT_CHECKSUM, [m.id, _checksum(m.path)])
            for stale in report.forgotten:
                conn.execute(_FORGET_CHECKSUM, [stale])
    return report


# -- reconcile --------------------------------------------------------------------


def _fingerprint(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    row = conn.execute(_FINGERPRINT).fetchone()
    return tuple(row or ())


def _judge_indexes(
    conn: psycopg.Connection[Any], migration: Any, recorded: bool
) -> ReconcileAction | None:
    """A non-transactional migration: un-record it if none of its indexes exist.

    Unrecorded ones are left to ``apply``, which runs them again (they are
    re-runnable) and rebuilds any invalid index.
    """
    names = _index_names(migration)
    if recorded and names and not _index_states(conn, names):
        return ReconcileAction(
            id=migration.id,
            action="unrecord",
            reason=f"recorded, but its index(es) {', '.join(names)} do not exist",
        )
    return None


def _judge_failure(
    migration: Any, recorded: bool, exc: psycopg.Error
) -> ReconcileAction | None:
    """What a failed replay of *migration* says about its effects."""
    why = f"{exc.sqlstate}: {str(exc).splitlines()[0]}"
    if recorded and exc.sqlstate in (_DUPLICATE_STATES | _UNDEFINED_STATES):
        return None  # it created what exists, or dropped what is gone
    if not recorded and exc.sqlstate in _DUPLICATE_STATES:
        return ReconcileAction(
            id=migration.id,
            action="record",
            reason=f"not recorded, but its objects exist (replaying it: {why})",
        )
    return ReconcileAction(
        id=migration.id,
        action="leave",
        reason=f"cannot tell: replaying it fails with {why}; check by hand",
    )


def _judge(backend: Any, migration: Any, recorded: bool) -> ReconcileAction | None:
    """Replay one migration inside the caller's rolled-back transaction."""
    conn: psycopg.Connection[Any] = backend.connection
    if not migration.use_transactions:
        return _judge_indexes(conn, migration, recorded)
    before = _fingerprint(conn)
    try:
        migration.process_steps(backend, "apply")
    except psycopg.Error as exc:
        return _judge_failure(migration, recorded, exc)
    if recorded and _fingerprint(conn) != before:
        return ReconcileAction(
            id=migration.id,
            action="unrecord",
            reason="recorded, but replaying it creates its objects: they are absent",
        )
    return None


def reconcile_migrations(
    url: str,
    *,
    source: str | Path | None = None,
    dry_run: bool = False,
    lock_timeout: float = 60.0,
) -> list[ReconcileAction]:
    """Make the records of *url* agree with its schema; return what was (or would
    be, under *dry_run*) done.

    Every transactional migration is replayed, in order, in one transaction that
    is rolled back: a replay failing with a duplicate-object error means its
    effects are present (an unrecorded one is recorded, with its checksum); a
    replay that succeeds and adds catalog objects means they are absent (a
    recorded one is un-recorded). A recorded non-transactional migration whose
    indexes are all missing is un-recorded. Anything else that does not fit is
    reported as ``leave``, untouched.
    """
    migrations = _read(source)
    actions: list[ReconcileAction] = []
    with _session(url, lock_timeout) as backend:
        applied = _applied_hashes(backend)
        ordered = list(topological_sort(iter(migrations)))
        with backend.transaction(rollback_on_exit=True):
            for m in ordered:
                m.load()
                if (action := _judge(backend, m, m.hash in applied)) is not None:
                    actions.append(action)
        _reset_session(backend)
        by_id = {m.id: m for m in migrations}
        if not dry_run and any(a.action != "leave" for a in actions):
            with backend.transaction():
                for a in actions:
                    if a.action == "record":
                        _record(backend, by_id[a.id], "mark")
                    elif a.action == "unrecord":
                        _unrecord(backend, by_id[a.id], "unmark")
    return actions


def mark_migrations(
    url: str,
    ids: Sequence[str],
    *,
    applied: bool = True,
    source: str | Path | None = None,
    lock_timeout: float = 60.0,
) -> list[str]:
    """Record *ids* as applied (or, with ``applied=False``, as not applied)
    without running them; return those whose record changed.

    For what ``reconcile`` leaves to a person: check the schema by hand, then
    say what is true. Records, log rows and checksums change in one transaction.

    Raises:
        MigrationError: an id names no migration under *source*.
    """
    migrations = _read(source)
    by_id = {m.id: m for m in migrations}
    if unknown := [i for i in ids if i not in by_id]:
        raise MigrationError(
            f"{_redact(url)}: no migration {', '.join(map(repr, unknown))}; "
            "'yeko-sql migrate list' shows the ids"
        )
    with _session(url, lock_timeout) as backend:
        done = _applied_hashes(backend)
        changed = [i for i in ids if (by_id[i].hash in done) != applied]
        with backend.transaction():
            for i in changed:
                if applied:
                    _record(backend, by_id[i], "mark")
                else:
                    _unrecord(backend, by_id[i], "unmark")
    return changed


def break_lock(url: str) -> bool:
    """Remove a legacy ``yoyo_lock`` row; return whether there was one.

    yeko-sql's own lock is an advisory lock that dies with its session, so this
    only clears a row left by yoyo's CLI or a yeko-sql older than that lock.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('yoyo_lock') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return False
        return conn.execute("DELETE FROM yoyo_lock").rowcount > 0
