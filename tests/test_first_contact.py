"""A new app's first minutes: its own config, or one clear line, never Yeko's files."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from yeko_sql import ConfigError, Database, ModelImportError, load_queries
from yeko_sql.cli.main import main
from yeko_sql.config import CONFIG_ENV
from yeko_sql.ops.migrate import apply_migrations

NOTES_SQL = """\
-- name: get_note :one
-- returns: Note
SELECT id, body FROM notes WHERE id = :id;
"""

NOTES_MODELS = """\
import msgspec


class Note(msgspec.Struct, frozen=True):
    id: str
    body: str
"""

NOTES_MIGRATION = """\
-- Create the notes table.
CREATE TABLE notes (id text PRIMARY KEY, body text NOT NULL);
"""


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no [tool.yeko-sql] anywhere above it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def notes_app(elsewhere: Path) -> Path:
    """A tiny app, not installed: pyproject, queries, Structs, one migration."""
    (elsewhere / "pyproject.toml").write_text(
        '[project]\nname = "notes"\n\n'
        "[tool.yeko-sql]\n"
        'sql = ["queries"]\n'
        'models = "notes_app.models"\n'
        'migrations = "migrations"\n'
        'database = "notes"\n'
    )
    (elsewhere / "queries").mkdir()
    (elsewhere / "queries" / "notes.sql").write_text(NOTES_SQL)
    (elsewhere / "notes_app").mkdir()
    (elsewhere / "notes_app" / "__init__.py").write_text("")
    (elsewhere / "notes_app" / "models.py").write_text(NOTES_MODELS)
    (elsewhere / "migrations").mkdir()
    (elsewhere / "migrations" / "0001_create-notes.sql").write_text(NOTES_MIGRATION)
    (elsewhere / "migrations" / "0001_create-notes.rollback.sql").write_text(
        "DROP TABLE notes;\n"
    )
    return elsewhere


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["list"], "'sql'"),
        (["check"], "'sql'"),
        (["migrate", "list"], "'migrations'"),
        (["migrate", "status", "--database-url", "postgresql:///x"], "'migrations'"),
        (["server", "url"], "'database'"),
    ],
)
def test_without_config_every_command_says_which_key_in_one_line(
    elsewhere: Path, argv: list[str], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    line = _one_line(err)
    assert line.startswith("yeko-sql: pyproject.toml: [tool.yeko-sql] declares no")
    assert key in line
    assert "yeko" not in out


def test_without_config_no_database_named_yeko_is_made(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", str(elsewhere)]) == 0  # an explicit folder needs no config
    capsys.readouterr()
    assert main(["describe", str(elsewhere)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "declares no 'database'" in line
    assert "DATABASE_URL" in line


def test_database_without_queries_and_config_raises(elsewhere: Path) -> None:
    with pytest.raises(ConfigError, match=r"declares no 'sql'"):
        Database("postgresql:///nowhere")
    with pytest.raises(ConfigError, match=r"declares no 'migrations'"):
        apply_migrations("postgresql:///nowhere")


def test_models_that_cannot_be_imported_are_one_line_and_exit_2(
    notes_app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "--models", "blog.models"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("yeko-sql: models 'blog.models': cannot import it (")
    assert "install the app" in line
    with pytest.raises(ModelImportError, match="No module named 'blog'"):
        load_queries(notes_app / "queries", models=["blog.models"])


def test_the_apps_root_is_on_the_path_as_pytests_rootdir_is(
    notes_app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deeper = notes_app / "queries"
    monkeypatch.chdir(deeper)
    assert main(["list"]) == 0
    assert "get_note" in capsys.readouterr().out
    assert main(["show", "notes.get_note"]) == 0
    assert "returns:    Note" in capsys.readouterr().out


@pytest.fixture
def own_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="yeko-first-", dir="/dev/shm"))
    parent.chmod(0o755)
    root = parent / "pg"
    monkeypatch.setenv("YEKO_DEVSERVER_DIR", str(root))
    try:
        yield root
    finally:
        main(["server", "destroy"])
        parent.rmdir()


def test_an_app_migrates_its_own_folder_and_gets_its_own_database(
    notes_app: Path, own_server: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["server", "start"]) == 0
    assert main(["migrate", "apply"]) == 0
    out = capsys.readouterr().out
    assert "0001_create-notes" in out
    assert main(["migrate", "status"]) == 0
    status = capsys.readouterr().out
    assert status.split() == [
        "applied",
        "0001_create-notes",
        "Create",
        "the",
        "notes",
        "table.",
    ]
    assert main(["server", "url", "--dbname", "scratch"]) == 0
    out, err = capsys.readouterr()
    scratch = out.strip()
    assert "declares no app_role" in err  # the owner's URL, said so
    with psycopg.connect(scratch) as conn:  # --dbname created it
        assert conn.execute("SELECT current_database()").fetchone() == ("scratch",)
    assert main(["server", "url", "--owner"]) == 0
    notes = capsys.readouterr().out.strip()
    with psycopg.connect(notes) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
        roles = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles")}
    assert "notes" in tables
    assert "schools" not in tables  # nothing of Yeko's
    assert not {r for r in roles if r.startswith("yeko_")}


def test_the_rehash_hint_of_an_edited_migration_works_on_the_apps_folder(
    notes_app: Path, own_server: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["server", "start"]) == 0
    assert main(["migrate", "apply"]) == 0
    migration = notes_app / "migrations" / "0001_create-notes.sql"
    migration.write_text(NOTES_MIGRATION.replace("-- Create", "-- Create (reworded)"))
    capsys.readouterr()
    assert main(["migrate", "apply"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "'0001_create-notes'" in line
    assert "yeko-sql migrate rehash" in line
    assert main(["migrate", "rehash"]) == 0
    assert "changed: 1\n  0001_create-notes" in capsys.readouterr().out
    assert main(["migrate", "apply"]) == 0
    assert main(["migrate", "status"]) == 0
