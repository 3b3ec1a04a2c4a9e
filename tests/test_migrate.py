import threading
import time
from pathlib import Path

import psycopg
import pytest
from yoyo import get_backend

from yeko_sql.cli import main
from yeko_sql.errors import MigrationError
from yeko_sql.migrate import (
    apply_migrations,
    break_lock,
    list_migrations,
    migration_status,
    rehash_migrations,
    rollback_migrations,
    yoyo_url,
)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """Two small migrations of our own, to exercise locking and edits."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_create-things.sql").write_text(
        "-- Create things.\nCREATE TABLE things (id int PRIMARY KEY);\n"
    )
    (folder / "0001_create-things.rollback.sql").write_text("DROP TABLE things;\n")
    (folder / "0002_create-others.sql").write_text(
        "-- Create others.\n"
        "-- depends: 0001_create-things\n"
        "CREATE TABLE others (id int);\n"
    )
    (folder / "0002_create-others.rollback.sql").write_text("DROP TABLE others;\n")
    return folder


def _user_tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT LIKE '\\_yoyo%' AND tablename NOT LIKE 'yoyo%'"
            " AND tablename <> 'yeko_migration_checksums'"
        ).fetchall()
    return {r[0] for r in rows}


def test_bundled_migrations_go_up_all_the_way_down_and_up_again(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    applied = apply_migrations(url)
    assert applied == [m for m, _ in list_migrations()]
    tables = _user_tables(url)
    assert {"schools", "students", "enrollments", "payments", "jobs"} <= tables
    undone = rollback_migrations(url, count=None)
    assert undone == list(reversed(applied))
    assert _user_tables(url) == set()
    assert apply_migrations(url) == applied
    assert _user_tables(url) == tables


def test_a_second_apply_is_a_no_op(database_url: str) -> None:
    assert apply_migrations(database_url) == []
    assert all(state.applied for state in migration_status(database_url))


def test_a_run_waits_for_another_runs_lock(empty_database_url: str, tiny: Path) -> None:
    backend = get_backend(yoyo_url(empty_database_url))
    released = threading.Event()

    def hold_lock() -> None:
        with backend.lock(timeout=5):
            time.sleep(1.5)
            released.set()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    time.sleep(0.3)
    applied = apply_migrations(empty_database_url, source=tiny, lock_timeout=20)
    assert released.is_set()  # it could only finish after the other run let go
    holder.join()
    backend.connection.close()
    assert applied == ["0001_create-things", "0002_create-others"]


def test_a_lock_left_by_a_killed_run_is_reported_with_the_way_out(
    empty_database_url: str, tiny: Path
) -> None:
    apply_migrations(empty_database_url, source=tiny)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now(), 424242)"
        )
    with pytest.raises(MigrationError) as caught:
        apply_migrations(empty_database_url, source=tiny, lock_timeout=1)
    assert "process 424242" in str(caught.value)
    assert "yeko-sql migrate break-lock" in str(caught.value)
    assert break_lock(empty_database_url) is True
    assert apply_migrations(empty_database_url, source=tiny, lock_timeout=1) == []


def test_an_applied_migration_edited_afterwards_is_reported(
    empty_database_url: str, tiny: Path
) -> None:
    apply_migrations(empty_database_url, source=tiny)
    path = tiny / "0001_create-things.sql"
    path.write_text(path.read_text().replace("id int", "id bigint"))
    states = {s.id: s for s in migration_status(empty_database_url, source=tiny)}
    assert states["0001_create-things"].edited
    assert not states["0002_create-others"].edited
    with pytest.raises(MigrationError, match="'0001_create-things' were edited"):
        apply_migrations(empty_database_url, source=tiny)
    rehash_migrations(empty_database_url, source=tiny)
    assert not any(s.edited for s in migration_status(empty_database_url, source=tiny))


def test_rollback_undoes_the_last_one_by_default(
    empty_database_url: str, tiny: Path
) -> None:
    apply_migrations(empty_database_url, source=tiny)
    assert rollback_migrations(empty_database_url, source=tiny) == [
        "0002_create-others"
    ]
    assert _user_tables(empty_database_url) == {"things"}


def test_cli_migrate_status_lists_every_migration(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "status", "--database-url", database_url]) == 0
    out = capsys.readouterr().out
    assert out.count("applied") == len(list_migrations())
