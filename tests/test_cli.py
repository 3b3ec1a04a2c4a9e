import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.cli.main import main


@pytest.fixture
def cli_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI's local server in a folder of its own; destroyed after the test."""
    parent = Path(tempfile.mkdtemp(prefix="yeko-cli-", dir="/dev/shm"))
    parent.chmod(0o755)  # the postgres user must reach the cluster when we are root
    root = parent / "pg"
    monkeypatch.setenv("YEKO_DEVSERVER_DIR", str(root))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    try:
        yield root
    finally:
        main(["server", "destroy"])
        parent.rmdir()  # destroy removed the cluster; its folder goes too
    assert not root.exists()


def test_server_start_status_url_stop_through_the_cli(
    cli_server: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["server", "start"]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("postgresql://postgres:")  # with the owner's password
    assert main(["server", "status"]) == 0
    assert capsys.readouterr().out.startswith("running")
    assert main(["server", "url", "--owner", "--dbname", "postgres"]) == 0
    assert capsys.readouterr().out.strip() == url
    assert main(["server", "stop"]) == 0
    assert main(["server", "status"]) == 3


def test_server_url_hands_out_the_app_role_and_the_owner_only_when_asked(
    cli_server: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["server", "start"]) == 0
    owner = capsys.readouterr().out.strip()
    assert main(["server", "url"]) == 0
    out, err = capsys.readouterr()
    app = out.strip()
    app_password = psycopg.conninfo.conninfo_to_dict(app)["password"]
    owner_password = psycopg.conninfo.conninfo_to_dict(owner)["password"]
    assert app_password != owner_password  # each role has its own
    assert app == owner.replace(
        f"//postgres:{owner_password}@", f"//yeko_app:{app_password}@"
    ).replace("/postgres", "/yeko")
    assert "role 'yeko_app' does not exist yet; run 'yeko-sql migrate'" in err

    assert main(["migrate"]) == 0  # the local server's yeko database, as its owner
    capsys.readouterr()
    assert main(["server", "url"]) == 0
    assert capsys.readouterr() == (app + "\n", "")
    with psycopg.connect(app) as conn:
        row = conn.execute(
            "SELECT current_user, row_security_active('students'),"
            " (SELECT count(*) FROM students)"
        ).fetchone()
    assert row == ("yeko_app", True, 0)
    assert main(["server", "url", "--owner"]) == 0
    owner_yeko = capsys.readouterr().out.strip()
    assert owner_yeko == owner.removesuffix("postgres") + "yeko"
    with psycopg.connect(owner_yeko) as conn:
        row = conn.execute(
            "SELECT current_user, (SELECT count(*) FROM _yoyo_migration)"
        ).fetchone()
    assert row is not None
    assert row[0] == "postgres"
    assert row[1] > 40  # the owner migrated


def test_list_shows_namespaces_queries_kinds_and_docs(
    sql_dir: SqlDir, capsys: pytest.CaptureFixture[str]
) -> None:
    sql_dir.write(
        "schools.sql",
        """
        -- name: list_schools :page
        -- Schools of one status, newest first.
        SELECT id, count(*) OVER () AS total_count
        FROM schools
        WHERE status = :status
        ORDER BY id
        LIMIT :limit OFFSET :offset;
        """,
    )
    assert main(["list", str(sql_dir.path)]) == 0
    out = capsys.readouterr().out
    assert "schools  (1 queries)" in out
    assert "list_schools" in out
    assert ":page" in out
    assert "Schools of one status, newest first." in out


def test_show_prints_doc_parameters_returns_and_sql(
    sql_dir: SqlDir, capsys: pytest.CaptureFixture[str]
) -> None:
    sql_dir.write(
        "schools.sql",
        """
        -- name: list_schools :page
        -- Schools of one status, newest first.
        SELECT id, count(*) OVER () AS total_count
        FROM schools
        WHERE status = :status
        ORDER BY id
        LIMIT :limit OFFSET :offset;
        """,
    )
    assert main(["show", "schools.list_schools", str(sql_dir.path)]) == 0
    out = capsys.readouterr().out
    assert "parameters: status, page, page_size" in out
    assert "WHERE status = :status" in out
    assert main(["show", "schools.list_school", str(sql_dir.path)]) == 2
    assert "did you mean 'schools.list_schools'" in capsys.readouterr().err


def test_show_marks_optional_parameters(
    sql_dir: SqlDir, capsys: pytest.CaptureFixture[str]
) -> None:
    sql_dir.write(
        "schools.sql",
        """
        -- name: count_schools :scalar
        -- budget: 5ms
        SELECT count(*) FROM schools
        WHERE true
          [[ AND status = :status ]];
        """,
    )
    assert main(["show", "schools.count_schools", str(sql_dir.path)]) == 0
    out = capsys.readouterr().out
    assert "parameters: status?" in out
    assert "optional:   status (None or absent: no filter)" in out
    assert out.count("budget:") == 1


def test_a_load_error_is_one_line_with_file_and_line(
    sql_dir: SqlDir, capsys: pytest.CaptureFixture[str]
) -> None:
    path = sql_dir.write("schools.sql", "-- name: list_schools :pages\nSELECT 1;\n")
    assert main(["list", str(sql_dir.path)]) == 2
    assert capsys.readouterr().err.startswith(
        f"yeko-sql: {path}:1: unknown kind ':pages'"
    )


def test_help_imports_none_of_the_heavy_packages() -> None:
    """``yeko-sql --help`` builds every parser, entry points' included, and
    imports no driver, parser or migration tool (benchmarks time the start)."""
    code = (
        "import importlib, sys\n"
        "main = importlib.import_module('yeko_sql.cli.main')\n"
        "try:\n"
        "    main.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {'msgspec', 'psycopg', 'psycopg_pool', 'pglast', 'yoyo'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == "[]"
