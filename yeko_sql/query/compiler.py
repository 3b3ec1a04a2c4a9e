"""Compile a query spec once, at load: ``:name`` becomes ``$n`` behind a tag comment.

The compiled SQL differs from the body only where placeholders were, plus a
leading ``/* yeko:<namespace>.<name> */`` comment that ``pg_stat_statements``,
``auto_explain`` and the server log show. No value is ever put into the text:
calls bind ``params`` as server-side parameters.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, TypeVar, overload

from yeko_sql.errors import PlaceholderError
from yeko_sql.query._lexer import Placeholder, find_placeholders
from yeko_sql.query.kinds import Kind
from yeko_sql.query.optional import Template, find_blocks, masked
from yeko_sql.query.parser import QuerySpec
from yeko_sql.query.sorting import SORT_PARAM, parse_sort_header

__all__ = ["PAGE_ARGS", "Query", "compile_query"]

PAGE_ARGS = ("page", "page_size")
"""What a ``:page`` query takes in place of the ``limit``/``offset`` it binds."""

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

_REQUIRED = {
    Kind.PAGE: ("limit", "offset"),
    Kind.KEYSET: ("limit",),
}
_REQUIRED_SQL = {Kind.PAGE: "LIMIT :limit OFFSET :offset", Kind.KEYSET: "LIMIT :limit"}


_NO_VARIANTS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Query(Generic[R_co]):
    """One named query, compiled and ready to bind; immutable.

    ``R`` is the type of a row: the ``-- returns:`` Struct, or a Struct the
    runtime derives from the result's columns when ``returns`` is None.
    """

    namespace: str  # the file's stem
    name: str
    kind: Kind
    returns: type[R_co] | None
    returns_name: str | None  # as written in the header
    doc: str
    sql: str  # the body as in the file
    compiled: str  # tag comment + body with $n placeholders
    params: tuple[str, ...]  # params[0] binds $1
    path: str
    line: int  # the ``-- name:`` line
    body_line: int  # the file line of the body's first line
    headers: Mapping[str, str]  # the other header keys, raw values
    variants: Mapping[str, str] = field(default_factory=dict)  # sort variant -> SQL
    # The ``-- role:`` it runs under: a role name, "owner" (the schema owner), or
    # None for the application role.
    role: str | None = None
    header_lines: Mapping[str, int] = field(default_factory=dict)  # key -> file line
    # ``[[ … ]]`` optional blocks (``yeko_sql.query.optional``); ``compiled``
    # and ``params`` are then the statement that keeps every block.
    template: Template | None = None

    @property
    def optional(self) -> tuple[str, ...]:
        """Its ``[[ … ]]`` blocks' parameters: a call may omit them or pass None."""
        return self.template.optional if self.template is not None else ()

    def combinations(self) -> list[tuple[frozenset[str], Query[R_co]]]:
        """Each statement its optional blocks make, as a query of its own.

        One per distinct set of kept blocks, each with the optional parameters
        that keep exactly those blocks: every block first, none last. A query
        without blocks is its only combination.
        """
        if self.template is None:
            return [(frozenset(), self)]
        return [
            (given, self._statement(given)) for given in self.template.combinations()
        ]

    def statement_for(self, values: Mapping[str, object]) -> Query[R_co]:
        """The statement a call with *values* runs, as a query of its own.

        An optional parameter missing from *values*, or None there, leaves its
        ``[[ … ]]`` block out; ``sql`` is then the body without it.
        """
        if self.template is None:
            return self
        given = (n for n in self.optional if values.get(n) is not None)
        kept = self.template.included(frozenset(given))
        return self._statement(self.template.kept_params(kept))

    def _statement(self, given: frozenset[str]) -> Query[R_co]:
        if self.template is None:
            return self
        compiled, params = self.template.render(given)
        return dataclasses.replace(
            self, sql=self.template.source(given), compiled=compiled, params=params
        )

    @property
    def call_params(self) -> tuple[str, ...]:
        """The keyword arguments a call takes, in order.

        A ``:page`` query takes ``page`` and ``page_size`` instead of the
        ``limit`` and ``offset`` it binds; sort variants add ``sort``.
        """
        names = self.params
        if self.kind is Kind.PAGE:
            names = (*(p for p in names if p not in {"limit", "offset"}), *PAGE_ARGS)
        return (*names, SORT_PARAM) if self.variants else names

    @property
    def replica(self) -> bool:
        """Whether its header says ``-- replica: ok``: a read a replica may serve."""
        return self.headers.get("replica") == "ok"

    @property
    def qualname(self) -> str:
        """``<namespace>.<name>``, as in the tag comment and in errors."""
        return f"{self.namespace}.{self.name}"

    def header_line(self, key: str) -> int:
        """The file line of header *key*, or the ``-- name:`` line without it."""
        return self.header_lines.get(key, self.line)

    def source_line(self, position: int | str, sql: str | None = None) -> int:
        """Return the file line of a PostgreSQL error position.

        *position* is a 1-based character index into ``compiled``, as
        ``exc.diag.statement_position`` gives it (a str). A position in the
        tag comment maps to the body's first line.
        """
        text = self.compiled if sql is None else sql
        index = min(max(int(position) - 1, 0), len(text))
        # The tag and every $n hold no newline, so the compiled text has the
        # body's line breaks at the same line numbers.
        return self.body_line + text.count("\n", 0, index)

    def __repr__(self) -> str:
        return (
            f"<Query {self.qualname} {self.kind.annotation} ({self.path}:{self.line})>"
        )


