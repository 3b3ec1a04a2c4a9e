"""yeko-sql: hand-written SQL files, called by name, rows as msgspec Structs."""

from yeko_sql import _moved
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

_moved.install()
