import tempfile
from pathlib import Path

import pytest

from tests.fix_sqlfiles import SqlDir
from yeko_sql.cli import main


def test_server_start_status_url_stop_through_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = Path(tempfile.mkdtemp(prefix="yeko-cli-", dir="/dev/shm"))
    parent.chmod(0o755)  # the postgres user must reach the cluster when we are root
    root = parent / "pg"
    monkeypatch.setenv("YEKO_DEVSERVER_DIR", str(root))
    try:
        assert main(["server", "start"]) == 0
        url = capsys.readouterr().out.strip()
        assert url.startswith("postgresql://postgres@127.0.0.1:")
        assert main(["server", "status"]) == 0
        assert capsys.readouterr().out.startswith("running")
        assert main(["server", "url", "--dbname", "yeko"]) == 0
        assert capsys.readouterr().out.strip() == url.removesuffix("postgres") + "yeko"
        assert main(["server", "stop"]) == 0
        assert main(["server", "status"]) == 3
    finally:
        main(["server", "destroy"])
        parent.rmdir()  # destroy removed the cluster; its folder goes too
    assert not root.exists()


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


def test_a_load_error_is_one_line_with_file_and_line(
    sql_dir: SqlDir, capsys: pytest.CaptureFixture[str]
) -> None:
    path = sql_dir.write("schools.sql", "-- name: list_schools :pages\nSELECT 1;\n")
    assert main(["list", str(sql_dir.path)]) == 2
    assert capsys.readouterr().err.startswith(
        f"yeko-sql: {path}:1: unknown kind ':pages'"
    )
