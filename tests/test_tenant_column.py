"""The tenant rules follow the app's declared tenant column, not Yeko's schools.

Yeko's own tenant cases are in test_rules.py; here the column is switched off,
renamed (``org_id``, tenants in ``orgs``), or kept but pointed at a tenants
table with another name (``school_id`` referencing ``campuses``).
"""

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.config import CONFIG_ENV
from yeko_sql.errors import ConfigError
from yeko_sql.query.loader import load_queries
from yeko_sql.verify._catalog import load_catalog
from yeko_sql.verify._tree import parse_query
from yeko_sql.verify.check import check_connection
from yeko_sql.verify.rules import Violation, lint

ORGS = """
CREATE TABLE orgs (id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE projects (
    id text PRIMARY KEY,
    org_id text NOT NULL REFERENCES orgs (id),
    name text NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, name)
);
-- tenant-owned through a composite key to another tenant-owned table
CREATE TABLE tasks (
    id text PRIMARY KEY,
    org_id text NOT NULL,
    project_id text NOT NULL,
    title text NOT NULL,
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id)
);
-- org_id may be NULL: not tenant-owned
CREATE TABLE audit_events (
    id text PRIMARY KEY,
    org_id text REFERENCES orgs (id),
    note text NOT NULL
);
-- org_id in no foreign key: not tenant-owned
CREATE TABLE notes (id text PRIMARY KEY, org_id text NOT NULL, body text NOT NULL);
-- Yeko's names, which mean nothing to this app
CREATE TABLE schools (id text PRIMARY KEY);
CREATE TABLE classes (
    id text PRIMARY KEY,
    school_id text NOT NULL REFERENCES schools (id)
);
"""

CAMPUSES = """
CREATE TABLE campuses (id text PRIMARY KEY);
CREATE TABLE rooms (
    id text PRIMARY KEY,
    school_id text NOT NULL REFERENCES campuses (id),
    name text NOT NULL
);
"""


