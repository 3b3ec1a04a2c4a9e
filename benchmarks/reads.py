"""Read workloads: fetch into typed objects, key lookups, throughput."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from psycopg import AsyncRawCursor, RawCursor
from psycopg.rows import class_row
from sqlalchemy import orm

from benchmarks.data import SCHOOL_ID, Sizes
from benchmarks.harness import Group
from benchmarks.peers import Bench, EnrollmentModel
from yeko_sql.yeko.domain.enrollments import Enrollment

__all__ = [
    "enrollment_id",
    "fetch_group",
    "lookup_groups",
    "lookup_ids",
    "throughput_group",
]

S = SCHOOL_ID


def enrollment_id(number: int) -> str:
    """The id ``benchmarks.data`` gave the *number*-th enrollment (1-based)."""
    return "e" + str(number).rjust(20, "0")


def fetch_group(b: Bench, rows: int) -> Group:
    """Fetch *rows* enrollments, every way, into each library's row objects."""
    sql = b.compiled("bench.list_enrollments")
    params = [S, rows]
    text = sa.text(b.source("bench.list_enrollments"))
    orm_query = (
        sa.select(EnrollmentModel)
        .where(EnrollmentModel.school_id == S)
        .order_by(EnrollmentModel.id)
        .limit(rows)
    )

    def core() -> list[Any]:
        with b.engine.connect() as conn:
            return list(conn.execute(text, {"school_id": S, "limit": rows}).all())

    def orm_objects() -> list[EnrollmentModel]:
        with orm.Session(b.engine) as session:
            return list(session.scalars(orm_query).all())

    async def asyncpg_structs() -> list[Enrollment]:
        return [Enrollment(**r) for r in await b.apg.fetch(sql, *params)]

    return Group(
        key=f"fetch_{rows}",
        title=f"fetch {rows:,} rows into objects (ms per fetch)",
        cases={
            "psycopg tuples (floor)": lambda: (
                RawCursor(b.raw).execute(sql, params).fetchall()
            ),
            "psycopg class_row → Struct": lambda: (
                RawCursor(b.raw, row_factory=class_row(Enrollment))
                .execute(sql, params)
                .fetchall()
            ),
            "yeko-sql :many → Struct": lambda: b.db.bench.list_enrollments(
                school_id=S, limit=rows
            ),
            "yeko-sql async :many → Struct": lambda: b.run(
                b.adb.bench.list_enrollments(school_id=S, limit=rows)
            ),
            "aiosql (psycopg) record_class → Struct": lambda: list(
                b.aiosql.list_enrollments(b.plain, school_id=S, limit=rows)
            ),
            "SQLAlchemy Core text() → Row": core,
            "SQLAlchemy ORM → mapped objects": orm_objects,
            "asyncpg → Record": lambda: b.run(b.apg.fetch(sql, *params)),
            "asyncpg → Record → Struct": lambda: b.run(asyncpg_structs()),
        },
    )


