"""Snippets: saved runs, as files in the project, reviewed in pull requests.

A snippet is a ``.sql`` file in the snippets folder (``studio-snippets/`` of
the project unless ``--snippets`` says otherwise), written so a reviewer reads
it like any query file::

    -- snippet: pending_6eme
    -- query: enrollments.list_school_year_enrollments
    -- school: h00000000000000000001
    -- param status: pending
    -- param grade_id: NULL

A snippet of the SQL console (``--sql-console``) has no ``query:`` line and
keeps its SQL below the header instead. Nothing lives in browser storage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Snippet", "SnippetError", "SnippetStore"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
NULL = "NULL"


class SnippetError(ValueError):
    """A snippet name or file that cannot be used."""


@dataclass(slots=True)
class Snippet:
    """A named query with its values, or console SQL."""

    name: str
    query: str | None = None
    school: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)  # None: NULL
    sql: str = ""

    def text(self) -> str:
        """The file's content."""
        lines = [f"-- snippet: {self.name}"]
        if self.query:
            lines.append(f"-- query: {self.query}")
        if self.school:
            lines.append(f"-- school: {self.school}")
        for key, value in self.params.items():
            shown = NULL if value is None else value.replace("\n", " ")
            lines.append(f"-- param {key}: {shown}")
        body = self.sql.strip()
        return "\n".join(lines) + ("\n" + body if body else "") + "\n"

    @classmethod
    def parse(cls, name: str, text: str) -> Snippet:
        """Read a snippet file's *text*."""
        snippet = cls(name=name)
        body: list[str] = []
        for line in text.splitlines():
            header = re.match(r"^-- (snippet|query|school|param ([\w]+)): ?(.*)$", line)
            if header and not body:
                key, param, value = header.groups()
                if key == "query":
                    snippet.query = value.strip()
                elif key == "school":
                    snippet.school = value.strip() or None
                elif param:
                    snippet.params[param] = None if value == NULL else value
                continue
            body.append(line)
        snippet.sql = "\n".join(body).strip()
        return snippet


class SnippetStore:
    """The snippets folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise SnippetError(
                f"{name!r} is not a snippet name: lowercase letters, digits, _ and -"
            )
        return self.folder / f"{name}.sql"

    def list(self) -> list[Snippet]:
        """Every snippet, by name."""
        if not self.folder.is_dir():
            return []
        return [
            Snippet.parse(path.stem, path.read_text())
            for path in sorted(self.folder.glob("*.sql"))
            if _NAME.match(path.stem)
        ]

    def get(self, name: str) -> Snippet:
        """The snippet *name*.

        Raises:
            SnippetError: no such snippet, or a bad name.
        """
        path = self._path(name)
        if not path.is_file():
            raise SnippetError(f"no snippet {name!r} in {self.folder}")
        return Snippet.parse(name, path.read_text())

    def save(self, snippet: Snippet) -> Path:
        """Write *snippet* (replacing one of the same name); its path."""
        path = self._path(snippet.name)
        self.folder.mkdir(parents=True, exist_ok=True)
        path.write_text(snippet.text())
        return path
