import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from yoyo import get_backend, read_migrations

from yeko_sql.cli.main import main
from yeko_sql.errors import MigrationError
from yeko_sql.ops.migrate import (
    LOCK_KEY,
    apply_migrations,
    break_lock,
    invalid_indexes,
    list_migrations,
    lock_holder,
    mark_migrations,
    migration_status,
    reconcile_migrations,
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


def _hold_lock(url: str, application_name: str = "holder") -> psycopg.Connection[Any]:
    conn = psycopg.connect(url, autocommit=True, application_name=application_name)
    conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    return conn


def test_a_run_waits_for_another_runs_lock(empty_database_url: str, tiny: Path) -> None:
    holder = _hold_lock(empty_database_url)
    released = threading.Event()

    def let_go() -> None:
        time.sleep(1.0)
        released.set()
        holder.close()  # the lock dies with its session

    threading.Thread(target=let_go).start()
    applied = apply_migrations(empty_database_url, source=tiny, lock_timeout=20)
    assert released.is_set()  # it could only finish after the other run let go
    assert applied == ["0001_create-things", "0002_create-others"]


def test_a_held_lock_names_its_holder_and_no_row_is_left(
    empty_database_url: str, tiny: Path
) -> None:
    holder = _hold_lock(empty_database_url, "someone's deploy")
    pid = holder.info.backend_pid
    try:
        with pytest.raises(MigrationError) as caught:
            apply_migrations(empty_database_url, source=tiny, lock_timeout=0.5)
        assert f"backend pid {pid} (someone's deploy, connected since" in str(
            caught.value
        )
        assert "pg_terminate_backend(pid)" in str(caught.value)
        assert lock_holder(empty_database_url) is not None
    finally:
        holder.close()
    assert lock_holder(empty_database_url) is None
    assert apply_migrations(empty_database_url, source=tiny, lock_timeout=5)


def test_a_legacy_yoyo_lock_row_blocks_nothing_and_break_lock_removes_it(
    empty_database_url: str, tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = get_backend(yoyo_url(empty_database_url))
    backend.create_lock_table()
    backend.connection.close()
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now(), 424242)"
        )
    assert apply_migrations(empty_database_url, source=tiny, lock_timeout=1) == [
        "0001_create-things",
        "0002_create-others",
    ]
    assert main(["migrate", "break-lock", "--database-url", empty_database_url]) == 0
    out = capsys.readouterr().out
    assert "removed a legacy yoyo_lock row" in out
    assert "advisory lock" in out
    assert break_lock(empty_database_url) is False


def test_the_session_that_migrates_holds_the_lock(
    empty_database_url: str, tiny: Path
) -> None:
    seen: list[tuple[Any, ...]] = []
    (tiny / "0003_peek.sql").write_text(
        "-- Peek at the lock.\n-- depends: 0002_create-others\n"
        "CREATE TABLE peek AS SELECT pid = pg_backend_pid() AS mine, granted,"
        " (SELECT count(*) FROM yoyo_lock) AS yoyo_rows"
        " FROM pg_locks WHERE locktype = 'advisory'"
        f" AND classid::bigint = {LOCK_KEY >> 32}"
        f" AND objid::bigint = {LOCK_KEY & 0xFFFFFFFF};\n"
    )
    apply_migrations(empty_database_url, source=tiny)
    with psycopg.connect(empty_database_url) as conn:
        seen = conn.execute("SELECT mine, granted, yoyo_rows FROM peek").fetchall()
    assert seen == [(True, True, 0)]  # and yoyo's lock row is not used


def test_a_migration_its_record_and_checksum_commit_together(
    empty_database_url: str, tiny: Path
) -> None:
    """Pins the yoyo internals the apply loop uses (see yeko_sql.ops.migrate)."""
    backend = get_backend(yoyo_url(empty_database_url))
    try:
        with backend.transaction():  # a nested transaction() is a savepoint
            assert type(backend.transaction()).__name__ == (
                "SavepointTransactionManager"
            )
        assert hasattr(backend, "_internal_schema_updated")
    finally:
        backend.connection.close()
    (tiny / "0002_create-others.sql").write_text(
        "-- Create others.\n-- depends: 0001_create-things\n"
        "CREATE TABLE others (id int);\nSELECT 1 / 0;\n"
    )
    with pytest.raises(psycopg.errors.DivisionByZero):
        apply_migrations(empty_database_url, source=tiny)
    assert _user_tables(empty_database_url) == {"things"}
    with psycopg.connect(empty_database_url) as conn:
        rows = {
            table: sorted(r[0] for r in conn.execute(query).fetchall())
            for table, query in {
                "migration": "SELECT migration_id FROM _yoyo_migration",
                "log": "SELECT migration_id FROM _yoyo_log WHERE operation = 'apply'",
                "checksum": "SELECT migration_id FROM yeko_migration_checksums",
            }.items()
        }
    assert rows == {k: ["0001_create-things"] for k in rows}
    backend = get_backend(yoyo_url(empty_database_url))
    try:  # yoyo itself reads our record as its own
        pending = backend.to_apply(read_migrations(str(tiny)))
        assert [m.id for m in pending] == ["0002_create-others"]
    finally:
        backend.connection.close()


