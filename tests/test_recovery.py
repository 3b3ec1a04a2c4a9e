"""The pool survives a server restart without a failed call."""

import tempfile
from collections.abc import Iterator

import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.ops.devserver import DevServer
from yeko_sql.query.loader import load_queries
from yeko_sql.runtime.database import Database
from yeko_sql.settings import Settings


@pytest.fixture
def own_server() -> Iterator[DevServer]:
    server = DevServer(
        tempfile.mkdtemp(prefix="yeko-restart-", dir="/dev/shm"), fsync=False
    )
    server.start()
    yield server
    server.destroy()


@pytest.mark.slow
def test_a_server_restart_costs_no_failed_call(
    own_server: DevServer, sql_dir: SqlDir
) -> None:
    sql_dir.write("ping.sql", "-- name: get_answer :scalar\nSELECT 42;\n")
    settings = Settings(min_size=3, max_size=3)
    with Database(
        own_server.url(), queries=load_queries(sql_dir.path), settings=settings
    ) as db:
        assert [db.ping.get_answer() for _ in range(5)] == [42] * 5
        own_server.restart()
        assert [db.ping.get_answer() for _ in range(10)] == [42] * 10
        stats = db.pool.get_stats()
        assert stats.get("connections_lost", 0) >= 1
