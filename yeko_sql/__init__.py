"""yeko-sql: hand-written SQL files, called by name, rows as msgspec Structs."""

from yeko_sql.errors import (
    DevServerError,
    MigrationError,
    NoRowError,
    ParameterError,
    QueryFileError,
    RowDecodeError,
    SchemaMismatchError,
    YekoSqlError,
)

__all__ = [
    "DevServerError",
    "MigrationError",
    "NoRowError",
    "ParameterError",
    "QueryFileError",
    "RowDecodeError",
    "SchemaMismatchError",
    "YekoSqlError",
]
