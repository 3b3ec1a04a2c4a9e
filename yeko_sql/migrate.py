"""Apply, roll back and inspect yoyo migrations, with a lock and edit detection.

A thin layer over yoyo's Python API: yoyo reads the files, orders them by
``-- depends:``, runs each in a transaction (or not, for
``-- transactional: false``) and holds a lock row while it works. This module
adds an explicit lock timeout, a clear message when a killed run left its lock
behind, and a checksum of every applied file, because yoyo does not notice an
applied migration whose file was later edited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import msgspec
import psycopg
from yoyo import exceptions as yoyo_exceptions
from yoyo import get_backend, read_migrations

from yeko_sql.errors import MigrationError
from yeko_sql.resources import migrations_dir

__all__ = [
    "MigrationState",
    "apply_migrations",
    "break_lock",
    "list_migrations",
    "migration_status",
    "rehash_migrations",
    "rollback_migrations",
    "yoyo_url",
]

_CHECKSUMS = "yeko_migration_checksums"
_CREATE_CHECKSUMS = f"""
CREATE TABLE IF NOT EXISTS {_CHECKSUMS} (
    migration_id text PRIMARY KEY,
    sha256 text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
)"""


class MigrationState(msgspec.Struct, frozen=True, kw_only=True):
    """One migration as ``yeko-sql migrate status`` shows it."""

    id: str
    applied: bool
    edited: bool
    applied_at: datetime | None
    message: str


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


@contextmanager
def _locked(url: str, lock_timeout: float) -> Iterator[Any]:
    backend = get_backend(yoyo_url(url))
    try:
        with backend.lock(timeout=lock_timeout):
            yield backend
    except yoyo_exceptions.LockTimeout as exc:
        holder = _lock_holder(url)
        raise MigrationError(
            f"{_redact(url)}: migrations are locked by {holder} and the lock was "
            f"not released within {lock_timeout:g}s; if no migration is running "
            "(a killed run leaves its lock), run 'yeko-sql migrate break-lock'"
        ) from exc
    finally:
        backend.connection.close()


def _redact(url: str) -> str:
    """*url* with any password hidden, whether a URL or a key=value conninfo."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "<database url>"
    if "password" in params:
        params["password"] = "***"  # noqa: S105  (the mask, not a secret)
    return psycopg.conninfo.make_conninfo("", **params)


def _lock_holder(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pid, ctime FROM yoyo_lock LIMIT 1").fetchone()
    return (
        f"process {row[0]} (since {row[1]:%Y-%m-%d %H:%M:%S} UTC)"
        if row
        else "another run"
    )


def _recorded(url: str) -> dict[str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_CREATE_CHECKSUMS)
        rows = conn.execute(f"SELECT migration_id, sha256 FROM {_CHECKSUMS}").fetchall()  # noqa: S608
    return dict(rows)


def _record(url: str, migrations: Any) -> None:
    rows = [(m.id, _checksum(m.path)) for m in migrations]
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {_CHECKSUMS} (migration_id, sha256) VALUES (%s, %s) "  # noqa: S608
            "ON CONFLICT (migration_id) DO UPDATE SET sha256 = EXCLUDED.sha256, "
            "recorded_at = now()",
            rows,
        )


def _forget(url: str, ids: list[str]) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(f"DELETE FROM {_CHECKSUMS} WHERE migration_id = ANY(%s)", [ids])  # noqa: S608


def _edited(url: str, backend: Any, migrations: Any) -> list[str]:
    recorded = _recorded(url)
    return [
        m.id
        for m in migrations
        if backend.is_applied(m)
        and m.id in recorded
        and recorded[m.id] != _checksum(m.path)
    ]


def apply_migrations(
    url: str, *, source: str | Path | None = None, lock_timeout: float = 60.0
) -> list[str]:
    """Apply every pending migration under *source* to *url*; return their ids.

    A second run is a no-op. Concurrent runs wait for each other's lock up to
    *lock_timeout* seconds.

    Raises:
        MigrationError: the lock was not released in time, or an applied
            migration's file was edited since it ran.
    """
    migrations = read_migrations(str(source or migrations_dir()))
    with _locked(url, lock_timeout) as backend:
        if edited := _edited(url, backend, migrations):
            raise MigrationError(
                f"{_redact(url)}: applied migration(s) {', '.join(map(repr, edited))} "
                "were edited after they ran; revert the edit and add a new migration, "
                "or run 'yeko-sql migrate rehash' if the change is only cosmetic"
            )
        pending = backend.to_apply(migrations)
        try:
            backend.apply_migrations(pending)
        finally:
            # Record what did apply even when a later migration failed, so an
            # edit to those files is still caught on the next run.
            _record(url, [m for m in migrations if backend.is_applied(m)])
    return [m.id for m in pending]


def rollback_migrations(
    url: str,
    *,
    source: str | Path | None = None,
    count: int | None = 1,
    lock_timeout: float = 60.0,
) -> list[str]:
    """Roll back the last *count* applied migrations (all when None)."""
    migrations = read_migrations(str(source or migrations_dir()))
    with _locked(url, lock_timeout) as backend:
        applied = backend.to_rollback(migrations)
        chosen = applied if count is None else applied[:count]
        backend.rollback_migrations(chosen)
        ids = [m.id for m in chosen]
        _forget(url, ids)
    return ids


def list_migrations(*, source: str | Path | None = None) -> list[tuple[str, str]]:
    """Return ``(id, message)`` for every migration under *source*, in order."""
    return [
        (m.id, _message(m)) for m in read_migrations(str(source or migrations_dir()))
    ]


def migration_status(
    url: str, *, source: str | Path | None = None
) -> list[MigrationState]:
    """Return every migration under *source*: applied or not, edited or not."""
    migrations = read_migrations(str(source or migrations_dir()))
    backend = get_backend(yoyo_url(url))
    try:
        backend.ensure_internal_schema_updated()
        applied_at = {
            row[0]: row[1]
            for row in backend.execute(
                "SELECT migration_id, applied_at_utc FROM _yoyo_migration"
            ).fetchall()
        }
        recorded = _recorded(url)
        return [
            MigrationState(
                id=m.id,
                applied=m.id in applied_at,
                edited=m.id in recorded and recorded[m.id] != _checksum(m.path),
                applied_at=applied_at.get(m.id),
                message=_message(m),
            )
            for m in migrations
        ]
    finally:
        backend.connection.close()


def _message(migration: Any) -> str:
    migration.load()
    lines = (migration.module.__doc__ or "").strip().splitlines()
    return lines[0] if lines else ""


def rehash_migrations(url: str, *, source: str | Path | None = None) -> list[str]:
    """Accept the current files of applied migrations as their new checksums."""
    migrations = read_migrations(str(source or migrations_dir()))
    with _locked(url, 60.0) as backend:
        applied = [m for m in migrations if backend.is_applied(m)]
        _record(url, applied)
    return [m.id for m in applied]


def break_lock(url: str) -> bool:
    """Remove a lock left by a killed run; return whether there was one."""
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('yoyo_lock') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return False
        return conn.execute("DELETE FROM yoyo_lock").rowcount > 0
