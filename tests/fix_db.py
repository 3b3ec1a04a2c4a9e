"""A fresh, migrated database per test: the yeko_sql.testing plugin's clone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pytest_postgresql.executors.noop import NoopExecutor

from tests.fix_server import ServerInfo
from yeko_sql.query.registry import Registry
from yeko_sql.runtime.database import Database
from yeko_sql.settings import Settings

OpenDb = Callable[..., Database]


@pytest.fixture
def database_url(postgresql_noproc: NoopExecutor, yeko_database_url: str) -> str:
    """The URL of this test's own migrated database (the plugin's clone)."""
    return yeko_database_url


@pytest.fixture
def postgresql(database_url: str) -> Iterator[psycopg.Connection]:
    """A superuser connection to this test's migrated database."""
    conn = psycopg.connect(database_url)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def pg(postgresql: psycopg.Connection) -> psycopg.Connection:
    """An autocommit superuser connection to this test's migrated database."""
    postgresql.autocommit = True
    return postgresql


@pytest.fixture
def empty_database_url(
    pg_server: ServerInfo, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A new database with no schema at all, dropped after the test."""
    name = (
        "empty_"
        + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    )
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield pg_server.url(name)
    finally:
        with psycopg.connect(pg_server.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )


@pytest.fixture
def open_db(database_url: str) -> Iterator[Callable[..., Database]]:
    """Open a ``Database`` on this test's database; closed after the test.

    Default settings unless given: rows are validated as users get them.
    """
    opened: list[Database] = []

    def make(queries: Registry, **settings: Any) -> Database:
        settings.setdefault("min_size", 1)
        db = Database(database_url, queries=queries, settings=Settings(**settings))
        opened.append(db.open())
        return db

    yield make
    for db in opened:
        db.close()
