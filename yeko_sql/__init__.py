"""yeko-sql: hand-written SQL files, called by name, rows as msgspec Structs."""

from yeko_sql.bulk import (
    chunked,
    columns_of,
    copy_structs,
    copy_structs_async,
    index_by,
)
from yeko_sql.chunks import ChunkLoadError, ChunkReport, load_in_chunks
from yeko_sql.compiler import Query
from yeko_sql.database import Database, Transaction
from yeko_sql.database_async import AsyncDatabase, AsyncTransaction
from yeko_sql.errors import (
    ConfigError,
    DevServerError,
    DuplicateQueryError,
    EmptyQueryError,
    HeaderError,
    MigrationError,
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
from yeko_sql.kinds import Kind
from yeko_sql.loader import load_queries
from yeko_sql.pagination import KeysetPage, Page
from yeko_sql.registry import Namespace, Registry
from yeko_sql.retry import retry, retry_async
from yeko_sql.settings import Settings
from yeko_sql.worker import Worker

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
