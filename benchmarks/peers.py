"""The contestants, connected to one database: yeko-sql and each peer.

Every peer runs the same SQL text: yeko-sql's compiled ``$n`` form for raw
psycopg and asyncpg, the ``:name`` form as written for aiosql and
SQLAlchemy ``text()``. Each is configured as a performance-minded user
would: autocommit connections, pools of ``POOL`` connections, prepared
statements where the library offers them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosql
import asyncpg  # type: ignore[import-untyped]
import psycopg
import sqlalchemy as sa
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from sqlalchemy import orm

from yeko_sql import AsyncDatabase, Database, Settings, load_queries
from yeko_sql.ops.migrate import yoyo_url
from yeko_sql.query.registry import Registry
from yeko_sql.yeko.domain.enrollments import Enrollment
from yeko_sql.yeko.resources import sql_dir

__all__ = [
    "POOL",
    "Bench",
    "EnrollmentModel",
    "asyncpg_url",
    "registry",
    "sqlalchemy_url",
]

POOL = 8
"""Connections in every pool (sync and async, every library)."""

T = TypeVar("T")

BENCH_SQL = Path(__file__).with_name("bench.sql")

# aiosql's operation suffix for each query it runs (aiosql's own file format).
_AIOSQL = {
    "bench.list_enrollments": "",
    "enrollments.get_enrollment": "^",
    "students.upsert_students": "!",
    "students.update_student_status": "!",
}
_AIOSQL_INSERT = """
-- name: insert_bench_students*!
INSERT INTO bench_students (school_id, matricule, first_name, last_name, birth_date,
                            gender, status, id)
VALUES (:school_id, :matricule, :first_name, :last_name, :birth_date, :gender,
        :status, :id);
"""


class Base(orm.DeclarativeBase):
    """The SQLAlchemy ORM's declarative base for the benchmark's one model."""


class EnrollmentModel(Base):
    """The ``enrollments`` table as an ORM class (SQLAlchemy's typed path)."""

    __tablename__ = "enrollments"
    id: orm.Mapped[str] = orm.mapped_column(primary_key=True)
    school_id: orm.Mapped[str]
    student_id: orm.Mapped[str]
    class_id: orm.Mapped[str]
    school_year_id: orm.Mapped[str]
    status: orm.Mapped[str]
    enrolled_at: orm.Mapped[datetime]
    confirmed_at: orm.Mapped[datetime | None]
    cancelled_at: orm.Mapped[datetime | None]
    created_at: orm.Mapped[datetime]
    updated_at: orm.Mapped[datetime]


def registry() -> Registry:
    """Yeko's bundled queries plus the benchmark's ``bench`` namespace."""
    return load_queries([sql_dir(), BENCH_SQL], models=["yeko_sql.yeko.domain"])


def aiosql_text(queries: Registry) -> str:
    """The queries aiosql runs, in aiosql's file format, same SQL bodies."""
    parts = []
    for name, op in _AIOSQL.items():
        query = queries[name]
        spec = f"{query.name}({', '.join(query.params)}){op}"
        record = "\n-- record_class: Enrollment" if "enrollments" in name else ""
        parts.append(f"-- name: {spec}{record}\n{query.sql}\n")
    return "\n".join(parts) + _AIOSQL_INSERT


def sqlalchemy_url(url: str) -> str:
    """*url* (a URL or a ``key=value`` conninfo) for SQLAlchemy's psycopg dialect."""
    return yoyo_url(url)  # the same postgresql+psycopg:// form yoyo wants


def asyncpg_url(url: str) -> str:
    """*url* (a URL or a ``key=value`` conninfo) as the URL asyncpg wants."""
    return "postgresql://" + yoyo_url(url).split("://", 1)[1]


class Bench:
    """Every contestant, connected; a context manager that closes them all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.queries = registry()
        self.loop = asyncio.new_event_loop()
        self._stack = ExitStack()
        settings = Settings(min_size=POOL, max_size=POOL)
        self.db = Database(url, queries=self.queries, settings=settings)
        self.adb = AsyncDatabase(url, queries=self.queries, settings=settings)
        self.aiosql: Any = aiosql.from_str(
            aiosql_text(self.queries),
            "psycopg",
            record_classes={"Enrollment": Enrollment},
        )
        self.engine = sa.create_engine(
            sqlalchemy_url(url),
            pool_size=POOL,
            max_overflow=0,
            isolation_level="AUTOCOMMIT",
        )

    def compiled(self, name: str) -> str:
        """yeko-sql's compiled (``$n``) SQL of query *name*, as psycopg runs it."""
        return self.queries[name].compiled

    def source(self, name: str) -> str:
        """Query *name*'s SQL as written (``:name`` parameters)."""
        return self.queries[name].sql

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run *coro* on the benchmark's one event loop."""
        return self.loop.run_until_complete(coro)

    def __enter__(self) -> Bench:
        stack = self._stack
        url = self.url
        self.raw = stack.enter_context(
            psycopg.connect(url, autocommit=True, cursor_factory=psycopg.RawCursor)
        )
        self.plain = stack.enter_context(psycopg.connect(url, autocommit=True))
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url, min_size=POOL, max_size=POOL, kwargs={"autocommit": True}, open=False
        )
        self.pool.open(wait=True)
        stack.callback(self.pool.close)
        self.db.open()
        stack.callback(self.db.close)
        stack.callback(self.engine.dispose)
        self.students = sa.Table("students", sa.MetaData(), autoload_with=self.engine)
        self.bench_students = sa.Table(
            "bench_students", sa.MetaData(), autoload_with=self.engine
        )
        self.run(self._open_async())
        stack.callback(self.loop.close)
        stack.callback(lambda: self.run(self._close_async()))
        return self

    async def _open_async(self) -> None:
        url = self.url
        self.araw = await psycopg.AsyncConnection.connect(
            url, autocommit=True, cursor_factory=psycopg.AsyncRawCursor
        )
        self.apool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = (
            AsyncConnectionPool(
                url,
                min_size=POOL,
                max_size=POOL,
                kwargs={"autocommit": True},
                open=False,
            )
        )
        await self.apool.open(wait=True)
        await self.adb.open()
        self.apg = await asyncpg.connect(asyncpg_url(url))
        self.apg_pool = await asyncpg.create_pool(
            asyncpg_url(url), min_size=POOL, max_size=POOL
        )

    async def _close_async(self) -> None:
        await self.apg_pool.close()
        await self.apg.close()
        await self.adb.close()
        await self.apool.close()
        await self.araw.close()

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()
