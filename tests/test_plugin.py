"""yeko_sql.testing, as an app meets it: a pytest run in a folder of its own."""

import subprocess
import sys
import textwrap

import psycopg
import pytest

from tests.fix_server import ServerInfo
from yeko_sql.testing import TEST_URL_ENV

PYPROJECT = """\
[tool.yeko-sql]
sql = ["sql"]
migrations = "migrations"
database = "notes"
"""

MIGRATION = """\
-- Create notes.
CREATE TABLE notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body text NOT NULL
);
"""

QUERIES = """\
-- name: create_note :one
INSERT INTO notes (body)
VALUES (:body)
RETURNING id, body;

-- name: count_notes :scalar
SELECT count(*) FROM notes;
"""

TESTS = """\
import asyncio

import psycopg


def test_a_note_lands_in_this_tests_database(yeko_db, yeko_database_url):
    note = yeko_db.notes.create_note(body="hello")
    assert note.body == "hello"
    with psycopg.connect(yeko_database_url) as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("hello",)]


def test_the_next_test_starts_from_the_migrated_template(yeko_db):
    assert yeko_db.notes.count_notes() == 0


def test_the_async_twin_opens_in_the_tests_loop(yeko_adb):
    async def main():
        async with yeko_adb as adb:
            await adb.notes.create_note(body="async")
            return await adb.notes.count_notes()

    assert asyncio.run(main()) == 1


def test_the_url_names_the_clone(yeko_database_url):
    params = psycopg.conninfo.conninfo_to_dict(yeko_database_url)
    print("CLONE", params["host"], params["port"], params["dbname"])
"""


def _app(pytester: pytest.Pytester, pyproject: str = PYPROJECT) -> None:
    pytester.makefile(".toml", pyproject=pyproject)
    (pytester.path / "migrations").mkdir()
    (pytester.path / "migrations" / "0001_create-notes.sql").write_text(MIGRATION)
    (pytester.path / "migrations" / "0001_create-notes.rollback.sql").write_text(
        "DROP TABLE notes;\n"
    )
    (pytester.path / "sql").mkdir()
    (pytester.path / "sql" / "notes.sql").write_text(QUERIES)
    pytester.makepyfile(test_notes=TESTS)


def test_an_app_on_the_named_server_gets_a_migrated_clone_per_test(
    pytester: pytest.Pytester, pg_server: ServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app(pytester)
    monkeypatch.setenv(TEST_URL_ENV, pg_server.url())
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [f"*CLONE {pg_server.host} {pg_server.port} notes_test*"]
    )
    with psycopg.connect(pg_server.url()) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'notes_test%'"
        ).fetchall()
    assert left == []  # the template and the clones are dropped


@pytest.mark.slow
def test_without_a_named_server_the_session_starts_its_own(
    pytester: pytest.Pytester, pg_server: ServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app(pytester)
    monkeypatch.delenv(TEST_URL_ENV, raising=False)
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*CLONE 127.0.0.1 * notes_test*"])
    assert f"CLONE 127.0.0.1 {pg_server.port} " not in result.stdout.str()


def test_missing_migrations_key_is_one_clear_error(
    pytester: pytest.Pytester, pg_server: ServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app(pytester, PYPROJECT.replace('migrations = "migrations"\n', ""))
    pytester.makepyfile(
        test_plain="def test_without_a_database_runs():\n    assert True\n"
    )
    monkeypatch.setenv(TEST_URL_ENV, pg_server.url())
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, errors=4)
    declared = (
        f"{pytester.path / 'pyproject.toml'}: [tool.yeko-sql] declares no "
        "'migrations', which the yeko_sql.testing fixtures need; add "
        'migrations = "<folder>" there'
    )
    lines = result.stdout.lines
    assert lines.count(declared) == 4  # each test's error is that line alone
    assert not any("plugin.py" in line or "Traceback" in line for line in lines)


def test_without_pytest_postgresql_only_database_tests_fail(
    pytester: pytest.Pytester, pg_server: ServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app(pytester)
    pytester.makeconftest(
        "import sys\nsys.modules['pytest_postgresql.janitor'] = None\n"
    )
    pytester.makepyfile(
        test_plain="def test_without_a_database_runs():\n    assert True\n"
    )
    monkeypatch.setenv(TEST_URL_ENV, pg_server.url())
    result = pytester.runpytest_subprocess("-p", "no:pytest_postgresql")
    result.assert_outcomes(passed=1, errors=4)
    hint = (
        "yeko_sql.testing: pytest-postgresql is not installed, and the test "
        "databases are made with it; pip install 'yeko-sql[testing]'"
    )
    assert result.stdout.lines.count(hint) == 4


def test_the_plugin_imports_no_database_machinery() -> None:
    probe = textwrap.dedent(
        """
        import sys
        import yeko_sql.testing.plugin
        heavy = ("pytest_postgresql", "yeko_sql.ops.devserver", "yeko_sql.ops.migrate")
        print(sorted(m for m in heavy if m in sys.modules))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    )
    assert out.stdout.strip() == "[]"
