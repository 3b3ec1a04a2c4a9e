"""Declared sort orders: a query picks its ``ORDER BY`` from a whitelist.

A query lists its variants in one header line, the first being the default::

    -- sort: name = s.full_name, s.id | newest = s.created_at DESC, s.id DESC
    SELECT … ORDER BY :sort LIMIT :limit OFFSET :offset;

Each variant is compiled at load into its own SQL text, and a call chooses
one with ``sort="newest"``. The caller's value selects a variant by name and
never reaches the SQL, so an unknown key is a ``ParameterError``, not SQL.
"""

from __future__ import annotations

import re

import pglast

from yeko_sql.errors import HeaderError

__all__ = ["SORT_PARAM", "parse_sort_header"]

SORT_PARAM = "sort"
"""The placeholder a query with ``-- sort:`` uses where its ORDER BY list goes."""

_VARIANT = re.compile(r"\s*([a-z][a-z0-9_]*)\s*=\s*(\S.*?)\s*")


def parse_sort_header(value: str, *, path: str, line: int) -> dict[str, str]:
    """Parse ``name = expr, … | other = …`` into ``{name: order_by_list}``.

    Raises:
        HeaderError: a variant is malformed, repeated, or not an ORDER BY list.
    """
    variants: dict[str, str] = {}
    for part in value.split("|"):
        found = _VARIANT.fullmatch(part)
        if found is None:
            raise HeaderError(
                path,
                line,
                f"'-- sort:' variant {part.strip()!r} is not 'name = columns'",
                "write '-- sort: name = full_name, id | newest = created_at DESC, id'",
            )
        name, order_by = found.groups()
        if name in variants:
            raise HeaderError(path, line, f"'-- sort:' variant {name!r} repeated")
        if any(mark in order_by for mark in (":", ";", "--", "/*", "$")):
            raise HeaderError(
                path,
                line,
                f"'-- sort:' variant {name!r} holds a parameter, comment or ';'",
                "a variant is a plain ORDER BY list of columns and directions",
            )
        try:
            pglast.parse_sql(f"SELECT 1 ORDER BY {order_by}")
        except pglast.parser.ParseError as exc:
            raise HeaderError(
                path,
                line,
                f"'-- sort:' variant {name!r} is not an ORDER BY list: {exc}",
            ) from None
        variants[name] = order_by
    return variants