def lookup_ids(sizes: Sizes, count: int) -> list[str]:
    """*count* enrollment ids spread evenly over the table."""
    step = max(1, sizes.enrollments // count)
    return [enrollment_id(1 + (i * step) % sizes.enrollments) for i in range(count)]


def lookup_groups(b: Bench, sizes: Sizes) -> list[Group]:
    """One enrollment by primary key, called one after the other: sync, async."""
    ids = lookup_ids(sizes, sizes.lookups)
    sql = b.compiled("enrollments.get_enrollment")
    text = sa.text(b.source("enrollments.get_enrollment"))
    orm_query = sa.select(EnrollmentModel).where(
        EnrollmentModel.id == sa.bindparam("id"),
        EnrollmentModel.school_id == sa.bindparam("school_id"),
    )

    def each(call: Callable[[str], object]) -> Callable[[], None]:
        def loop() -> None:
            for key in ids:
                call(key)

        return loop

    def pooled(key: str) -> object:
        with b.pool.connection() as conn:
            return RawCursor(conn).execute(sql, [key, S], prepare=True).fetchone()

    def aiosql_pooled(key: str) -> object:
        with b.pool.connection() as conn:
            return b.aiosql.get_enrollment(conn, id=key, school_id=S)

    def core(key: str) -> object:
        with b.engine.connect() as conn:
            return conn.execute(text, {"id": key, "school_id": S}).first()

    def orm_get(key: str) -> object:
        with orm.Session(b.engine) as session:
            found = session.execute(orm_query, {"id": key, "school_id": S})
            return found.scalar_one_or_none()

    get = b.db.enrollments.get_enrollment
    find = b.db.bench.find_enrollment
    sync = Group(
        key="lookup",
        title="primary-key lookup, one caller (µs per call)",
        unit="µs",
        scale=1e6,
        per=len(ids),
        cases={
            "psycopg prepared execute, held connection (floor)": each(
                lambda key: b.raw.execute(sql, [key, S], prepare=True).fetchone()
            ),
            "yeko-sql :one through the pool": each(
                lambda key: get(id=key, school_id=S)
            ),
            "yeko-sql :opt, a [[ ]] block left out": each(
                lambda key: find(id=key, school_id=S)
            ),
            "yeko-sql :opt, a [[ ]] block kept": each(
                lambda key: find(id=key, school_id=S, status="confirmed")
            ),
            "psycopg_pool + prepared execute": each(pooled),
            "aiosql (psycopg) ^ → Struct, pooled": each(aiosql_pooled),
            "SQLAlchemy Core text(), pooled": each(core),
            "SQLAlchemy ORM select, new Session": each(orm_get),
        },
    )
    return [sync, _async_lookups(b, ids, sql)]


def _async_lookups(b: Bench, ids: list[str], sql: str) -> Group:
    async def asyncpg_held() -> None:
        stmt = await b.apg.prepare(sql)
        for key in ids:
            await stmt.fetchrow(key, S)

    async def yeko() -> None:
        get = b.adb.enrollments.get_enrollment
        for key in ids:
            await get(id=key, school_id=S)

    async def psycopg_held() -> None:
        for key in ids:
            cur = await b.araw.execute(sql, [key, S], prepare=True)
            await cur.fetchone()

    async def psycopg_pool() -> None:
        for key in ids:
            async with b.apool.connection() as conn:
                cur = AsyncRawCursor(conn)
                await cur.execute(sql, [key, S], prepare=True)
                await cur.fetchone()

    async def asyncpg_pool() -> None:
        for key in ids:
            await b.apg_pool.fetchrow(sql, key, S)

    return Group(
        key="lookup_async",
        title="primary-key lookup, asyncio, one caller (µs per call)",
        unit="µs",
        scale=1e6,
        per=len(ids),
        cases={
            "asyncpg prepared fetchrow, held connection (floor)": lambda: b.run(
                asyncpg_held()
            ),
            "yeko-sql AsyncDatabase :one through the pool": lambda: b.run(yeko()),
            "psycopg async prepared execute, held connection": lambda: b.run(
                psycopg_held()
            ),
            "psycopg_pool async + prepared execute": lambda: b.run(psycopg_pool()),
            "asyncpg pool fetchrow": lambda: b.run(asyncpg_pool()),
        },
    )


@contextmanager
def throughput_group(b: Bench, sizes: Sizes, callers: int) -> Iterator[Group]:
    """Lookups from *callers* threads or tasks sharing one pool of ``POOL``."""
    ids = lookup_ids(sizes, sizes.concurrent_calls)
    shares = [ids[i::callers] for i in range(callers)]
    sql = b.compiled("enrollments.get_enrollment")
    text = sa.text(b.source("enrollments.get_enrollment"))
    get, aget = b.db.enrollments.get_enrollment, b.adb.enrollments.get_enrollment

    def raw_pool(keys: list[str]) -> None:
        for key in keys:
            with b.pool.connection() as conn:
                RawCursor(conn).execute(sql, [key, S], prepare=True).fetchone()

    def yeko(keys: list[str]) -> None:
        for key in keys:
            get(id=key, school_id=S)

    def core(keys: list[str]) -> None:
        for key in keys:
            with b.engine.connect() as conn:
                conn.execute(text, {"id": key, "school_id": S}).first()

    async def ayeko(keys: list[str]) -> None:
        for key in keys:
            await aget(id=key, school_id=S)

    async def apsycopg(keys: list[str]) -> None:
        for key in keys:
            async with b.apool.connection() as conn:
                cur = AsyncRawCursor(conn)
                await cur.execute(sql, [key, S], prepare=True)
                await cur.fetchone()

    async def asyncpg_pool(keys: list[str]) -> None:
        for key in keys:
            await b.apg_pool.fetchrow(sql, key, S)

    with ThreadPoolExecutor(max_workers=callers) as threads:

        def threaded(work: Callable[[list[str]], None]) -> Callable[[], None]:
            def go() -> None:
                for done in [threads.submit(work, share) for share in shares]:
                    done.result()

            return go

        def tasks(work: Callable[[list[str]], Any]) -> Callable[[], None]:
            async def go() -> None:
                await asyncio.gather(*(work(share) for share in shares))

            return lambda: b.run(go())

        yield Group(
            key=f"throughput_{callers}",
            title=f"lookups from {callers} concurrent callers (calls per second)",
            unit="calls/s",
            per=len(ids),
            rate=True,
            max_rounds=5,
            cases={
                "psycopg_pool, threads (floor)": threaded(raw_pool),
                "yeko-sql Database, threads": threaded(yeko),
                "SQLAlchemy Core, threads": threaded(core),
                "asyncpg pool, tasks": tasks(asyncpg_pool),
                "yeko-sql AsyncDatabase, tasks": tasks(ayeko),
                "psycopg_pool async, tasks": tasks(apsycopg),
            },
        )
