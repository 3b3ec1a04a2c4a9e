"""``yeko-sql generate``: a typed ``.pyi`` for every ``db.<namespace>.<query>(…)``.

Queries are attributes built at runtime, so a type checker sees ``Any``. The
generator describes every query against a migrated database
(``yeko_sql.verify.describe``), decides here each parameter's and result's Python
type (with ``yeko_sql.stubs._types`` for ``None``; an enum, read from
``pg_enum``, is the ``Literal`` of its labels) and writes, through
``yeko_sql.stubs._render``, a stub that declares ``YekoDatabase`` and
``AsyncYekoDatabase`` (``yeko_sql.yeko.typed``) with one attribute per namespace.
The bundled stub is checked in as ``yeko_sql/yeko/typed.pyi``; ``--check`` fails
with a diff when it is stale. See docs/stubs.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set
from typing import Any

import psycopg

from yeko_sql.query.compiler import Query
from yeko_sql.query.kinds import Kind
from yeko_sql.query.registry import Registry
from yeko_sql.query.sorting import SORT_PARAM
from yeko_sql.stubs._render import JSON, Imports, MethodStub, new_imports, render_module
from yeko_sql.stubs._types import NullKind, always_one_row, param_nulls
from yeko_sql.verify._catalog import EnumLabels, enum_labels, load_catalog
from yeko_sql.verify._tree import parse_query
from yeko_sql.verify.describe import QueryDescription, describe_connection

__all__ = ["generate_stub", "render_stub"]

_MODULES = {
    "Decimal": "decimal",
    "date": "datetime",
    "datetime": "datetime",
    "time": "datetime",
    "timedelta": "datetime",
    "UUID": "uuid",
}
_BUILTINS = frozenset({"bool", "bytes", "float", "int", "object", "str"})
_SERVED_BY = re.compile(r"(^|\n)Served by .*", re.DOTALL)
_PAGE_DEFAULTS = {"page": "1", "page_size": "20"}


def _python_type(text: str, imports: Imports, *, param: bool) -> str:
    """A describe ``python_type`` as an annotation; JSON as the stub takes it."""
    if text.startswith("list[") and text.endswith("]"):
        return f"list[{_python_type(text[5:-1], imports, param=param)}]"
    if text in _BUILTINS:
        return text
    if text in _MODULES:
        return imports.use(_MODULES[text], text)
    if text == "Any" and param:
        imports.use("typing", "Any")
        imports.use("typing", "TypeAlias")
        imports.module("msgspec")
        return JSON
    return "object"  # JSON results, and types psycopg has no loader for


def _string(text: str) -> str:
    """*text* as a Python string literal, double-quoted as ruff formats it."""
    quoted = repr(text)
    if quoted.startswith("'") and '"' not in text:
        return f'"{quoted[1:-1]}"'
    return quoted


def _annotation(
    oid: int, text: str, enums: EnumLabels, imports: Imports, *, param: bool
) -> str:
    """The type of a value of type *oid*: an enum's labels, else *text*'s type."""
    scalar = enums.scalars.get(oid)
    # Only parameters for arrays: psycopg returns an enum array it has no
    # loader for as the array's text.
    labels = scalar or (enums.arrays.get(oid) if param else None)
    if not labels:
        return _python_type(text, imports, param=param)
    literal = imports.use("typing", "Literal")
    annotation = f"{literal}[{', '.join(map(_string, labels))}]"
    return annotation if scalar else f"list[{annotation}]"


def _param_type(annotation: str, nulls: set[NullKind]) -> str:
    if "elements" in nulls and annotation.startswith("list["):
        annotation = f"{annotation} | list[{annotation[5:-1]} | None]"
    return f"{annotation} | None" if "value" in nulls else annotation


def _row_type(query: Query[object], imports: Imports) -> str:
    returns = query.returns
    if isinstance(returns, type):
        top, dot, rest = returns.__qualname__.partition(".")  # a nested class
        return imports.use(returns.__module__, top) + dot + rest
    imports.module("msgspec")
    return "msgspec.Struct"  # a Struct derived from the columns at runtime


def _method(
    query: Query[object],
    described: QueryDescription,
    nulls: dict[int, set[NullKind]],
    one_row: bool,
    imports: Imports,
    *,
    enums: EnumLabels,
) -> MethodStub:
    """Decide what *query* takes and returns, as the stub writes it."""
    types = {p.name: p for p in described.params}
    receiver = "self"
    params: list[str] = []
    for name in query.call_params:  # the loader refuses Python keywords
        if name in _PAGE_DEFAULTS and query.kind is Kind.PAGE:
            params.append(f"{name}: int = {_PAGE_DEFAULTS[name]}")
        elif name == SORT_PARAM and query.variants:
            literal = imports.use("typing", "Literal")
            choices = ", ".join(f'"{v}"' for v in query.variants)
            first = next(iter(query.variants))
            params.append(f'sort: {literal}[{choices}] = "{first}"')
        else:
            info = types[name]
            how = nulls.get(info.number, set())
            if info.nullable == "yes":
                how = {*how, "value"}
            annotation = _annotation(
                info.type_oid, info.python_type, enums, imports, param=True
            )
            params.append(f"{name}: {_param_type(annotation, how)}")
            if name == "self":
                receiver = "self_, /"
    return MethodStub(
        name=query.name,
        doc=_SERVED_BY.sub("", query.doc).strip(),
        params=tuple(params),
        returns=_returns(query, described, one_row, imports, enums),
        stream=query.kind is Kind.STREAM,
        receiver=receiver,
    )


_ROWLESS = {Kind.EXEC: "None", Kind.EXECROWS: "int"}
_WRAPPERS = {
    Kind.ONE: ("", "{}"),
    Kind.OPT: ("", "{} | None"),
    Kind.MANY: ("", "list[{}]"),
    Kind.PAGE: ("yeko_sql.runtime.pagination", "Page[{}]"),
    Kind.KEYSET: ("yeko_sql.runtime.pagination", "KeysetPage[{}]"),
    Kind.STREAM: ("collections.abc", "Iterator[{}]"),
}


def _returns(
    query: Query[object],
    described: QueryDescription,
    one_row: bool,
    imports: Imports,
    enums: EnumLabels,
) -> str:
    """What a call returns; for ``:stream`` the sync iterator (async adds Async)."""
    kind = query.kind
    if kind in _ROWLESS:
        return _ROWLESS[kind]
    if kind is Kind.SCALAR:
        if not described.columns:
            return "object"
        column = described.columns[0]
        annotation = _annotation(
            column.type_oid, column.python_type, enums, imports, param=False
        )
        sure = (one_row and not column.nullable) or annotation == "object"
        return annotation if sure else f"{annotation} | None"
    module, shape = _WRAPPERS[kind]
    if module:
        generic = shape.partition("[")[0]
        imports.use(module, generic)
        if kind is Kind.STREAM:
            imports.use(module, "AsyncIterator")
    return shape.format(_row_type(query, imports))


def render_stub(
    registry: Registry,
    described: Sequence[QueryDescription],
    nulls: Mapping[str, dict[int, set[NullKind]]],
    one_row: Set[str],
    *,
    enums: EnumLabels | None = None,
) -> str:
    """The stub text for *registry*, from its descriptions and the parse trees.

    *nulls* and *one_row* are keyed by qualname (``param_nulls``,
    ``always_one_row``); *enums* gives the ``Literal`` of enum types.
    """
    enums = enums or EnumLabels()
    by_name = {d.qualname: d for d in described}
    imports = new_imports(list(registry.namespaces))
    methods = {
        name: [
            _method(
                q,
                by_name[q.qualname],
                nulls.get(q.qualname, {}),
                q.qualname in one_row,
                imports,
                enums=enums,
            )
            for q in namespace.values()
        ]
        for name, namespace in registry.namespaces.items()
    }
    return render_module(methods, imports)


def generate_stub(
    registry: Registry,
    conn: psycopg.Connection[Any],
    *,
    class_prefix: str | None = None,
    tenant_column: str | None = None,
) -> str:
    """Describe *registry* on *conn* (autocommit) and return the stub text.

    Raises:
        ValueError: the server refused to prepare a query (the message says
            where), or *conn* is not in autocommit mode.
    """
    catalog = load_catalog(conn)
    report = describe_connection(registry, conn, catalog=catalog)
    if report.failed:
        raise ValueError("\n".join(str(q.error) for q in report.failed))
    nulls: dict[str, dict[int, set[NullKind]]] = {}
    one_row: set[str] = set()
    for query in registry:
        stmt = parse_query(query)
        nulls[query.qualname] = param_nulls(stmt, catalog)
        if always_one_row(stmt):
            one_row.add(query.qualname)
    enums = enum_labels(conn)
    return render_stub(registry, report.queries, nulls, one_row, enums=enums)
