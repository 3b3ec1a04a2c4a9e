"""Typed facades of Yeko's bundled queries, for mypy and pyright.

``db.<namespace>.<query>`` is built at runtime, so a type checker sees no
query on a plain ``Database``. ``YekoDatabase`` is a ``Database`` and behaves
exactly like one (its default registry is already the bundled queries); the
generated ``typed.pyi`` beside this module declares each namespace and query
on it, with keyword parameters and the return type. Regenerate the stub with
``yeko-sql generate`` after changing a query; see docs/stubs.md.
"""

from __future__ import annotations

from yeko_sql.runtime.database import Database, Transaction
from yeko_sql.runtime.database_async import AsyncDatabase, AsyncTransaction

__all__ = [
    "AsyncYekoDatabase",
    "AsyncYekoTransaction",
    "YekoDatabase",
    "YekoTransaction",
]


class YekoDatabase(Database):
    """A ``Database`` whose queries the stub types: ``db.schools.get_school(…)``."""


class AsyncYekoDatabase(AsyncDatabase):
    """An ``AsyncDatabase`` whose queries the stub types."""


YekoTransaction = Transaction
"""What ``YekoDatabase.transaction()`` yields; the stub types its queries."""

AsyncYekoTransaction = AsyncTransaction
"""What ``AsyncYekoDatabase.transaction()`` yields; the stub types its queries."""
