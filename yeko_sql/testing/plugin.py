"""The fixtures ``yeko_database_url``, ``yeko_db``, ``yeko_adb`` and what they need.

One PostgreSQL per session: the local devserver on tmpfs with fsync off (run as
``postgres`` through ``runuser`` when pytest runs as root), or the server
``YEKO_TEST_DATABASE_URL`` names. The app's ``[tool.yeko-sql] migrations`` are
applied once, to a template database; each test that asks gets a clone of it
(pytest-postgresql's ``DatabaseJanitor``, about 30 ms on tmpfs), dropped after
the test. The fixtures, bottom up:

- ``yeko_config`` (session): the app's ``[tool.yeko-sql]``, found from pytest's
  rootdir upward (or ``YEKO_SQL_CONFIG``);
- ``yeko_server_settings`` (session): extra ``postgresql.conf`` settings for the
  devserver, ``{}``; override it in a conftest to change them;
- ``yeko_server`` (session): a :class:`SessionServer`;
- ``yeko_template`` (session): the name of the migrated template database;
- ``yeko_queries`` (session): the app's queries (``sql`` and ``models``);
- ``yeko_database_url``: this test's own migrated database, as the owner;
- ``yeko_db``: an open ``Database`` on it, with ``strict_rows=True``;
- ``yeko_adb``: an ``AsyncDatabase`` on it, with ``strict_rows=True``, not yet
  open: ``async with yeko_adb as adb:`` in the test's own event loop.

This module loads in every pytest session of an environment where yeko-sql is
installed (the ``pytest11`` entry point), so it imports only pytest and the
standard library: psycopg, pytest-postgresql and the toolkit's layers are
imported by the fixtures that use them, and a missing optional dependency fails
only a test that asks for a database, with the command that installs it.
"""

# Imports inside functions are the point: see the docstring above.
# ruff: noqa: PLC0415

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from pytest_postgresql.janitor import DatabaseJanitor

    from yeko_sql.config import Config
    from yeko_sql.ops.devserver import DevServer
    from yeko_sql.query.registry import Registry
    from yeko_sql.runtime.database import Database
    from yeko_sql.runtime.database_async import AsyncDatabase

__all__ = [
    "TEST_URL_ENV",
    "SessionServer",
    "yeko_adb",
    "yeko_config",
    "yeko_database_url",
    "yeko_db",
    "yeko_queries",
    "yeko_server",
    "yeko_server_settings",
    "yeko_template",
]

TEST_URL_ENV = "YEKO_TEST_DATABASE_URL"
"""A superuser URL of a server to test on instead of starting the devserver."""

_WHERE = "yeko_sql.testing"
_TEMPLATE_SUFFIX = "_tmpl"  # pytest-postgresql's NoopExecutor names its template so
_INSTALL = "pip install 'yeko-sql[testing]'"


@dataclass(frozen=True, kw_only=True)
class SessionServer:
    """The session's PostgreSQL: where it listens and its superuser.

    ``devserver`` is the local server the session started, or ``None`` when
    ``YEKO_TEST_DATABASE_URL`` named one.
    """

    host: str
    port: int
    user: str
    password: str | None
    dbname: str
    devserver: DevServer | None

    def url(self, dbname: str | None = None) -> str:
        """A superuser URL of *dbname* (the maintenance database by default)."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            "",
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname or self.dbname,
        )


def _fail(message: str) -> NoReturn:
    """End the test with *message* alone: no traceback, no chained exception."""
    raise pytest.fail.Exception(message, pytrace=False) from None


def _tmpfs() -> str | None:
    shm = Path("/dev/shm")  # noqa: S108  (a throwaway cluster, on purpose)
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _external(url: str) -> SessionServer:
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
        port = int(str(params.get("port") or 5432))
    except (ProgrammingError, ValueError) as exc:
        _fail(f"{TEST_URL_ENV}: not a PostgreSQL URL ({exc}); give a superuser's URL")
    return SessionServer(
        host=str(params.get("host") or "127.0.0.1"),
        port=port,
        user=str(params.get("user") or "postgres"),
        password=str(params["password"]) if params.get("password") else None,
        dbname=str(params.get("dbname") or "postgres"),
        devserver=None,
    )


def _janitor(
    server: SessionServer,
    dbname: str,
    *,
    template: str | None = None,
    as_template: bool = False,
) -> DatabaseJanitor:
    try:
        from pytest_postgresql.janitor import DatabaseJanitor
    except ImportError:
        _fail(
            f"{_WHERE}: pytest-postgresql is not installed, and the test databases "
            f"are made with it; {_INSTALL}"
        )
    return DatabaseJanitor(
        user=server.user,
        host=server.host,
        port=server.port,
        password=server.password,
        dbname=dbname,
        template_dbname=template,
        maintenance_dbname=server.dbname,
        as_template=as_template,
    )


def _folder(config: Config, key: str, declared: Path | None) -> Path:
    """A folder *key* of ``[tool.yeko-sql]`` names, or one clear failure."""
    if config.path is None:
        _fail(
            f"{_WHERE}: no pyproject.toml from pytest's rootdir upward declares "
            "[tool.yeko-sql], which names the migrations and queries the test "
            "databases are built from; add the table (docs/testing.md), or set "
            "YEKO_SQL_CONFIG to the pyproject.toml that has it"
        )
    if declared is None:
        _fail(
            f"{config.path}: [tool.yeko-sql] declares no {key!r}, which the "
            f'{_WHERE} fixtures need; add {key} = "<folder>" there'
        )
    if not declared.is_dir():
        _fail(
            f"{config.path}: [tool.yeko-sql] {key} is {str(declared)!r}, which is "
            "not a folder; point it at the folder, relative to that file"
        )
    return declared


@pytest.fixture(scope="session")
def yeko_config(request: pytest.FixtureRequest) -> Config:
    """The app's ``[tool.yeko-sql]``, from pytest's rootdir upward."""
    from yeko_sql.config import load_config
    from yeko_sql.errors import ConfigError

    try:
        return load_config(start=request.config.rootpath)
    except ConfigError as exc:
        _fail(str(exc))


@pytest.fixture(scope="session")
def yeko_server_settings() -> dict[str, str]:
    """Extra ``postgresql.conf`` settings for the session's devserver: none."""
    return {}