def test_an_applied_migration_without_a_checksum_is_unverified_until_rehash(
    empty_database_url: str, tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = empty_database_url
    apply_migrations(url, source=tiny)
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM yeko_migration_checksums")
    states = {s.id: s for s in migration_status(url, source=tiny)}
    assert states["0001_create-things"].unverified
    assert not states["0001_create-things"].edited
    with pytest.raises(MigrationError, match="have no recorded checksum"):
        apply_migrations(url, source=tiny)
    report = rehash_migrations(url, source=tiny)
    assert report.recorded == ["0001_create-things", "0002_create-others"]
    assert report.changed == report.forgotten == report.unchanged == []
    assert not any(s.unverified for s in migration_status(url, source=tiny))
    again = rehash_migrations(url, source=tiny)
    assert again.unchanged == ["0001_create-things", "0002_create-others"]
    assert again.recorded == again.changed == []


def test_cli_status_exits_1_on_unverified_and_rehash_names_what_it_recorded(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = list_migrations()[0][0]
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "DELETE FROM yeko_migration_checksums WHERE migration_id = %s", [first]
        )
    assert main(["migrate", "status", "--database-url", database_url]) == 1
    out = capsys.readouterr().out
    assert f"UNVERIFIED  {first}" in out
    assert main(["migrate", "rehash", "--database-url", database_url]) == 0
    out = capsys.readouterr().out
    assert f"newly recorded: 1\n  {first}\n" in out
    assert main(["migrate", "status", "--database-url", database_url]) == 0


def test_a_failed_rollback_leaves_no_stale_checksum(
    empty_database_url: str, tiny: Path
) -> None:
    url = empty_database_url
    apply_migrations(url, source=tiny)
    (tiny / "0001_create-things.rollback.sql").write_text("DROP TABLE nothing_here;\n")
    rehash_migrations(url, source=tiny)
    with pytest.raises(psycopg.errors.UndefinedTable):
        rollback_migrations(url, source=tiny, count=2)
    with psycopg.connect(url) as conn:
        kept = conn.execute("SELECT migration_id FROM yeko_migration_checksums")
        assert [r[0] for r in kept.fetchall()] == ["0001_create-things"]
    second = tiny / "0002_create-others.sql"
    second.write_text(second.read_text().replace("id int", "id bigint"))
    states = {s.id: s for s in migration_status(url, source=tiny)}
    assert states["0001_create-things"].applied
    assert not states["0002_create-others"].applied
    assert not states["0002_create-others"].edited  # not applied: nothing to compare


def test_reconcile_records_a_migration_applied_but_unrecorded(
    empty_database_url: str, tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = empty_database_url
    apply_migrations(url, source=tiny)
    # What an old yoyo run killed between commit and record leaves.
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM _yoyo_migration WHERE migration_id LIKE '0002%'")
        conn.execute(
            "DELETE FROM yeko_migration_checksums WHERE migration_id LIKE '0002%'"
        )
    with pytest.raises(psycopg.errors.DuplicateTable) as caught:
        apply_migrations(url, source=tiny)
    assert "yeko-sql migrate reconcile --dry-run" in "".join(caught.value.__notes__)
    dry = reconcile_migrations(url, source=tiny, dry_run=True)
    assert [(a.id, a.action) for a in dry] == [("0002_create-others", "record")]
    assert not migration_status(url, source=tiny)[1].applied  # nothing done yet
    done = reconcile_migrations(url, source=tiny)
    assert [(a.id, a.action) for a in done] == [("0002_create-others", "record")]
    assert apply_migrations(url, source=tiny) == []
    states = migration_status(url, source=tiny)
    assert all(s.applied and not s.unverified for s in states)
    assert reconcile_migrations(url, source=tiny) == []


def test_reconcile_unrecords_a_migration_whose_objects_are_gone(
    empty_database_url: str, tiny: Path
) -> None:
    url = empty_database_url
    apply_migrations(url, source=tiny)
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE others")
    actions = reconcile_migrations(url, source=tiny)
    assert [(a.id, a.action) for a in actions] == [("0002_create-others", "unrecord")]
    assert apply_migrations(url, source=tiny) == ["0002_create-others"]
    assert _user_tables(url) == {"things", "others"}


def test_cli_reconcile_dry_run_on_a_consistent_database(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["migrate", "reconcile", "--dry-run", "--database-url", database_url]
    assert main(argv) == 0
    assert "records and schema agree; nothing to do" in capsys.readouterr().out


@pytest.fixture
def concurrent(tiny: Path) -> Path:
    """tiny, and a third migration that builds an index concurrently."""
    (tiny / "0003_index-things.sql").write_text(
        "-- Index things.\n-- depends: 0002_create-others\n-- transactional: false\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS others_id_idx ON others (id);\n"
    )
    (tiny / "0003_index-things.rollback.sql").write_text(
        "DROP INDEX CONCURRENTLY IF EXISTS others_id_idx;\n"
    )
    return tiny


def _invalidate(url: str, index: str) -> None:
    """Mark *index* invalid, as a cut-short CREATE INDEX CONCURRENTLY leaves it."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass",
            [index],
        )


def _valid(url: str, index: str) -> bool | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
            [index],
        ).fetchone()
    return None if row is None else bool(row[0])


def test_apply_rebuilds_an_invalid_index_of_an_unrecorded_migration(
    empty_database_url: str, concurrent: Path
) -> None:
    url = empty_database_url
    apply_migrations(url, source=concurrent)
    with psycopg.connect(url) as conn:  # killed before the record
        conn.execute("DELETE FROM _yoyo_migration WHERE migration_id LIKE '0003%'")
    _invalidate(url, "others_id_idx")
    said: list[str] = []
    assert apply_migrations(url, source=concurrent, say=said.append) == [
        "0003_index-things"
    ]
    assert _valid(url, "others_id_idx") is True
    assert said[0].startswith("repair: index public.others_id_idx of 0003_index-things")


def test_an_invalid_index_of_a_recorded_migration_is_reported_then_rebuilt(
    empty_database_url: str, concurrent: Path
) -> None:
    url = empty_database_url
    apply_migrations(url, source=concurrent)
    _invalidate(url, "others_id_idx")  # what old releases recorded as applied
    states = {s.id: s for s in migration_status(url, source=concurrent)}
    assert states["0003_index-things"].invalid_indexes == ("public.others_id_idx",)
    assert invalid_indexes(url, source=concurrent) == [
        ("public.others_id_idx", "0003_index-things")
    ]
    said: list[str] = []
    assert apply_migrations(url, source=concurrent, say=said.append) == []
    assert _valid(url, "others_id_idx") is True
    assert "repair: ran 0003_index-things again; its indexes are valid" in said
    assert not any(s.invalid_indexes for s in migration_status(url, source=concurrent))


def test_cli_status_names_an_invalid_index_and_the_drop_that_fixes_it(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _invalidate(database_url, "students_school_id_full_name_id_idx")
    assert main(["migrate", "status", "--database-url", database_url]) == 1
    out = capsys.readouterr().out
    assert (
        "INVALID index public.students_school_id_full_name_id_idx: run 'yeko-sql "
        "migrate apply' (it drops it and runs 0016_index-students-by-name again), "
        "or DROP INDEX CONCURRENTLY public.students_school_id_full_name_id_idx"
    ) in out


def test_an_invalid_index_no_migration_builds_fails_the_apply(
    empty_database_url: str, tiny: Path
) -> None:
    url = empty_database_url
    apply_migrations(url, source=tiny)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE INDEX stray_idx ON things (id)")
    _invalidate(url, "stray_idx")
    with pytest.raises(
        MigrationError, match=r"DROP INDEX CONCURRENTLY public\.stray_idx"
    ):
        apply_migrations(url, source=tiny)


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


def test_cli_unmark_and_mark_change_only_the_records(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    last = list_migrations()[-1][0]
    tables = _user_tables(database_url)
    base = ["--database-url", database_url]
    assert main(["migrate", "unmark", last, *base]) == 0
    assert capsys.readouterr().out == f"un-recorded 1 migration(s)\n  {last}\n"
    assert not migration_status(database_url)[-1].applied
    assert main(["migrate", "mark", last, *base]) == 0
    assert capsys.readouterr().out == f"recorded 1 migration(s)\n  {last}\n"
    assert main(["migrate", "status", *base]) == 0
    assert _user_tables(database_url) == tables
    with pytest.raises(MigrationError, match="no migration 'nosuch'"):
        mark_migrations(database_url, ["nosuch"])