@overload
def compile_query(spec: QuerySpec, returns: type[R]) -> Query[R]: ...
@overload
def compile_query(spec: QuerySpec, returns: None = None) -> Query[object]: ...
def compile_query(
    spec: QuerySpec, returns: type[R] | None = None
) -> Query[R] | Query[object]:
    """Compile *spec*: number its placeholders and tag its SQL.

    A body written with ``$1``-style placeholders is kept as is and its
    parameters are named ``p1``, ``p2``, … up to the highest number.

    Raises:
        PlaceholderError: the body mixes ``$1`` and ``:name``, a ``:`` starts
            no valid name, or a ``:page``/``:keyset`` query lacks ``limit``
            (and ``offset``).
        QueryFileError: the lexer refused the body.
    """
    blocks = (
        find_blocks(spec.body, path=spec.path, line=spec.body_line)
        if "[[" in spec.body
        else []
    )
    text = masked(spec.body, blocks) if blocks else spec.body
    found = find_placeholders(text, path=spec.path, line=spec.body_line)
    named = [p for p in found if p.number is None]
    positional = [p for p in found if p.number is not None]
    if blocks and positional:
        raise PlaceholderError(
            spec.path,
            positional[0].line,
            f"query {spec.name!r} has optional blocks and '$1' placeholders",
            "use :name placeholders: blocks include or leave out named parameters",
        )
    if named and positional:
        later = max(named[0], positional[0], key=lambda p: p.start)
        raise PlaceholderError(
            spec.path,
            later.line,
            f"query {spec.name!r} mixes '$1' and ':name' placeholders",
            "use :name placeholders only",
        )
    if positional:
        top = max(p.number or 0 for p in positional)
        params = tuple(f"p{n}" for n in range(1, top + 1))
        body = spec.body
    else:
        params, body = _number(spec.body, named)
    variants = _sort_variants(spec, named)
    if variants:
        params, body = _number(spec.body, named, sort=True)
    missing = [p for p in _REQUIRED.get(spec.kind, ()) if p not in params]
    if missing:
        raise PlaceholderError(
            spec.path,
            spec.line,
            f"{spec.kind.annotation} query {spec.name!r} takes no"
            f" {' or '.join(repr(p) for p in missing)} parameter",
            f"end it with {_REQUIRED_SQL[spec.kind]}",
        )
    tag = f"/* yeko:{spec.namespace}.{spec.name} */ "
    template = None
    if blocks:
        template = Template.build(
            spec.body, named, blocks, variants, tag=tag, name=spec.name, path=spec.path
        )
        every = frozenset(template.optional)
        body = template.render(every)[0].removeprefix(tag)
        compiled = {variant: template.render(every, variant)[0] for variant in variants}
    else:
        compiled = {
            variant: tag + _fill_sort(body, order_by)
            for variant, order_by in variants.items()
        }
    return Query(
        namespace=spec.namespace,
        name=spec.name,
        kind=spec.kind,
        returns=returns,
        returns_name=spec.returns_name,
        doc=spec.doc,
        sql=spec.body,
        compiled=next(iter(compiled.values())) if compiled else tag + body,
        params=params,
        path=spec.path,
        line=spec.line,
        body_line=spec.body_line,
        headers=spec.headers,
        variants=MappingProxyType(compiled) if compiled else _NO_VARIANTS,
        role=spec.headers.get("role"),
        header_lines=spec.header_lines,
        template=template,
    )


_SORT_MARK = "\x00sort\x00"


def _sort_variants(spec: QuerySpec, named: list[Placeholder]) -> dict[str, str]:
    header = spec.headers.get("sort")
    uses = [p for p in named if p.name == SORT_PARAM]
    if header is None:
        if uses and _after_order_by(spec.body, uses[0].start):
            raise PlaceholderError(
                spec.path,
                uses[0].line,
                f"query {spec.name!r} orders by ':{SORT_PARAM}' but declares no "
                "'-- sort:' variants; a bound value would not sort anything",
                "add '-- sort: name = column, id | …'",
            )
        return {}
    line = spec.header_lines.get("sort", spec.line)
    if len(uses) != 1:
        raise PlaceholderError(
            spec.path,
            line,
            f"query {spec.name!r} declares '-- sort:' but uses ':{SORT_PARAM}' "
            f"{len(uses)} times",
            f"write 'ORDER BY :{SORT_PARAM}' once where the variants go",
        )
    return parse_sort_header(header, path=spec.path, line=line)


def _after_order_by(body: str, start: int) -> bool:
    """Whether the text before *start* ends with ``ORDER BY`` (any case, spacing)."""
    return re.search(r"\bORDER\s+BY\s*$", body[:start], re.IGNORECASE) is not None


def _fill_sort(body: str, order_by: str) -> str:
    return body.replace(_SORT_MARK, order_by)


def _number(
    body: str, named: list[Placeholder], *, sort: bool = False
) -> tuple[tuple[str, ...], str]:
    numbers: dict[str, int] = {}
    pieces: list[str] = []
    done = 0
    for placeholder in named:
        if sort and placeholder.name == SORT_PARAM:
            replacement = _SORT_MARK  # filled per variant, never a parameter
        else:
            replacement = f"${numbers.setdefault(placeholder.name, len(numbers) + 1)}"
        pieces += [body[done : placeholder.start], replacement]
        done = placeholder.end
    pieces.append(body[done:])
    return tuple(numbers), "".join(pieces)