@pytest.fixture(scope="session")
def yeko_server(yeko_server_settings: dict[str, str]) -> Iterator[SessionServer]:
    """The session's PostgreSQL: ``YEKO_TEST_DATABASE_URL``, else a devserver.

    The devserver lives on tmpfs (``/dev/shm``) with fsync off and is deleted
    at the end of the session.
    """
    if url := os.environ.get(TEST_URL_ENV):
        yield _external(url)
        return
    from yeko_sql.errors import DevServerError
    from yeko_sql.ops.devserver import OWNER_USER, DevServer

    folder = tempfile.mkdtemp(prefix="yeko-test-", dir=_tmpfs())
    devserver = DevServer(folder, fsync=False, settings=yeko_server_settings)
    try:
        devserver.start()
    except DevServerError as exc:
        with contextlib.suppress(DevServerError):
            devserver.destroy()
        shutil.rmtree(folder, ignore_errors=True)  # made above, still empty
        _fail(f"{_WHERE}: {exc}; or set {TEST_URL_ENV} to a server of your own")
    try:
        yield SessionServer(
            host="127.0.0.1",
            port=devserver.port or 0,
            user=OWNER_USER,
            password=devserver.password(),
            dbname="postgres",
            devserver=devserver,
        )
    finally:
        devserver.destroy()


@pytest.fixture(scope="session")
def yeko_template(yeko_server: SessionServer, yeko_config: Config) -> Iterator[str]:
    """The template database, migrated once from ``[tool.yeko-sql] migrations``.

    Named after the app's ``database`` (``blog_test_tmpl``), as
    pytest-postgresql names a template, so a ``NoopExecutor`` of
    ``blog_test`` describes it too.
    """
    import psycopg

    from yeko_sql.errors import YekoSqlError
    from yeko_sql.ops.migrate import apply_migrations

    folder = _folder(yeko_config, "migrations", yeko_config.migrations)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    base = f"{yeko_config.database or 'app'}_test{worker}"
    template = base + _TEMPLATE_SUFFIX
    janitor = _janitor(yeko_server, template, as_template=True)
    janitor.drop()  # left by a session that was killed
    with janitor:
        try:
            apply_migrations(yeko_server.url(template), source=folder)
        except (YekoSqlError, psycopg.Error) as exc:
            _fail(f"{folder}: the migrations fail on an empty database: {exc}")
        yield template


@pytest.fixture(scope="session")
def yeko_queries(yeko_config: Config) -> Registry:
    """The app's queries, loaded once: ``[tool.yeko-sql] sql`` and ``models``."""
    from yeko_sql.errors import YekoSqlError
    from yeko_sql.query.loader import load_queries

    if not yeko_config.sql:
        _folder(yeko_config, "sql", None)
    try:
        return load_queries(yeko_config.sql, models=yeko_config.models)
    except (YekoSqlError, FileNotFoundError) as exc:
        _fail(str(exc))


@pytest.fixture
def yeko_database_url(yeko_server: SessionServer, yeko_template: str) -> Iterator[str]:
    """This test's own database, cloned from the template; the owner's URL.

    Another role's URL: ``yeko_sql.ops.serverurl.role_url(yeko_database_url,
    role)`` (on the devserver it carries the role's password).
    """
    name = yeko_template.removesuffix(_TEMPLATE_SUFFIX)
    janitor = _janitor(yeko_server, name, template=yeko_template)
    janitor.drop()  # left by a test that was killed
    with janitor:
        yield yeko_server.url(name)


@pytest.fixture
def yeko_db(yeko_database_url: str, yeko_queries: Registry) -> Iterator[Database]:
    """An open ``Database`` on this test's database; rows checked strictly."""
    from yeko_sql.runtime.database import Database
    from yeko_sql.settings import Settings

    settings = Settings(strict_rows=True, min_size=1)
    with Database(yeko_database_url, queries=yeko_queries, settings=settings) as db:
        yield db


@pytest.fixture
def yeko_adb(yeko_database_url: str, yeko_queries: Registry) -> AsyncDatabase:
    """An ``AsyncDatabase`` on this test's database; rows checked strictly.

    Not open yet: a pool belongs to one event loop, and the test runs its own
    (``asyncio.run``, or an async plugin), so open it there with
    ``async with yeko_adb as adb:``.
    """
    from yeko_sql.runtime.database_async import AsyncDatabase
    from yeko_sql.settings import Settings

    settings = Settings(strict_rows=True, min_size=1)
    return AsyncDatabase(yeko_database_url, queries=yeko_queries, settings=settings)
