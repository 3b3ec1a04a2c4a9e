"""``retry``: real deadlocks and write skews, run again until both sides succeed."""

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg.errors import DeadlockDetected, SerializationFailure, UniqueViolation

from tests.fix_db import OpenDb
from tests.fix_sqlfiles import SqlDir
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.runtime.database import Database, Transaction
from yeko_sql.runtime.database_async import AsyncDatabase, AsyncTransaction
from yeko_sql.runtime.retry import backoff_delay, retry, retry_async
from yeko_sql.settings import Settings

BANK = """
-- name: lock_account :scalar
-- Lock one account row until the transaction ends.
SELECT balance
FROM accounts
WHERE id = :id
FOR UPDATE;

-- name: add_to_account :execrows
-- Move money into one account.
UPDATE accounts
SET balance = balance + :amount
WHERE id = :id;

-- name: count_on_call :scalar
-- Doctors on call (the invariant: at least one).
SELECT count(*)
FROM doctors
WHERE on_call;

-- name: update_doctor_off_call :execrows
-- Take one doctor off call.
UPDATE doctors
SET on_call = false
WHERE id = :id;

-- name: insert_account :execrows
-- A new account (a unique violation when it exists).
INSERT INTO accounts (id, balance)
VALUES (:id, 0);
"""

# Deadlocks are found after deadlock_timeout (1 s by default): make it quick.
FAST_DEADLOCK = "SET LOCAL deadlock_timeout = '50ms'"


@pytest.fixture
def bank(pg: psycopg.Connection, sql_dir: SqlDir) -> Registry:
    pg.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
    pg.execute("INSERT INTO accounts VALUES (1, 100), (2, 100)")
    pg.execute("CREATE TABLE doctors (id int PRIMARY KEY, on_call bool NOT NULL)")
    pg.execute("INSERT INTO doctors VALUES (1, true), (2, true)")
    sql_dir.write("bank.sql", BANK)
    return load_queries(sql_dir.path)


def run_both(*targets: Callable[[], object]) -> list[object]:
    """Run each target in its own thread; return results (or raised errors)."""
    results: list[object] = [None] * len(targets)

    def run(i: int) -> None:
        try:
            results[i] = targets[i]()
        except Exception as exc:  # noqa: BLE001  (reported to the test)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(targets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


class Transfers:
    """Two transfers that lock the same two rows in opposite orders."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=10)
        self.failures: list[BaseException] = []
        self.attempts = {1: 0, 2: 0}

    def transfer(self, first: int, second: int) -> Callable[[Transaction], int]:
        def fn(tx: Transaction) -> int:
            self.attempts[first] += 1
            tx.execute(FAST_DEADLOCK)
            tx.bank.lock_account(id=first)
            if self.attempts[first] == 1:
                self.barrier.wait()  # both hold their first row: now cross over
            tx.bank.lock_account(id=second)
            tx.bank.add_to_account(id=first, amount=-10)
            return int(tx.bank.add_to_account(id=second, amount=10))

        return fn


def test_a_real_deadlock_fails_one_side_without_retry(
    open_db: OpenDb, bank: Registry
) -> None:
    db = open_db(bank, max_size=2)
    t = Transfers()

    def plain(first: int, second: int) -> Callable[[], object]:
        def run() -> object:
            with db.transaction() as tx:
                return t.transfer(first, second)(tx)

        return run

    results = run_both(plain(1, 2), plain(2, 1))
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1
    assert isinstance(errors[0], DeadlockDetected)
    assert any("while running yeko:bank." in n for n in errors[0].__notes__)


def test_retry_makes_both_sides_of_a_deadlock_succeed(
    open_db: OpenDb, bank: Registry, pg: psycopg.Connection
) -> None:
    db = open_db(bank, max_size=2)
    t = Transfers()
    results = run_both(
        lambda: retry(db, t.transfer(1, 2), backoff=0.01),
        lambda: retry(db, t.transfer(2, 1), backoff=0.01),
    )
    assert results == [1, 1]
    assert sorted(t.attempts.values()) == [1, 2]  # exactly one side ran again
    balances = pg.execute("SELECT id, balance FROM accounts ORDER BY id").fetchall()
    assert balances == [(1, 100), (2, 100)]  # -10 +10 on each: both committed once
    assert db.pool.get_stats()["pool_available"] == db.pool.get_stats()["pool_size"]


class OnCall:
    """Two doctors each go off call if the other is still on: a write skew."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=10)
        self.attempts = {1: 0, 2: 0}

    def go_off(self, doctor: int) -> Callable[[Transaction], bool]:
        def fn(tx: Transaction) -> bool:
            self.attempts[doctor] += 1
            on_call = tx.bank.count_on_call()
            if self.attempts[doctor] == 1:
                self.barrier.wait()  # both read "2 on call" before either writes
            if on_call < 2:
                return False
            tx.bank.update_doctor_off_call(id=doctor)
            return True

        return fn


def test_a_write_skew_under_serializable_is_retried_to_a_consistent_end(
    open_db: OpenDb, bank: Registry, pg: psycopg.Connection
) -> None:
    db = open_db(bank, max_size=2)
    skew = OnCall()
    results = run_both(
        lambda: retry(db, skew.go_off(1), serializable=True, backoff=0.01),
        lambda: retry(db, skew.go_off(2), serializable=True, backoff=0.01),
    )
    assert sorted(map(bool, results)) == [False, True]  # one went off, one stayed
    assert sorted(skew.attempts.values()) == [1, 2]
    assert pg.execute("SELECT count(*) FROM doctors WHERE on_call").fetchone() == (1,)


