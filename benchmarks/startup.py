"""How long a command takes to start: ``yeko-sql --help`` against plain Python.

Every case is a fresh interpreter (``subprocess.run``), as a shell runs the
command. The floor is ``python -c pass``; ``import psycopg`` is what any
psycopg program pays before its first line. ``yeko-sql --help`` builds every
command's parser, those of installed packages included, and must not import
the driver, pglast or yoyo (issue 16: at most 0.15 s).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import Group

__all__ = ["startup_group"]

_CLI = shutil.which("yeko-sql") or str(Path(sys.executable).with_name("yeko-sql"))


def _run(*argv: str) -> object:
    return subprocess.run(argv, check=True, capture_output=True)  # noqa: S603


def startup_group() -> Group:
    """Start-up time of the CLI and of imports, each in a new interpreter."""
    python = sys.executable
    return Group(
        key="startup",
        title="start a new interpreter",
        cases={
            "python -c pass (floor)": lambda: _run(python, "-c", "pass"),
            "python -c 'import psycopg'": lambda: _run(python, "-c", "import psycopg"),
            "python -c 'import yeko_sql'": lambda: _run(
                python, "-c", "import yeko_sql"
            ),
            "yeko-sql --help": lambda: _run(_CLI, "--help"),
        },
    )
