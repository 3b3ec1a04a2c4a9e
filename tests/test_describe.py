import json

import msgspec
import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.cli.commands import describe_command
from yeko_sql.query.loader import load_queries
from yeko_sql.verify.describe import (
    SCHEMA_VERSION,
    DescribeReport,
    describe,
    describe_connection,
)

SCHOOLS = """
-- name: get_school :one
SELECT id, name, city,
       created_at
FROM schools
WHERE id = :school_id;

-- name: list_school_ids :many
SELECT ARRAY[id] AS ids, settings
FROM schools
WHERE id = ANY(:ids)
  AND (:city::text IS NULL OR city = :city);
"""


def test_describe_gives_parameter_and_column_types_and_sources(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    sql_dir.write("schools.sql", SCHOOLS)
    report = describe_connection(load_queries(sql_dir.path), pg)
    query = report["schools.get_school"]
    assert (query.kind, query.line, query.error) == ("one", 1, None)
    [param] = query.params
    assert (param.number, param.name, param.pg_type, param.python_type) == (
        1,
        "school_id",
        "text",
        "str",
    )
    by_name = {c.name: c for c in query.columns}
    assert [c.name for c in query.columns] == ["id", "name", "city", "created_at"]
    created = by_name["created_at"]
    assert (created.pg_type, created.python_type, created.type_oid) == (
        "timestamp with time zone",
        "datetime",
        1184,
    )
    assert (created.source_table, created.source_column) == ("schools", "created_at")
    assert not by_name["name"].nullable
    assert by_name["name"].why == "schools.name is NOT NULL"
    assert by_name["city"].nullable
    assert by_name["city"].why == "schools.city allows NULL"


def test_columns_point_at_their_line_in_the_select_list(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    sql_dir.write("schools.sql", SCHOOLS)
    query = describe_connection(load_queries(sql_dir.path), pg)["get_school"]
    assert [c.line for c in query.columns] == [2, 2, 2, 3]


def test_arrays_and_json_have_python_types(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    sql_dir.write("schools.sql", SCHOOLS)
    query = describe_connection(load_queries(sql_dir.path), pg)["list_school_ids"]
    ids, settings = query.columns
    assert (ids.pg_type, ids.python_type, ids.is_array) == ("text[]", "list[str]", True)
    assert ids.source_table is None
    assert (settings.pg_type, settings.python_type) == ("jsonb", "Any")
    assert [(p.name, p.pg_type, p.python_type) for p in query.params] == [
        ("ids", "text[]", "list[str]"),
        ("city", "text", "str"),
    ]


def test_a_parameter_tested_with_is_null_is_known_to_take_null(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    sql_dir.write("schools.sql", SCHOOLS)
    query = describe_connection(load_queries(sql_dir.path), pg)["list_school_ids"]
    ids, city = query.params
    assert (ids.nullable, city.nullable) == ("unknown", "yes")
    assert city.why == "the SQL tests it with IS NULL"


def test_positional_parameters_are_named_p1_p2(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    sql_dir.write(
        "legacy.sql",
        """
        -- name: find_school :opt
        SELECT id FROM schools WHERE code = $1 AND status = $2;
        """,
    )
    query = describe_connection(load_queries(sql_dir.path), pg)["find_school"]
    assert [(p.number, p.name, p.pg_type) for p in query.params] == [
        (1, "p1", "text"),
        (2, "p2", "text"),
    ]


def test_a_query_that_fails_to_prepare_names_its_line_and_the_rest_are_described(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    sql_dir.write(
        "broken.sql",
        """
        -- name: list_nothing :many
        SELECT id,
               nope
        FROM schools;

        -- name: list_codes :many
        SELECT code FROM schools;
        """,
    )
    report = describe_connection(load_queries(sql_dir.path), pg)
    [failed] = report.failed
    assert failed.name == "list_nothing"
    assert failed.error is not None
    assert (failed.error.line, failed.error.sqlstate) == (3, "42703")
    assert str(failed.error).startswith(f'{failed.path}:3: column "nope" does not')
    assert [c.name for c in report["list_codes"].columns] == ["code"]


def test_describe_runs_nothing_and_leaves_no_prepared_statement(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    pg.execute("INSERT INTO tracks (id, name, code) VALUES (repeat('t', 21), 'T', 'T')")
    sql_dir.write(
        "tracks.sql",
        """
        -- name: delete_tracks :execrows
        DELETE FROM tracks WHERE code <> :code;

        -- name: list_deleted_tracks :many
        DELETE FROM tracks WHERE code <> :code RETURNING id;
        """,
    )
    report = describe_connection(load_queries(sql_dir.path), pg)
    assert not report.failed
    assert [c.name for c in report["list_deleted_tracks"].columns] == ["id"]
    assert pg.execute("SELECT count(*) FROM tracks").fetchone() == (1,)
    assert pg.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)


def test_describe_refuses_a_connection_in_a_transaction(database_url: str) -> None:
    with (
        psycopg.connect(database_url) as conn,
        pytest.raises(ValueError, match="autocommit"),
    ):
        describe_connection([], conn)


def test_the_json_report_is_versioned_and_decodes_back(
    sql_dir: SqlDir, database_url: str
) -> None:
    sql_dir.write("schools.sql", SCHOOLS)
    report = describe(load_queries(sql_dir.path), database_url)
    data = json.loads(msgspec.json.encode(report))
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["server_version"]
    [first, _] = data["queries"]
    assert set(first) == {
        "namespace",
        "name",
        "kind",
        "path",
        "line",
        "params",
        "columns",
        "error",
    }
    assert set(first["columns"][0]) == {
        "number",
        "name",
        "pg_type",
        "type_oid",
        "typmod",
        "python_type",
        "is_array",
        "source_table",
        "source_column",
        "nullable",
        "why",
        "line",
    }
    assert set(first["params"][0]) == {
        "number",
        "name",
        "pg_type",
        "type_oid",
        "python_type",
        "nullable",
        "why",
    }
    decoded = msgspec.json.decode(msgspec.json.encode(report), type=DescribeReport)
    assert decoded == report


def test_describe_command_prints_a_table_or_json_and_says_if_any_failed(
    sql_dir: SqlDir, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sql_dir.write("schools.sql", SCHOOLS)
    code = describe_command(load_queries(sql_dir.path), database_url, as_json=False)
    out = capsys.readouterr().out
    assert code == 0
    assert "schools.get_school  :one" in out
    assert "city        text                      str | None  nullable" in out
    assert out.endswith("described 2 queries\n")

    code = describe_command(load_queries(sql_dir.path), database_url, as_json=True)
    assert code == 0
    assert json.loads(capsys.readouterr().out)["schema_version"] == 1

    sql_dir.write("broken.sql", "-- name: list_x :many\nSELECT nope FROM schools;\n")
    code = describe_command(load_queries(sql_dir.path), database_url, as_json=False)
    out = capsys.readouterr().out
    assert code == 1
    assert 'error: line 2: column "nope" does not exist' in out
    assert out.endswith("described 3 queries, 1 failed to prepare\n")
