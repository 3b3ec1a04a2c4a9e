"""The session's PostgreSQL: our devserver on tmpfs, or YEKO_TEST_DATABASE_URL.

pytest-postgresql's ``postgresql_proc`` cannot run as root, so the server comes
from ``yeko_sql.ops.devserver`` (as ``postgres`` through ``runuser`` when root) and
``postgresql_noproc`` fills a template database with the migrations once;
``tests.fix_db`` clones it for every test.

The devserver wants every role's password (SCRAM). The suite derives a role's
URL from an owner's URL by swapping only the user (``make_conninfo(url,
user=...)``, and ``tests.fix_db`` hands out URLs with the password libpq
used), so in this session every login role is given the owner's password
(``DevServer.set_password``) once the migrations made the roles.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
from pytest_postgresql.executors.noop import NoopExecutor
from pytest_postgresql.factories import postgresql_noproc as noproc_factory

from tests.fix_coverage import record_coverage, remember_server
from yeko_sql.ops.devserver import DevServer
from yeko_sql.ops.migrate import apply_migrations


class ServerInfo(msgspec.Struct, frozen=True, kw_only=True):
    """How tests reach the session server."""

    host: str
    port: int
    user: str
    password: str | None
    dbname: str
    devserver: DevServer | None

    def url(self, dbname: str | None = None) -> str:
        """A URL for *dbname* (the maintenance database by default)."""
        return psycopg.conninfo.make_conninfo(
            "",
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname or self.dbname,
        )


def _tmpfs() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Iterator[ServerInfo]:
    """Start the session server or use YEKO_TEST_DATABASE_URL."""
    devserver = None
    if url := os.environ.get("YEKO_TEST_DATABASE_URL"):
        params = psycopg.conninfo.conninfo_to_dict(url)
        info = ServerInfo(
            host=str(params.get("host", "127.0.0.1")),
            port=int(str(params.get("port", 5432))),
            user=str(params.get("user", "postgres")),
            password=str(params["password"]) if params.get("password") else None,
            dbname=str(params.get("dbname", "postgres")),
            devserver=None,
        )
    else:
        root = tempfile.mkdtemp(prefix="yeko-test-", dir=_tmpfs())
        # Coverage reads every test database's statements: keep them all.
        devserver = DevServer(
            root, fsync=False, settings={"pg_stat_statements.max": "50000"}
        )
        devserver.start()
        info = ServerInfo(
            host="127.0.0.1",
            port=devserver.port or 0,
            user="postgres",
            password=devserver.password(),
            dbname="postgres",
            devserver=devserver,
        )
    remember_server(request.config, info.url())
    option = request.config.option
    option.postgresql_host = info.host
    option.postgresql_port = info.port
    option.postgresql_user = info.user
    option.postgresql_password = info.password
    try:
        yield info
    finally:
        record_coverage(request.config)
        if devserver is not None:
            devserver.destroy()


def apply_schema(**kwargs: Any) -> None:
    """pytest-postgresql loader: migrate the template database."""
    url = psycopg.conninfo.make_conninfo(
        "",
        host=kwargs["host"],
        port=kwargs["port"],
        user=kwargs["user"],
        password=kwargs.get("password"),
        dbname=kwargs["dbname"],
    )
    apply_migrations(url)


yeko_template = noproc_factory(load=[apply_schema])


@pytest.fixture(scope="session")
def postgresql_noproc(
    pg_server: ServerInfo, request: pytest.FixtureRequest
) -> NoopExecutor:
    """The migrated template, filled once per session after the server is up.

    The migrations made the application's roles: each login role gets the
    owner's password now, and so does ``yeko_test_owner``, which test_tenancy
    creates when missing (as a DBA would, without a password) and logs in as.
    """
    executor: NoopExecutor = request.getfixturevalue("yeko_template")
    if (devserver := pg_server.devserver) is not None:
        with psycopg.connect(pg_server.url(), autocommit=True) as conn:
            conn.execute(
                "DO $$ BEGIN CREATE ROLE yeko_test_owner LOGIN NOSUPERUSER"
                " NOBYPASSRLS; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
            rows = conn.execute(
                "SELECT rolname FROM pg_roles"
                " WHERE rolcanlogin AND rolname <> current_user ORDER BY rolname"
            ).fetchall()
        for (role,) in rows:
            devserver.set_password(role, devserver.password())
    return executor
