"""The ``sql_dir`` fixture: a folder of ``.sql`` snippets written by a test."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


class SqlDir:
    """A folder under ``tmp_path`` that tests write ``.sql`` files into."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, name: str, text: str) -> Path:
        """Write *text*, dedented and without its first newline, to *name*.

        ``'''`` snippets can start on the line after the quotes and still have
        their first SQL line be line 1 of the file.
        """
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).removeprefix("\n"), encoding="utf-8")
        return path


@pytest.fixture
def sql_dir(tmp_path: Path) -> SqlDir:
    """An empty folder for ``.sql`` files, fresh for each test."""
    folder = tmp_path / "sql"
    folder.mkdir()
    return SqlDir(folder)
