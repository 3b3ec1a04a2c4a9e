"""Reads on a replica, and read-your-writes, on a real streaming standby."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.fix_replica import ReplicaPair
from tests.fix_sqlfiles import SqlDir
from yeko_sql import AsyncDatabase, Database, Settings
from yeko_sql.ops.stats import collect_health, format_report
from yeko_sql.query.loader import load_queries
from yeko_sql.runtime.replica import ReplicaBreaker, lsn_value

NOTES = """
-- name: add_note :exec
INSERT INTO notes (id, body) VALUES (:id, :body);

-- name: find_note :opt
-- replica: ok
SELECT id, body FROM notes WHERE id = :id;

-- name: on_standby :scalar
-- replica: ok
SELECT pg_is_in_recovery();

-- name: on_standby_primary :scalar
SELECT pg_is_in_recovery();
"""


def _wait_replayed(pair: ReplicaPair) -> None:
    with psycopg.connect(pair.primary_url, autocommit=True) as primary:
        lsn = primary.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
    with psycopg.connect(pair.standby_url, autocommit=True) as standby:
        for _ in range(500):
            row = standby.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn[0] if lsn else ""]
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.01)
    raise AssertionError("the standby did not catch up in 5 s")


@pytest.fixture
def db(replica_pair: ReplicaPair, sql_dir: SqlDir) -> Iterator[Database]:
    with psycopg.connect(replica_pair.primary_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS notes")
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
    _wait_replayed(replica_pair)
    sql_dir.write("notes.sql", NOTES)
    database = Database(
        replica_pair.primary_url,
        read_url=replica_pair.standby_url,
        queries=load_queries(sql_dir.path),
        settings=Settings(min_size=1, replica_wait_ms=100),
    )
    with database:
        yield database


@pytest.fixture
def paused(replica_pair: ReplicaPair) -> Iterator[None]:
    """The standby keeps receiving WAL but replays none of it: a lag."""
    with psycopg.connect(replica_pair.standby_url, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")


def test_a_replica_query_runs_on_the_standby_and_others_on_the_primary(
    db: Database,
) -> None:
    assert db.notes.on_standby() is True
    assert db.notes.on_standby_primary() is False
    with db.transaction() as tx:  # a transaction is the primary's, always
        assert tx.notes.on_standby() is False


def test_without_a_token_a_read_right_after_a_write_can_miss_it(
    db: Database, paused: None
) -> None:
    db.notes.add_note(id=1, body="hello")
    assert db.notes.find_note(id=1) is None  # the lag exists


def test_consistent_reads_see_their_writes_every_time(
    db: Database, replica_pair: ReplicaPair
) -> None:
    with db.consistent_reads() as held:
        for i in range(200):
            db.notes.add_note(id=i, body=f"note {i}")
            found = db.notes.find_note(id=i)
            assert found is not None, i
            assert found.body == f"note {i}"
    assert len(held.waited_ms) == 200
    # Most reads are served by the standby after a short wait (the commit
    # flushed its WAL, which the standby then streams and replays); a read
    # whose wait ran past the bound went to the primary, counted.
    assert held.fell_back <= 20, held.fell_back


def test_a_read_past_the_bound_goes_to_the_primary(db: Database, paused: None) -> None:
    with db.consistent_reads() as held:
        db.notes.add_note(id=7, body="seven")
        found = db.notes.find_note(id=7)
    assert found is not None
    assert held.fell_back == 1
    assert 90 <= held.waited_ms[0] < 1000


def test_a_token_carries_the_position_to_another_request(
    db: Database, paused: None
) -> None:
    db.notes.add_note(id=8, body="eight")
    token = db.write_token()
    assert lsn_value(token) > 0
    with db.consistent_reads(token) as held:  # e.g. the next HTTP request
        assert db.notes.find_note(id=8) is not None
    assert held.fell_back == 1
    with (
        pytest.raises(ValueError, match="is not a WAL position"),
        db.consistent_reads("nonsense"),
    ):
        pass


def test_a_transaction_inside_consistent_reads_records_its_commit(
    db: Database, paused: None
) -> None:
    with db.consistent_reads() as held:
        with db.transaction() as tx:
            tx.notes.add_note(id=9, body="nine")
        assert held.lsn is not None
        assert db.notes.find_note(id=9) is not None


def test_with_the_standby_down_replica_reads_go_to_the_primary(
    db: Database, replica_pair: ReplicaPair
) -> None:
    db.notes.add_note(id=10, body="ten")
    replica_pair.standby.stop()
    try:
        found = db.notes.find_note(id=10)
        assert found is not None
        assert db.notes.on_standby() is False
    finally:
        replica_pair.standby.start()


def test_a_replica_found_down_is_skipped_then_tried_again(
    replica_pair: ReplicaPair, sql_dir: SqlDir, db: Database
) -> None:
    """One read pays the connect timeout; the next ones go straight to the
    primary until the pause is over; then the replica serves again."""
    database = Database(
        replica_pair.primary_url,
        read_url=replica_pair.standby_url,
        queries=load_queries(sql_dir.path),
        settings=Settings(min_size=1, replica_connect_timeout=0.3, replica_retry_s=1.0),
    )
    with database:
        assert database.notes.on_standby() is True
        assert database.read_pool is not None
        before = database.read_pool.get_stats()["requests_num"]
        replica_pair.standby.stop()
        try:
            answers = [database.notes.on_standby() for _ in range(10)]
            assert answers == [False] * 10  # the primary answered each
            asked = database.read_pool.get_stats()["requests_num"] - before
            assert asked == 1  # the read that found it down; without a breaker, 10
        finally:
            replica_pair.standby.start()
        deadline = time.monotonic() + 10
        while not database.notes.on_standby():  # the probe after the pause
            assert time.monotonic() < deadline, "reads never went back to the replica"
            time.sleep(0.2)


def test_the_asyncio_twin_routes_and_waits_the_same_way(
    replica_pair: ReplicaPair, sql_dir: SqlDir, db: Database
) -> None:
    async def run() -> tuple[bool, bool, bool, int]:
        adb = AsyncDatabase(
            replica_pair.primary_url,
            read_url=replica_pair.standby_url,
            queries=load_queries(sql_dir.path),
            settings=Settings(min_size=1, replica_wait_ms=100),
        )
        async with adb:
            on_standby = await adb.notes.on_standby()
            with adb.consistent_reads() as held:
                for i in range(50):
                    await adb.notes.add_note(id=100 + i, body="async")
                    assert await adb.notes.find_note(id=100 + i) is not None
            async with adb.transaction() as tx:
                in_tx = await tx.notes.on_standby()
            token = await adb.write_token()
            return on_standby, in_tx, lsn_value(token) > 0, len(held.waited_ms)

    assert asyncio.run(run()) == (True, False, True, 50)


def test_stats_reports_the_replica_lag_on_both_sides(replica_pair: ReplicaPair) -> None:
    with psycopg.connect(replica_pair.primary_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS lag_probe (id int)")
        conn.execute("INSERT INTO lag_probe VALUES (1)")
    _wait_replayed(replica_pair)
    primary = collect_health(replica_pair.primary_url, top=1, lock_samples=1)
    [replica] = primary.replicas
    assert replica.state == "streaming"
    assert replica.replay_lag_bytes is not None
    assert "replicas (replay lag):" in format_report(primary)
    standby = collect_health(replica_pair.standby_url, top=1, lock_samples=1)
    assert standby.replicas == []
    assert standby.standby_lag_ms is not None
    assert "this server is a standby: last replay" in format_report(standby)


def test_the_breaker_lets_one_probe_through_after_the_pause() -> None:
    breaker = ReplicaBreaker(pause_s=0.05)
    assert breaker.allow()
    assert breaker.trip("test") is True  # was up: worth a warning
    assert breaker.trip("test") is False  # already known down
    assert not breaker.allow()
    time.sleep(0.06)
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # the others wait for the probe's answer
    breaker.reset()
    assert breaker.allow()
    assert breaker.trips == 1