def test_without_serializable_the_write_skew_breaks_the_invariant(
    open_db: OpenDb, bank: Registry, pg: psycopg.Connection
) -> None:
    db = open_db(bank, max_size=2)
    skew = OnCall()
    results = run_both(
        lambda: retry(db, skew.go_off(1)), lambda: retry(db, skew.go_off(2))
    )
    assert results == [True, True]  # READ COMMITTED: nobody is on call any more
    assert pg.execute("SELECT count(*) FROM doctors WHERE on_call").fetchone() == (0,)


def test_the_last_error_is_reraised_with_the_number_of_attempts(
    open_db: OpenDb, bank: Registry
) -> None:
    db = open_db(bank)
    calls = 0

    def always_conflicts(tx: Transaction) -> None:
        nonlocal calls
        calls += 1
        tx.execute(
            "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$"
        )

    with pytest.raises(SerializationFailure) as caught:
        retry(db, always_conflicts, attempts=3, backoff=0.001)
    assert calls == 3
    assert "gave up after 3 attempts" in "\n".join(caught.value.__notes__)
    assert db.bank.count_on_call() == 2  # the pool is fine afterwards


def test_other_errors_are_not_retried(open_db: OpenDb, bank: Registry) -> None:
    db = open_db(bank)
    calls = 0

    def duplicate(tx: Transaction) -> None:
        nonlocal calls
        calls += 1
        tx.bank.insert_account(id=1)

    with pytest.raises(UniqueViolation):
        retry(db, duplicate)
    assert calls == 1


def test_the_backoff_doubles_up_to_its_cap_with_jitter_and_is_never_zero() -> None:
    for attempt, cap in ((1, 0.05), (2, 0.1), (3, 0.2), (4, 0.4), (5, 0.8), (9, 1.0)):
        low = backoff_delay(attempt, backoff=0.05, max_backoff=1.0, rng=lambda: 0.0)
        high = backoff_delay(attempt, backoff=0.05, max_backoff=1.0, rng=lambda: 1.0)
        assert (low, high) == pytest.approx((cap / 2, cap))


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [({"attempts": 0}, "attempts"), ({"backoff": -1.0}, "backoff")],
)
def test_nonsense_settings_are_refused(
    open_db: OpenDb, bank: Registry, kwargs: dict[str, Any], problem: str
) -> None:
    db = open_db(bank)
    with pytest.raises(ValueError, match=problem):
        retry(db, lambda tx: None, **kwargs)


def test_retry_async_makes_both_sides_of_a_deadlock_succeed(
    database_url: str, bank: Registry, pg: psycopg.Connection
) -> None:
    attempts = {1: 0, 2: 0}

    async def scenario() -> list[int]:
        barrier = asyncio.Barrier(2)
        settings = Settings(min_size=2, max_size=2)
        async with AsyncDatabase(database_url, queries=bank, settings=settings) as adb:

            def transfer(first: int, second: int) -> Any:
                async def fn(tx: AsyncTransaction) -> int:
                    attempts[first] += 1
                    await tx.execute(FAST_DEADLOCK)
                    await tx.bank.lock_account(id=first)
                    if attempts[first] == 1:
                        await asyncio.wait_for(barrier.wait(), 10)
                    await tx.bank.lock_account(id=second)
                    await tx.bank.add_to_account(id=first, amount=-10)
                    return int(await tx.bank.add_to_account(id=second, amount=10))

                return fn

            return list(
                await asyncio.gather(
                    retry_async(adb, transfer(1, 2), backoff=0.01),
                    retry_async(adb, transfer(2, 1), backoff=0.01),
                )
            )

    assert asyncio.run(scenario()) == [1, 1]
    assert sorted(attempts.values()) == [1, 2]
    balances = pg.execute("SELECT id, balance FROM accounts ORDER BY id").fetchall()
    assert balances == [(1, 100), (2, 100)]


def test_retry_async_serializable_resolves_a_write_skew(
    database_url: str, bank: Registry, pg: psycopg.Connection
) -> None:
    attempts = {1: 0, 2: 0}

    async def scenario() -> list[bool]:
        barrier = asyncio.Barrier(2)
        settings = Settings(min_size=2, max_size=2)
        async with AsyncDatabase(database_url, queries=bank, settings=settings) as adb:

            def go_off(doctor: int) -> Any:
                async def fn(tx: AsyncTransaction) -> bool:
                    attempts[doctor] += 1
                    on_call = await tx.bank.count_on_call()
                    if attempts[doctor] == 1:
                        await asyncio.wait_for(barrier.wait(), 10)
                    if on_call < 2:
                        return False
                    await tx.bank.update_doctor_off_call(id=doctor)
                    return True

                return fn

            return list(
                await asyncio.gather(
                    retry_async(adb, go_off(1), serializable=True, backoff=0.01),
                    retry_async(adb, go_off(2), serializable=True, backoff=0.01),
                )
            )

    assert sorted(asyncio.run(scenario())) == [False, True]
    assert sorted(attempts.values()) == [1, 2]
    assert pg.execute("SELECT count(*) FROM doctors WHERE on_call").fetchone() == (1,)


def test_retry_needs_no_database_change(open_db: OpenDb, bank: Registry) -> None:
    # A plain Database works: retry only uses db.transaction() and tx.execute().
    db: Database = open_db(bank)
    assert retry(db, lambda tx: tx.bank.count_on_call()) == 2
