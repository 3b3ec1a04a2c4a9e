"""Query kinds: the ``:one``/``:many``/… annotation that says what a call returns.

A kind is written after the query name (``-- name: get_school :one``). The
kinds that sqlc knows but yeko-sql does not (``:copyfrom``, ``:batch*``, …) are
recognised so that the load error can say what to use instead.
"""

from __future__ import annotations

import enum

__all__ = ["SQLC_KINDS", "Kind", "sqlc_hint"]


class Kind(enum.Enum):
    """What a query returns; the value is the annotation without its ``:``."""

    ONE = "one"
    """Exactly one row, else ``NoRowError``."""
    OPT = "opt"
    """One row or ``None``."""
    MANY = "many"
    """A list of rows."""
    SCALAR = "scalar"
    """The first column of the first row, ``None`` when there is no row."""
    EXEC = "exec"
    """Nothing."""
    EXECROWS = "execrows"
    """The number of rows the statement affected."""
    PAGE = "page"
    """A ``Page[T]`` built from ``count(*) OVER () AS total_count``."""
    KEYSET = "keyset"
    """A ``KeysetPage[T]``: one seek page and what the next page starts after."""
    STREAM = "stream"
    """An iterator over a server-side cursor, in constant memory."""

    @property
    def annotation(self) -> str:
        """The kind as written in a header, with its colon: ``':one'``."""
        return f":{self.value}"

    @property
    def returns_rows(self) -> bool:
        """Whether the statement's result rows are what the call returns."""
        return self not in _ROWLESS


_ROWLESS = frozenset({Kind.EXEC, Kind.EXECROWS})

_SQLC_HINTS = {
    "execresult": "use :execrows for the number of rows, or :one with RETURNING",
    "execlastid": "use :scalar with RETURNING id",
    "batchexec": (
        "write one set-based statement over arrays"
        " (= ANY(:ids), unnest(:names::text[])) as :exec or :execrows"
    ),
    "batchmany": (
        "write one set-based statement over arrays"
        " (= ANY(:ids), unnest(:names::text[])) as :many"
    ),
    "batchone": (
        "write one set-based statement over arrays"
        " (= ANY(:ids), unnest(:names::text[])) as :many"
    ),
    "copyfrom": "use yeko_sql.bulk.copy.copy_structs",
}

SQLC_KINDS = frozenset(_SQLC_HINTS)
"""sqlc's kinds that yeko-sql refuses at load time, without their colon."""


def sqlc_hint(kind: str) -> str:
    """Say what to write instead of sqlc's *kind* (given without its colon)."""
    return _SQLC_HINTS[kind]