def _database(url: str, schema: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(schema)
        yield conn


@pytest.fixture
def orgs(empty_database_url: str) -> Iterator[psycopg.Connection]:
    """An app whose tenants are ``orgs`` and whose tenant column is ``org_id``."""
    yield from _database(empty_database_url, ORGS)


@pytest.fixture
def campuses(empty_database_url: str) -> Iterator[psycopg.Connection]:
    """An app with a ``school_id`` column whose tenants are ``campuses``."""
    yield from _database(empty_database_url, CAMPUSES)


def violations(
    sql_dir: SqlDir, conn: psycopg.Connection, text: str, column: str | None
) -> list[Violation]:
    sql_dir.write("q.sql", text)
    [query] = load_queries(sql_dir.path)
    catalog = load_catalog(conn, tenant_column=column)
    return lint(query, parse_query(query), catalog)


def owned(conn: psycopg.Connection, column: str | None) -> set[str]:
    catalog = load_catalog(conn, tenant_column=column)
    return {t.qualname for t in catalog.tables.values() if t.tenant_owned}


# no tenant column


def test_without_a_tenant_column_no_table_is_tenant_owned(
    pg: psycopg.Connection,
) -> None:
    assert owned(pg, None) == set()
    assert "classes" in owned(pg, "school_id")


@pytest.mark.parametrize(
    "text",
    [
        "-- name: list_classes :many\nSELECT id FROM classes;\n",
        "-- name: add_class :execrows\n"
        "INSERT INTO terms (id, school_year_id, name, sort_order, starts_on, ends_on)"
        " VALUES (:id, :y, :n, 1, :s, :e);\n",
        # a '-- tenant: any' header without a role: no tenant-role either
        "-- name: count_classes :scalar\n"
        "-- tenant: any: a count\n"
        "SELECT count(*) FROM classes;\n",
    ],
)
def test_without_a_tenant_column_no_tenant_rule_fires(
    sql_dir: SqlDir, pg: psycopg.Connection, text: str
) -> None:
    assert violations(sql_dir, pg, text, None) == []


UNSCOPED = "-- name: list_classes :many\nSELECT id FROM classes;\n"


def test_check_with_tenant_column_none_reports_no_tenant_problem(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    sql_dir.write("classes.sql", UNSCOPED)
    report = check_connection(load_queries(sql_dir.path), pg, tenant_column=None)
    assert report.ok, report.problems


def write_config(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(f'[tool.yeko-sql]\nsql = ["sql"]\n{line}\n', encoding="utf-8")
    return path


def test_check_defaults_to_an_app_without_a_tenant_column(
    sql_dir: SqlDir,
    pg: psycopg.Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(write_config(tmp_path, "")))
    sql_dir.write("classes.sql", UNSCOPED)
    assert check_connection(load_queries(sql_dir.path), pg).ok


def test_check_defaults_to_the_configured_tenant_column(
    sql_dir: SqlDir,
    pg: psycopg.Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_config(tmp_path, 'tenant_column = "school_id"')
    monkeypatch.setenv(CONFIG_ENV, str(config))
    sql_dir.write("classes.sql", UNSCOPED)
    report = check_connection(load_queries(sql_dir.path), pg)
    assert [p.rule for p in report.problems] == ["tenant"]


# org_id, tenants in orgs


def test_org_id_makes_tables_tenant_owned_through_any_foreign_key(
    orgs: psycopg.Connection,
) -> None:
    assert owned(orgs, "org_id") == {"projects", "tasks"}
    assert owned(orgs, "school_id") == {"classes"}
    assert owned(orgs, None) == set()


def test_the_tenant_rule_fires_for_an_unscoped_org_table_and_names_org_id(
    sql_dir: SqlDir, orgs: psycopg.Connection
) -> None:
    [violation] = violations(
        sql_dir,
        orgs,
        "-- name: list_projects :many\n"
        "SELECT p.id\n"
        "FROM projects AS p\n"
        "WHERE p.name = :name;\n",
        "org_id",
    )
    assert (violation.rule, violation.line) == ("tenant", 3)
    assert violation.message() == (
        "rule tenant: 'projects AS p' is not scoped to one org: no"
        " 'p.org_id = :param' in the AND chain of the WHERE or JOIN ON that"
        " reads it; add 'AND p.org_id = :org_id', or join it on"
        " 'p.org_id = <a scoped alias>.org_id', or explain why not with"
        " '-- tenant: any: <reason>'"
    )


SCOPED = [
    "SELECT id FROM projects WHERE org_id = :org_id",
    "SELECT id FROM projects WHERE org_id = ANY(:org_ids)",
    "SELECT id FROM projects"
    " WHERE org_id = NULLIF(current_setting('yeko.org_id', true), '')",
    "SELECT t.id FROM tasks AS t"
    " JOIN projects AS p ON p.org_id = t.org_id AND p.id = t.project_id"
    " WHERE p.org_id = :org_id",
    "SELECT t.id FROM tasks AS t JOIN projects AS p USING (org_id)"
    " WHERE p.org_id = :org_id",
    # not tenant-owned: a nullable org_id, one in no foreign key, Yeko's names
    "SELECT id FROM audit_events",
    "SELECT id FROM notes",
    "SELECT id FROM orgs",
    "SELECT id FROM classes",
]


@pytest.mark.parametrize("sql", SCOPED)
def test_the_tenant_rule_passes_org_tables_scoped_on_org_id(
    sql_dir: SqlDir, orgs: psycopg.Connection, sql: str
) -> None:
    text = f"-- name: list_rows :many\n{sql};\n"
    assert violations(sql_dir, orgs, text, "org_id") == []


UNSCOPED_ORGS = [
    # (the SQL, the start of the problem)
    (
        "SELECT id FROM projects WHERE school_id = :school_id",
        "'projects' is not scoped to one org",
    ),
    (
        "SELECT id FROM projects"
        " WHERE org_id = NULLIF(current_setting('yeko.school_id', true), '')",
        "'projects' is not scoped to one org",
    ),
    (
        "SELECT t.id FROM tasks AS t JOIN projects AS p ON p.id = t.project_id"
        " WHERE p.org_id = :org_id",
        "'tasks AS t' is not scoped to one org",
    ),
    (
        "INSERT INTO projects (id, name) VALUES (:id, :name)",
        "INSERT INTO 'projects' sets no org_id",
    ),
    (
        "INSERT INTO projects (id, org_id, name) VALUES (:id, 'x', :name)",
        "INSERT INTO 'projects' takes its org_id from neither a parameter nor a"
        " row scoped to an org",
    ),
    (
        "INSERT INTO projects (id, org_id, name) VALUES (:id, :org_id, :name)"
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
        "ON CONFLICT DO UPDATE may update a row of 'projects' of another org:"
        " its conflict key has no org_id",
    ),
]


@pytest.mark.parametrize(("sql", "problem"), UNSCOPED_ORGS)
def test_the_tenant_rule_holds_org_tables_to_org_id(
    sql_dir: SqlDir, orgs: psycopg.Connection, sql: str, problem: str
) -> None:
    found = violations(sql_dir, orgs, f"-- name: q :execrows\n{sql};\n", "org_id")
    assert [v.rule for v in found] == ["tenant"]
    assert found[0].problem.startswith(problem)


def test_the_tenant_rule_passes_an_org_upsert_keyed_on_org_id(
    sql_dir: SqlDir, orgs: psycopg.Connection
) -> None:
    text = (
        "-- name: upsert_project :execrows\n"
        "INSERT INTO projects (id, org_id, name) VALUES (:id, :org_id, :name)\n"
        "ON CONFLICT (org_id, name) DO UPDATE SET id = EXCLUDED.id;\n"
    )
    assert violations(sql_dir, orgs, text, "org_id") == []


def test_tenant_role_names_the_org(sql_dir: SqlDir, orgs: psycopg.Connection) -> None:
    [violation] = violations(
        sql_dir,
        orgs,
        "-- name: count_projects :scalar\n"
        "-- tenant: any: a platform count\n"
        "SELECT count(*) FROM projects;\n",
        "org_id",
    )
    assert violation.rule == "tenant-role"
    assert violation.problem.startswith(
        "query 'count_projects' is not scoped to an org ('-- tenant: any')"
    )


def test_check_holds_queries_to_the_tenant_column_it_is_given(
    sql_dir: SqlDir, orgs: psycopg.Connection
) -> None:
    sql_dir.write(
        "projects.sql",
        "-- name: list_projects :many\nSELECT id FROM projects WHERE name = :n;\n",
    )
    report = check_connection(load_queries(sql_dir.path), orgs, tenant_column="org_id")
    [problem] = report.problems
    assert (problem.rule, problem.line) == ("tenant", 2)
    assert "'projects' is not scoped to one org: no 'projects.org_id = :param'" in str(
        problem
    )


# the tenants table's name does not matter


def test_a_school_id_referencing_campuses_is_tenant_owned(
    sql_dir: SqlDir, campuses: psycopg.Connection
) -> None:
    assert owned(campuses, "school_id") == {"rooms"}
    text = "-- name: list_rooms :many\nSELECT id FROM rooms WHERE name = :name;\n"
    [violation] = violations(sql_dir, campuses, text, "school_id")
    assert violation.problem.startswith("'rooms' is not scoped to one school")
    scoped = "-- name: list_rooms :many\nSELECT id FROM rooms WHERE school_id = :s;\n"
    assert violations(sql_dir, campuses, scoped, "school_id") == []


def test_a_misspelled_tenant_column_is_a_config_error_not_a_silent_pass(
    sql_dir: SqlDir,
    pg: psycopg.Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_config(tmp_path, 'tenant_column = "shcool_id"')
    monkeypatch.setenv(CONFIG_ENV, str(config))
    sql_dir.write("classes.sql", UNSCOPED)
    with pytest.raises(ConfigError, match="did you mean 'school_id'") as raised:
        check_connection(load_queries(sql_dir.path), pg)
    assert raised.value.path == str(config)
    assert "the tenant rules would check nothing" in str(raised.value)
