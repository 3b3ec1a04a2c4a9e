"""Typed facades of Yeko's bundled queries, for mypy and pyright.

``db.<namespace>.<query>`` is built at runtime, so a type checker sees no
query on a plain ``Database``. ``YekoDatabase`` is a ``Database`` and behaves
exactly like one, except that its default registry is Yeko's bundled queries
(from any working directory, installed or not); the
generated ``typed.pyi`` beside this module declares each namespace and query
on it, with keyword parameters and the return type. Regenerate the stub with
``yeko-sql generate`` after changing a query; see docs/stubs.md.

The stub is all a type checker reads of this module, so it defines the four
classes and nothing else (``yeko-sql generate`` refuses to run otherwise); put
anything more in another module.
"""

from __future__ import annotations

from yeko_sql.query.registry import Registry
from yeko_sql.runtime.database import Database, Transaction
from yeko_sql.runtime.database_async import AsyncDatabase, AsyncTransaction
from yeko_sql.settings import Settings
from yeko_sql.yeko.resources import load_yeko_queries

__all__ = [
    "AsyncYekoDatabase",
    "AsyncYekoTransaction",
    "YekoDatabase",
    "YekoTransaction",
]


class YekoDatabase(Database):
    """A ``Database`` whose queries the stub types: ``db.schools.get_school(…)``."""

    def __init__(
        self,
        url: str | None = None,
        *,
        queries: Registry | None = None,
        settings: Settings | None = None,
    ) -> None:
        if queries is None:
            queries = load_yeko_queries()
        super().__init__(url, queries=queries, settings=settings)


class AsyncYekoDatabase(AsyncDatabase):
    """An ``AsyncDatabase`` whose queries the stub types."""

    def __init__(
        self,
        url: str | None = None,
        *,
        queries: Registry | None = None,
        settings: Settings | None = None,
    ) -> None:
        if queries is None:
            queries = load_yeko_queries()
        super().__init__(url, queries=queries, settings=settings)


YekoTransaction = Transaction
"""What ``YekoDatabase.transaction()`` yields; the stub types its queries."""

AsyncYekoTransaction = AsyncTransaction
"""What ``AsyncYekoDatabase.transaction()`` yields; the stub types its queries."""
