"""The asyncio twin behaves like ``Database``; run through ``asyncio.run``."""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from tests.test_database import THINGS
from yeko_sql.errors import NoRowError, ParameterError
from yeko_sql.query.loader import load_queries
from yeko_sql.runtime.database_async import AsyncDatabase
from yeko_sql.runtime.pagination import KeysetPage, Page
from yeko_sql.settings import Settings

Scenario = Callable[[AsyncDatabase], Coroutine[Any, Any, None]]


@pytest.fixture
def run(sql_dir: SqlDir, database_url: str) -> Callable[[Scenario], None]:
    sql_dir.write("things.sql", THINGS)
    queries = load_queries(sql_dir.path)

    def runner(scenario: Scenario) -> None:
        async def main() -> None:
            settings = Settings(strict_rows=True, min_size=1)
            async with AsyncDatabase(
                database_url, queries=queries, settings=settings
            ) as adb:
                await scenario(adb)

        asyncio.run(main())

    return runner


def test_every_kind_returns_what_the_sync_twin_returns(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(adb: AsyncDatabase) -> None:
        assert (await adb.things.get_number(n=3)).label == "number 3"
        assert await adb.things.find_number(n=99) is None
        assert [r.n for r in await adb.things.list_numbers(n=3)] == [1, 2, 3]
        assert await adb.things.count_numbers(n=5) == 5
        page = await adb.things.list_number_page(upto=25, page=9, page_size=10)
        assert isinstance(page, Page)
        assert (page.items, page.total) == ([], 25)
        seek = await adb.things.list_numbers_after(after=90, limit=5)
        assert isinstance(seek, KeysetPage)
        assert seek.has_more
        total = 0
        async for row in adb.things.stream_numbers(n=3000):
            total += row.n
        assert total == 3000 * 3001 // 2
        with pytest.raises(NoRowError):
            await adb.things.get_number(n=99)
        with pytest.raises(ParameterError, match="missing parameter 'n'"):
            await adb.things.get_number()

    run(scenario)


def test_transactions_commit_roll_back_and_nest_as_savepoints(
    run: Callable[[Scenario], None], pg: psycopg.Connection
) -> None:
    pg.execute("CREATE TABLE ledger (id int PRIMARY KEY)")

    async def scenario(adb: AsyncDatabase) -> None:
        async with adb.transaction() as tx:
            await tx.execute("INSERT INTO ledger VALUES ($1)", [1])
        with pytest.raises(RuntimeError):
            async with adb.transaction() as tx:
                await tx.execute("INSERT INTO ledger VALUES ($1)", [2])
                raise RuntimeError
        async with adb.transaction() as tx:
            await tx.execute("INSERT INTO ledger VALUES ($1)", [3])
            with pytest.raises(psycopg.errors.UniqueViolation):
                async with tx.transaction() as inner:
                    await inner.execute("INSERT INTO ledger VALUES ($1)", [1])
            assert await tx.things.count_numbers(n=2) == 2

    run(scenario)
    assert [r[0] for r in pg.execute("SELECT id FROM ledger ORDER BY id")] == [1, 3]
