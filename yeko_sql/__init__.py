"""yeko-sql: hand-written SQL files, called by name, rows as msgspec Structs.

Each public name is imported on first use (PEP 562), so ``import yeko_sql``, the
pytest plugin and ``yeko-sql --help`` do not pay for psycopg, pglast and yoyo
until something needs them.
"""

import importlib as _importlib
import typing as _typing

from yeko_sql import _moved

if _typing.TYPE_CHECKING:
    from yeko_sql.bulk.chunks import ChunkLoadError, ChunkReport, load_in_chunks
    from yeko_sql.bulk.copy import (
        chunked,
        columns_of,
        copy_structs,
        copy_structs_async,
        index_by,
    )
    from yeko_sql.bulk.worker import Worker
    from yeko_sql.errors import (
        ConfigError,
        DevServerError,
        DuplicateQueryError,
        EmptyQueryError,
        HeaderError,
        MigrationError,
        ModelImportError,
        NoRowError,
        ParameterError,
        PlaceholderError,
        QueryFileError,
        RowDecodeError,
        RowSecurityError,
        SchemaMismatchError,
        ScopeError,
        TooManyRowsError,
        TransactionClosedError,
        UnknownKindError,
        UnknownStructError,
        YekoSqlError,
    )
    from yeko_sql.ids import new_id
    from yeko_sql.query.compiler import Query
    from yeko_sql.query.kinds import Kind
    from yeko_sql.query.loader import load_queries
    from yeko_sql.query.registry import Namespace, Registry
    from yeko_sql.runtime.database import Database, Transaction
    from yeko_sql.runtime.database_async import AsyncDatabase, AsyncTransaction
    from yeko_sql.runtime.pagination import KeysetPage, Page
    from yeko_sql.runtime.retry import retry, retry_async
    from yeko_sql.settings import Settings

_HOMES = {
    "AsyncDatabase": "yeko_sql.runtime.database_async",
    "AsyncTransaction": "yeko_sql.runtime.database_async",
    "ChunkLoadError": "yeko_sql.bulk.chunks",
    "ChunkReport": "yeko_sql.bulk.chunks",
    "ConfigError": "yeko_sql.errors",
    "Database": "yeko_sql.runtime.database",
    "DevServerError": "yeko_sql.errors",
    "DuplicateQueryError": "yeko_sql.errors",
    "EmptyQueryError": "yeko_sql.errors",
    "HeaderError": "yeko_sql.errors",
    "KeysetPage": "yeko_sql.runtime.pagination",
    "Kind": "yeko_sql.query.kinds",
    "MigrationError": "yeko_sql.errors",
    "ModelImportError": "yeko_sql.errors",
    "Namespace": "yeko_sql.query.registry",
    "NoRowError": "yeko_sql.errors",
    "Page": "yeko_sql.runtime.pagination",
    "ParameterError": "yeko_sql.errors",
    "PlaceholderError": "yeko_sql.errors",
    "Query": "yeko_sql.query.compiler",
    "QueryFileError": "yeko_sql.errors",
    "Registry": "yeko_sql.query.registry",
    "RowDecodeError": "yeko_sql.errors",
    "RowSecurityError": "yeko_sql.errors",
    "SchemaMismatchError": "yeko_sql.errors",
    "ScopeError": "yeko_sql.errors",
    "Settings": "yeko_sql.settings",
    "TooManyRowsError": "yeko_sql.errors",
    "Transaction": "yeko_sql.runtime.database",
    "TransactionClosedError": "yeko_sql.errors",
    "UnknownKindError": "yeko_sql.errors",
    "UnknownStructError": "yeko_sql.errors",
    "Worker": "yeko_sql.bulk.worker",
    "YekoSqlError": "yeko_sql.errors",
    "chunked": "yeko_sql.bulk.copy",
    "columns_of": "yeko_sql.bulk.copy",
    "copy_structs": "yeko_sql.bulk.copy",
    "copy_structs_async": "yeko_sql.bulk.copy",
    "index_by": "yeko_sql.bulk.copy",
    "load_in_chunks": "yeko_sql.bulk.chunks",
    "load_queries": "yeko_sql.query.loader",
    "new_id": "yeko_sql.ids",
    "retry": "yeko_sql.runtime.retry",
    "retry_async": "yeko_sql.runtime.retry",
}
"""Where each public name lives."""

__all__ = [
    "AsyncDatabase",
    "AsyncTransaction",
    "ChunkLoadError",
    "ChunkReport",
    "ConfigError",
    "Database",
    "DevServerError",
    "DuplicateQueryError",
    "EmptyQueryError",
    "HeaderError",
    "KeysetPage",
    "Kind",
    "MigrationError",
    "ModelImportError",
    "Namespace",
    "NoRowError",
    "Page",
    "ParameterError",
    "PlaceholderError",
    "Query",
    "QueryFileError",
    "Registry",
    "RowDecodeError",
    "RowSecurityError",
    "SchemaMismatchError",
    "ScopeError",
    "Settings",
    "TooManyRowsError",
    "Transaction",
    "TransactionClosedError",
    "UnknownKindError",
    "UnknownStructError",
    "Worker",
    "YekoSqlError",
    "chunked",
    "columns_of",
    "copy_structs",
    "copy_structs_async",
    "index_by",
    "load_in_chunks",
    "load_queries",
    "new_id",
    "retry",
    "retry_async",
]


def __getattr__(name: str) -> _typing.Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'yeko_sql' has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


_moved.install()
