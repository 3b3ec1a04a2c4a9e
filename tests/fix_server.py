"""The session's PostgreSQL and migrated template, from the yeko_sql.testing plugin.

The plugin starts the devserver on tmpfs (as ``postgres`` through ``runuser``
when root), or uses ``YEKO_TEST_DATABASE_URL``, and migrates a template once
(``yeko_template``); ``tests.fix_db`` hands out its per-test clones. This
module adds what only this suite needs: query coverage reads the server's
``pg_stat_statements``, and every login role gets the owner's password.

The devserver wants every role's password (SCRAM). The suite derives a role's
URL from an owner's URL by swapping only the user (``make_conninfo(url,
user=...)``, and ``tests.fix_db`` hands out URLs with the owner's password),
so in this session every login role is given the owner's password
(``DevServer.set_password``) once the migrations made the roles.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from pytest_postgresql.executors.noop import NoopExecutor

from tests.fix_coverage import record_coverage, remember_server
from yeko_sql.testing import SessionServer

ServerInfo = SessionServer
"""How tests reach the session server (the plugin's ``yeko_server``)."""


@pytest.fixture(scope="session")
def pg_server(
    yeko_server: SessionServer, request: pytest.FixtureRequest
) -> Iterator[ServerInfo]:
    """The plugin's session server, its statements read for query coverage."""
    remember_server(request.config, yeko_server.url())
    try:
        yield yeko_server
    finally:
        record_coverage(request.config)


@pytest.fixture(scope="session")
def postgresql_noproc(pg_server: ServerInfo, yeko_template: str) -> NoopExecutor:
    """The migrated template, as pytest-postgresql describes one; roles ready.

    The migrations made the application's roles: each login role gets the
    owner's password now, and so does ``yeko_test_owner``, which test_tenancy
    creates when missing (as a DBA would, without a password) and logs in as.
    """
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
    return NoopExecutor(
        host=pg_server.host,
        port=pg_server.port,
        user=pg_server.user,
        password=pg_server.password,
        options="",
        dbname=yeko_template.removesuffix("_tmpl"),
        maintenance_dbname=pg_server.dbname,
    )
