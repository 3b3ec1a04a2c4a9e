"""``yeko-sql generate``: a typed ``.pyi`` for every ``db.<namespace>.<query>(…)``.

Queries are attributes built at runtime, so a type checker sees ``Any``. The
generator describes every query against a migrated database
(``yeko_sql.verify.describe``), decides here each parameter's and result's Python
type (with ``yeko_sql.stubs._types`` for ``None``; an enum, read from
``pg_enum``, is the ``Literal`` of its labels) and writes, through
``yeko_sql.stubs._render``, a stub that declares the app's ``<prefix>Database``
and its twins (``[tool.yeko-sql] class_prefix``) with one attribute per
namespace, and ``for_school`` when the app declares a ``tenant_column``.

A ``.pyi`` replaces, for type checkers, the whole module it sits beside, so
that module must define the four facades and nothing else:
``companion_module`` writes it for a new app and checks a hand-written one
(Yeko's ``yeko_sql/yeko/typed.py``). See docs/stubs.md.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping, Sequence, Set
from pathlib import Path
from typing import Any

import psycopg

from yeko_sql.errors import ConfigError
from yeko_sql.query.compiler import Query
from yeko_sql.query.kinds import Kind
from yeko_sql.query.registry import Registry
from yeko_sql.query.sorting import SORT_PARAM
from yeko_sql.stubs._render import (
    JSON,
    RUNTIME_HEADER,
    Imports,
    MethodStub,
    facade_names,
    new_imports,
    render_module,
    render_runtime,
)
from yeko_sql.stubs._types import NullKind, always_one_row, param_nulls
from yeko_sql.verify._catalog import EnumLabels, enum_labels, load_catalog
from yeko_sql.verify._tree import parse_query
from yeko_sql.verify.describe import QueryDescription, describe_connection

__all__ = [
    "companion_module",
    "generate_stub",
    "render_stub",
    "require_class_prefix",
]

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
_CLASS_PREFIX = re.compile(r"[A-Z][A-Za-z0-9]*")


def require_class_prefix(class_prefix: str | None, *, where: str) -> str:
    """*class_prefix*, checked: the stub's classes are ``<prefix>Database``, ….

    There is no default: another app's names (``YekoDatabase``) would be wrong
    for this one.

    Raises:
        ConfigError: it is missing, or not a capitalised name; *where* says
            which ``pyproject.toml`` should declare it.
    """
    if class_prefix is None:
        raise ConfigError(
            where,
            "[tool.yeko-sql] declares no 'class_prefix', which names the stub's "
            'classes; add class_prefix = "Blog" there (for BlogDatabase, '
            "AsyncBlogDatabase, ...), or pass --class-prefix NAME",
        )
    if not _CLASS_PREFIX.fullmatch(class_prefix):
        raise ConfigError(
            where,
            f"class prefix {class_prefix!r} must start with a capital letter and "
            'hold only letters and digits; use a name like "Blog"',
        )
    return class_prefix


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
        return imports.use(returns.__module__, top, app=True) + dot + rest
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
            if name in query.optional:  # a [[ … ]] block: left out when None
                params.append(
                    f"{name}: {_param_type(annotation, {*how, 'value'})} = None"
                )
            else:
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
    class_prefix: str,
    tenant_column: str | None = None,
    enums: EnumLabels | None = None,
) -> str:
    """The stub text for *registry*, from its descriptions and the parse trees.

    *nulls* and *one_row* are keyed by qualname (``param_nulls``,
    ``always_one_row``); *enums* gives the ``Literal`` of enum types. The
    facades are ``<class_prefix>Database`` and its twins, with ``for_school``
    when there is a *tenant_column*.
    """
    enums = enums or EnumLabels()
    by_name = {d.qualname: d for d in described}
    imports = new_imports(list(registry.namespaces), class_prefix=class_prefix)
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
    return render_module(
        methods,
        imports,
        class_prefix=class_prefix,
        tenant=tenant_column is not None,
    )


def generate_stub(
    registry: Registry,
    conn: psycopg.Connection[Any],
    *,
    class_prefix: str | None = None,
    tenant_column: str | None = None,
) -> str:
    """Describe *registry* on *conn* (autocommit) and return the stub text.

    The stub declares ``<class_prefix>Database`` and its twins; ``for_school``
    only when the app has a *tenant_column* (``[tool.yeko-sql]``'s keys).

    Raises:
        ConfigError: *class_prefix* is missing or not a capitalised name.
        ValueError: the server refused to prepare a query (the message says
            where), or *conn* is not in autocommit mode.
    """
    prefix = require_class_prefix(class_prefix, where="pyproject.toml")
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
    return render_stub(
        registry,
        report.queries,
        nulls,
        one_row,
        class_prefix=prefix,
        tenant_column=tenant_column,
        enums=enums,
    )


def companion_module(stub: Path, *, class_prefix: str) -> str | None:
    """What the module beside *stub* must hold: its text, or None to keep it.

    The ``.pyi`` is all a type checker reads of that module, so the module may
    define the four facades and nothing else. A missing or generated module
    gets ``render_runtime``'s text (write it, or compare it under
    ``--check``); a hand-written one is kept when it defines exactly the
    facades, as Yeko's ``typed.py`` does (its queries default to the bundled
    ones).

    Raises:
        ConfigError: the hand-written module defines a public name the stub
            would hide, or lacks a facade the stub declares; the message says
            where, and how to fix it.
    """
    module = stub.with_suffix(".py")
    try:
        text = module.read_text(encoding="utf-8")
    except FileNotFoundError:
        return render_runtime(class_prefix)
    if text.startswith(RUNTIME_HEADER):
        return render_runtime(class_prefix)
    try:
        tree = ast.parse(text, str(module))
    except SyntaxError as exc:
        raise ConfigError(
            f"{module}:{exc.lineno or 1}",
            f"not valid Python ({exc.msg}); fix it, so that what it defines can "
            f"be checked against {stub.name}",
        ) from exc
    facades = facade_names(class_prefix)
    offered: dict[str, int] = {}
    defined: set[str] = set()
    for name, line, defines in _public_names(tree):
        offered.setdefault(name, line)
        if defines:
            defined.add(name)
    if hidden := {n: line for n, line in offered.items() if n not in facades}:
        names = ", ".join(map(repr, hidden))
        raise ConfigError(
            f"{module}:{min(hidden.values())}",
            f"defines {names}, which {stub.name} would hide from type checkers; "
            "move them to a module of their own (the stub's module holds only "
            f"{', '.join(facades)}), or point [tool.yeko-sql] stub at a new "
            "module, such as queries.pyi, that yeko-sql generate writes",
        )
    if missing := [name for name in facades if name not in defined]:
        raise ConfigError(
            str(module),
            f"defines no {', '.join(map(repr, missing))}, which {stub.name} "
            f"declares; add {'them' if len(missing) > 1 else 'it'}, or delete the "
            "module so that yeko-sql generate writes it",
        )
    return None


def _public_names(tree: ast.Module) -> Iterator[tuple[str, int, bool]]:
    """The names a module offers importers: ``(name, line, defines)``.

    Definitions and assignments without a leading underscore (also under a
    top-level ``if``/``try``/``with``), explicit re-exports (``import x as
    x``) and the entries of ``__all__``, for which *defines* is False; plain
    imports are private under mypy's strict ``no_implicit_reexport``.
    """
    for node in _top_level(tree.body):
        names: list[str] = []
        listed: list[str] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [
                t.id
                for target in targets
                for t in ast.walk(target)
                if isinstance(t, ast.Name)
            ]
            if "__all__" in names and isinstance(node.value, ast.List | ast.Tuple):
                listed = [
                    e.value
                    for e in node.value.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)
                ]
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.asname for a in node.names if a.asname == a.name.split(".")[-1]]
        for name, defines in [(n, True) for n in names] + [(n, False) for n in listed]:
            if not name.startswith("_"):
                yield name, node.lineno, defines


def _top_level(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        if isinstance(node, ast.If | ast.Try | ast.With):
            yield from _top_level(node.body)
            yield from _top_level(getattr(node, "orelse", []))
            for handler in getattr(node, "handlers", []):
                yield from _top_level(handler.body)
            yield from _top_level(getattr(node, "finalbody", []))
        else:
            yield node
