"""Regressions found in review: each test failed before its fix."""

import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.fix_db import OpenDb
from tests.fix_sqlfiles import SqlDir
from yeko_sql.errors import (
    MigrationError,
    ParameterError,
    PlaceholderError,
    TooManyRowsError,
    YekoSqlError,
)
from yeko_sql.ops.devserver import DevServer
from yeko_sql.ops.migrate import _redact, apply_migrations, migration_status
from yeko_sql.query.loader import load_queries

ODD_COLUMNS = """
-- name: list_odd_columns :many
SELECT 1 + 1, 2 AS id, 3 AS id, 4 AS "Total", 5 AS "class";
"""

SERIES = """
-- name: stream_numbers :stream
SELECT g AS n FROM generate_series(1, :upto) AS g;

-- name: get_answer :scalar
SELECT 42;
"""


def test_derived_rows_take_columns_whose_names_are_not_identifiers(
    sql_dir: SqlDir, open_db: OpenDb
) -> None:
    sql_dir.write("odd.sql", ODD_COLUMNS)
    db = open_db(load_queries(sql_dir.path))
    row = db.odd.list_odd_columns()[0]
    assert tuple(row.__struct_fields__) == (
        "column",
        "id",
        "id_3",
        "total",
        "column_class",
    )
    assert (row.column, row.id, row.id_3, row.total, row.column_class) == (
        2,
        2,
        3,
        4,
        5,
    )


def test_leaving_a_stream_early_inside_a_transaction_keeps_the_transaction(
    sql_dir: SqlDir, open_db: OpenDb
) -> None:
    sql_dir.write("series.sql", SERIES)
    db = open_db(load_queries(sql_dir.path))
    with db.transaction() as tx:
        for row in tx.series.stream_numbers(upto=5000):
            assert row.n == 1
            break
        assert tx.series.get_answer() == 42  # was: InFailedSqlTransaction
        assert sum(r.n for r in tx.series.stream_numbers(upto=3000)) == 3000 * 3001 // 2


def test_a_stream_checks_its_parameters_before_iterating(
    sql_dir: SqlDir, open_db: OpenDb
) -> None:
    sql_dir.write("series.sql", SERIES)
    db = open_db(load_queries(sql_dir.path))
    with pytest.raises(ParameterError, match="unexpected parameter 'bogus'"):
        db.series.stream_numbers(upto=1, bogus=2)


def test_an_error_in_a_longer_sort_variant_points_at_the_right_line(
    sql_dir: SqlDir, open_db: OpenDb
) -> None:
    path = sql_dir.write(
        "s.sql",
        "-- name: list_sorted :many\n"
        "-- sort: a = g | b = g DESC,\n"
        "SELECT g FROM generate_series(1, 3) AS g\n"
        "ORDER BY :sort\n"
        "LIMIT nosuch;\n",
    )
    path.write_text(path.read_text().replace("g DESC,\n", "g DESC, g, g\n"))
    db = open_db(load_queries(sql_dir.path))
    for variant in ("a", "b"):
        with pytest.raises(psycopg.errors.UndefinedColumn) as caught:
            db.s.list_sorted(sort=variant)
        assert caught.value.__notes__ == [
            f"while running yeko:s.list_sorted ({path}:5)"
        ]


def test_ordering_by_a_sort_placeholder_without_variants_is_refused(
    sql_dir: SqlDir,
) -> None:
    sql_dir.write(
        "s.sql", "-- name: list_sorted :many\nSELECT 1 AS g\nORDER BY :sort;\n"
    )
    with pytest.raises(PlaceholderError, match="declares no '-- sort:' variants"):
        load_queries(sql_dir.path)


def test_a_failed_apply_still_records_what_it_applied(
    empty_database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_create-a.sql").write_text(
        "-- Create a.\nCREATE TABLE a (id int);\n"
    )
    (folder / "0001_create-a.rollback.sql").write_text("DROP TABLE a;\n")
    (folder / "0002_create-b.sql").write_text(
        "-- Create b.\n-- depends: 0001_create-a\nCREATE TABLE b (id nosuchtype);\n"
    )
    (folder / "0002_create-b.rollback.sql").write_text("DROP TABLE b;\n")
    with pytest.raises(psycopg.errors.UndefinedObject):
        apply_migrations(empty_database_url, source=folder)
    first = folder / "0001_create-a.sql"
    first.write_text(first.read_text().replace("id int", "id bigint"))
    states = {s.id: s for s in migration_status(empty_database_url, source=folder)}
    assert states["0001_create-a"].edited
    with pytest.raises(MigrationError, match="'0001_create-a' were edited"):
        apply_migrations(empty_database_url, source=folder)


def test_passwords_never_reach_an_error_message() -> None:
    for url in (
        "host=db user=app password=s3cret dbname=yeko",
        "postgresql://app:s3cret@db/yeko",
        "postgresql://db/yeko?password=s3cret",
    ):
        assert "s3cret" not in _redact(url)


def test_a_server_in_a_deep_folder_starts_without_its_unix_socket() -> None:
    parent = Path(tempfile.mkdtemp(prefix="yeko-deep-", dir="/dev/shm"))
    parent.chmod(0o755)
    server = DevServer(parent / ("x" * 95), fsync=False)
    try:
        url = server.start()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.destroy()
        parent.rmdir()


def test_one_with_two_rows_is_an_error_not_the_first_row(
    sql_dir: SqlDir, open_db: OpenDb
) -> None:
    sql_dir.write(
        "two.sql", "-- name: get_two :one\nSELECT g FROM generate_series(1, 2) AS g;\n"
    )
    db = open_db(load_queries(sql_dir.path))
    with pytest.raises(TooManyRowsError, match="expected exactly one row, got 2"):
        db.two.get_two()


def test_a_transaction_used_after_its_block_refuses_to_run(
    sql_dir: SqlDir, open_db: OpenDb
) -> None:
    sql_dir.write("series.sql", SERIES)
    db = open_db(load_queries(sql_dir.path))
    with db.transaction() as tx:
        assert tx.series.get_answer() == 42
    with pytest.raises(YekoSqlError, match="this transaction has ended"):
        tx.series.get_answer()
