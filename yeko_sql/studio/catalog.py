"""The studio's view of the query folders: loaded file by file, described once.

A file that fails to load becomes a ``LoadError`` (path:line and the loader's
message) and the other files still load, so one typo never empties the
catalog. Every query is described (``verify.describe``) on a connection, once
per load: the run form takes its parameter types from there, the results
their column types and nullability.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from pglast.parser import scan

from yeko_sql.errors import QueryFileError
from yeko_sql.query.compiler import Query
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.verify.describe import QueryDescription, describe_connection

__all__ = ["Catalog", "CatalogState", "LoadError", "highlight", "load_catalog"]


@dataclass(frozen=True, slots=True)
class LoadError:
    """A query file that did not load: where, and the loader's message."""

    path: str
    line: int
    message: str


@dataclass(slots=True)
class Catalog:
    """The queries that loaded, their descriptions, and the files that did not."""

    registry: Registry
    errors: list[LoadError]
    described: dict[str, QueryDescription] = field(default_factory=dict)
    generation: int = 0
    loaded_at: float = field(default_factory=time.time)
    describe_error: str | None = None

    def queries(self) -> list[Query[object]]:
        """Every query, by namespace then name."""
        return sorted(self.registry, key=lambda q: (q.namespace, q.name))

    def search(self, text: str) -> list[Query[object]]:
        """Queries whose name, doc or SQL holds *text* (case-insensitive)."""
        needle = text.strip().lower()
        return [
            q
            for q in self.queries()
            if not needle
            or needle in q.qualname.lower()
            or needle in q.doc.lower()
            or needle in q.sql.lower()
        ]


def _sql_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += sorted(path.rglob("*.sql"))
    return files


def load_catalog(
    paths: Sequence[Path],
    models: Sequence[str],
    url: str | None,
    *,
    generation: int = 0,
) -> Catalog:
    """Load each file of *paths* on its own, then describe what loaded on *url*."""
    loaded: list[Query[object]] = []
    errors: list[LoadError] = []
    for path in _sql_files(paths):
        try:
            loaded += load_queries(path, models=models)
        except QueryFileError as exc:
            errors.append(LoadError(exc.path, exc.line, str(exc)))
        except (ImportError, OSError, UnicodeDecodeError) as exc:
            errors.append(LoadError(str(path), 1, f"{path}: {exc}"))
    try:
        registry = Registry(loaded)
    except QueryFileError as exc:  # a name defined in two files
        errors.append(LoadError(exc.path, exc.line, str(exc)))
        registry = Registry([])
    catalog = Catalog(registry=registry, errors=errors, generation=generation)
    if url is not None and loaded:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                report = describe_connection(list(registry), conn)
        except psycopg.Error as exc:
            catalog.describe_error = str(exc).strip()
        else:
            catalog.described = {f"{d.namespace}.{d.name}": d for d in report.queries}
    return catalog


class CatalogState:
    """The current catalog, replaced whole on each reload (thread-safe)."""

    def __init__(self, paths: Sequence[Path], models: Sequence[str], url: str) -> None:
        self.paths = list(paths)
        self.models = list(models)
        self.url = url
        self._lock = threading.Lock()
        self._catalog = load_catalog(self.paths, self.models, url)

    @property
    def current(self) -> Catalog:
        """The catalog pages read now."""
        return self._catalog

    def reload(self) -> Catalog:
        """Load every file again; the generation goes up by one."""
        with self._lock:
            fresh = load_catalog(
                self.paths,
                self.models,
                self.url,
                generation=self._catalog.generation + 1,
            )
            self._catalog = fresh
            return fresh


_CLASSES = {
    "SQL_COMMENT": "c",
    "C_COMMENT": "c",
    "SCONST": "s",
    "USCONST": "s",
    "BCONST": "s",
    "XCONST": "s",
    "ICONST": "n",
    "FCONST": "n",
}


def highlight(sql: str) -> str:
    """*sql* as HTML: keywords, strings, numbers, comments and ``:params`` marked.

    pglast's scanner classifies the tokens (it reads strings, dollar quotes
    and comments as PostgreSQL does); offsets are in UTF-8 bytes.
    """
    data = sql.encode()
    try:
        tokens = scan(sql)
    except Exception:  # noqa: BLE001  (a query the scanner refuses is shown plain)
        return html.escape(sql)
    out: list[str] = []
    done = 0
    previous: Any = None
    for token in tokens:
        start, end = token.start, token.end + 1
        out.append(html.escape(data[done:start].decode()))
        text = html.escape(data[start:end].decode())
        kind = _CLASSES.get(token.name)
        if token.kind != "NO_KEYWORD":
            kind = "k"
        elif (
            token.name == "IDENT"
            and previous is not None
            and previous.name == "ASCII_58"  # ':'
            and previous.end + 1 == start
        ):
            kind = "p"
        out.append(f'<span class="{kind}">{text}</span>' if kind else text)
        done = end
        previous = token
    out.append(html.escape(data[done:].decode()))
    return "".join(out)
