"""The wheel carries Yeko's sql/ and migrations/, so an install needs no checkout.

Outside a project that declares ``[tool.yeko-sql]``, the installed command
uses nobody's files by default: it says which key is missing.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from yeko_sql.ops.migrate import list_migrations

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_an_installed_wheel_finds_its_migrations_and_queries(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(dist),
        ],
        cwd=PROJECT,
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("yeko_sql-*.whl"))
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    unconfigured = subprocess.run(
        [str(venv / "bin" / "yeko-sql"), "migrate", "list"],
        cwd=elsewhere,
        check=False,
        capture_output=True,
        text=True,
    )
    assert unconfigured.returncode == 2
    assert unconfigured.stdout == ""
    assert "[tool.yeko-sql] declares no 'migrations'" in unconfigured.stderr

    bundled = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from yeko_sql.yeko.resources import migrations_dir;"
            "print(migrations_dir())",
        ],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert bundled.startswith(str(venv))
    listed = subprocess.run(
        [str(venv / "bin" / "yeko-sql"), "migrate", "list", "--source", bundled],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    yeko = PROJECT / "migrations"
    expected = [migration_id for migration_id, _ in list_migrations(source=yeko)]
    assert [line.split()[0] for line in listed] == expected

    probe = (
        "import yeko_sql, yeko_sql.yeko.resources as r;"
        "print(yeko_sql.__file__);"
        "print(sorted(p.name for p in r.sql_dir().glob('*.sql')))"
    )
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert out[0].startswith(str(venv))
    assert out[1] == repr(sorted(p.name for p in (PROJECT / "sql").glob("*.sql")))

    as_module = subprocess.run(
        [
            str(venv / "bin" / "python"),
            *("-m", "yeko_sql", "migrate", "list", "--source", bundled),
        ],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    )
    assert as_module.stdout.splitlines() == listed

    # The studio's pages and assets ship in the wheel (no CDN); without its
    # extra the command says what to install.
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "yeko_sql/studio/static/studio.js" in names
    assert "yeko_sql/studio/static/studio.css" in names
    assert "yeko_sql/studio/templates/query.html" in names
    no_extra = subprocess.run(
        [str(venv / "bin" / "yeko-sql"), "studio", "--database-url", "dbname=x"],
        cwd=elsewhere,
        check=False,
        capture_output=True,
        text=True,
    )
    assert no_extra.returncode == 2
    assert "pip install 'yeko-sql[studio]'" in no_extra.stderr
