"""The wheel carries sql/ and migrations/, so an install needs no checkout."""

import subprocess
import sys
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
    listed = subprocess.run(
        [str(venv / "bin" / "yeko-sql"), "migrate", "list"],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    expected = [migration_id for migration_id, _ in list_migrations()]
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
        [str(venv / "bin" / "python"), "-m", "yeko_sql", "migrate", "list"],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    )
    assert as_module.stdout.splitlines() == listed
