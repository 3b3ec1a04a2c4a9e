"""Every error yeko-sql raises, in one tree.

::

    YekoSqlError
    ├── QueryFileError(path, line)      a .sql file could not be loaded
    │   ├── UnknownKindError            ':pages' is not a kind
    │   ├── DuplicateQueryError         a name used twice (across files too)
    │   ├── UnknownStructError          '-- returns:' names no known Struct
    │   ├── EmptyQueryError             a header with no SQL under it
    │   ├── PlaceholderError            mixed '$1' and ':name', bad parameter names
    │   └── HeaderError                 missing name, unknown or repeated header key
    ├── ParameterError(query)           missing / unexpected, raised before sending
    ├── NoRowError(query)               ':one' found no row
    ├── TooManyRowsError(query)         ':one' found more than one row
    ├── RowDecodeError(query, column, field)
    ├── TransactionClosedError          a call on a transaction whose block ended
    ├── ScopeError                      a nested scope that cannot join the outer one
    │   └── RowSecurityError            for_school where row-level security is off
    ├── SchemaMismatchError(path, line, column, field)   (check)
    ├── ChunkLoadError(report, failure) a chunk of load_in_chunks failed (chunks)
    ├── ConfigError(path, problem)      [tool.yeko-sql] missing, unreadable or wrong
    ├── ModelImportError(module)        a models module that cannot be imported
    ├── MigrationError                  applying, locking, edited files
    └── DevServerError                  the local PostgreSQL

Errors keep their facts as attributes and pass them to ``super().__init__`` so
they pickle; ``__str__`` formats ``<where>: <what>; <hint>``.

PostgreSQL errors are never wrapped: psycopg's class-per-SQLSTATE tree with
``.diag`` is kept, and the executor adds a note naming the query.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DevServerError",
    "DuplicateQueryError",
    "EmptyQueryError",
    "HeaderError",
    "MigrationError",
    "ModelImportError",
    "NoRowError",
    "ParameterError",
    "PlaceholderError",
    "QueryFileError",
    "RowDecodeError",
    "RowSecurityError",
    "SchemaMismatchError",
    "ScopeError",
    "TooManyRowsError",
    "TransactionClosedError",
    "UnknownKindError",
    "UnknownStructError",
    "YekoSqlError",
]


def _with_hint(text: str, hint: str) -> str:
    return f"{text}; {hint}" if hint else text


class YekoSqlError(Exception):
    """The root of every error yeko-sql raises itself."""


class QueryFileError(YekoSqlError):
    """A .sql file could not be loaded; says which file and line."""

    def __init__(self, path: str, line: int, problem: str, hint: str = "") -> None:
        super().__init__(path, line, problem, hint)  # args round-trip: picklable
        self.path, self.line, self.problem, self.hint = path, line, problem, hint

    def __str__(self) -> str:
        return _with_hint(f"{self.path}:{self.line}: {self.problem}", self.hint)


class UnknownKindError(QueryFileError):
    """A query header names a kind that does not exist."""


class DuplicateQueryError(QueryFileError):
    """Two queries share a name within a namespace."""


class UnknownStructError(QueryFileError):
    """``-- returns:`` names a Struct that no model module defines."""


class EmptyQueryError(QueryFileError):
    """A query header has no SQL body under it."""


class PlaceholderError(QueryFileError):
    """A body mixes ``$1`` and ``:name`` styles or names a parameter badly."""


class HeaderError(QueryFileError):
    """A header line is missing, repeated or unknown."""


class ParameterError(YekoSqlError):
    """A call passed a missing or unexpected keyword; nothing was sent."""

    def __init__(self, query: str, problem: str, hint: str = "") -> None:
        super().__init__(query, problem, hint)
        self.query, self.problem, self.hint = query, problem, hint

    def __str__(self) -> str:
        return _with_hint(f"{self.query}: {self.problem}", self.hint)


class NoRowError(YekoSqlError):
    """A ``:one`` query returned no row."""

    def __init__(self, query: str, hint: str = "") -> None:
        super().__init__(query, hint)
        self.query, self.hint = query, hint

    def __str__(self) -> str:
        return _with_hint(
            f"{self.query}: expected exactly one row, got none", self.hint
        )


class TooManyRowsError(YekoSqlError):
    """A ``:one`` query returned more than one row."""

    def __init__(self, query: str, rows: int) -> None:
        super().__init__(query, rows)
        self.query, self.rows = query, rows

    def __str__(self) -> str:
        return (
            f"{self.query}: expected exactly one row, got {self.rows}; filter on a "
            "unique key or end the query with LIMIT 1"
        )


class RowDecodeError(YekoSqlError):
    """A result column could not become its Struct field."""

    def __init__(self, query: str, column: str, field: str, problem: str) -> None:
        super().__init__(query, column, field, problem)
        self.query, self.column, self.field, self.problem = (
            query,
            column,
            field,
            problem,
        )

    def __str__(self) -> str:
        return f"{self.query}: {self.problem}"


class TransactionClosedError(YekoSqlError):
    """A query or stream used a transaction after its ``with`` block ended."""


class ScopeError(YekoSqlError):
    """A transaction or school scope cannot open here (nested in another)."""


class RowSecurityError(ScopeError):
    """``for_school`` on a connection where row-level security does not apply.

    A superuser, a ``BYPASSRLS`` role or a table owner without ``FORCE ROW
    LEVEL SECURITY`` would see every school inside the scope.
    """


class SchemaMismatchError(YekoSqlError):
    """A query's result does not fit the Struct it returns into."""

    def __init__(
        self, path: str, line: int, column: str, field: str, problem: str
    ) -> None:
        super().__init__(path, line, column, field, problem)
        self.path, self.line, self.column, self.field = path, line, column, field
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.problem}"


class ConfigError(YekoSqlError):
    """The app's ``[tool.yeko-sql]`` is missing a key, unreadable or wrong."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path, self.problem = path, problem

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


class ModelImportError(YekoSqlError):
    """A module of Structs (``models``, ``--models``) cannot be imported."""

    def __init__(self, module: str, problem: str) -> None:
        super().__init__(module, problem)
        self.module, self.problem = module, problem

    def __str__(self) -> str:
        return (
            f"models {self.module!r}: cannot import it ({self.problem}); install the "
            "app (pip install -e .) or run from its root, the folder of the "
            "pyproject.toml declaring [tool.yeko-sql]"
        )


class MigrationError(YekoSqlError):
    """Migrations could not be applied, rolled back or trusted."""


class DevServerError(YekoSqlError):
    """The local PostgreSQL could not be found, started or reached."""
