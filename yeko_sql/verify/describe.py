"""Describe every query against a live schema without running it.

Each query's compiled SQL is prepared on the server (``PQprepare``) and
described (``PQdescribePrepared``): PostgreSQL says each parameter's type and
each result column's name, type and, when it is a plain column, the table
column it comes from. ``yeko_sql.verify.nullability`` adds whether each column can be
NULL and why. Nothing is executed; the statements are deallocated afterwards.

The report is a tree of msgspec Structs whose JSON form is versioned
(``schema_version``; see docs/describe.md). ``check`` and the stub generator
build on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec
import psycopg
from pglast import ast
from psycopg import pq, sql
from psycopg.pq.abc import PGresult

from yeko_sql.query.compiler import Query
from yeko_sql.runtime.types import column_python_type
from yeko_sql.verify._catalog import Catalog, TypeName, load_catalog, type_names
from yeko_sql.verify._tree import output_locations, parse_query, source_line
from yeko_sql.verify.nullability import (
    explain_generic,
    infer_columns,
    infer_params,
    view_definitions,
)

__all__ = [
    "SCHEMA_VERSION",
    "ColumnInfo",
    "DescribeError",
    "DescribeReport",
    "ParamInfo",
    "QueryDescription",
    "describe",
    "describe_connection",
    "python_type_name",
]

SCHEMA_VERSION = 1
"""The version of the JSON report; bumped when a field changes meaning or goes."""

_STATEMENT = "yeko_describe"


class ParamInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One ``$n`` parameter: its name, types, and whether NULL is expected."""

    number: int  # binds $number
    name: str
    pg_type: str  # format_type(): 'text', 'text[]', 'numeric(14,2)'
    type_oid: int
    python_type: str  # what psycopg takes: 'str', 'list[str]', 'Decimal'
    nullable: Literal["yes", "unknown"]
    why: str


class ColumnInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One result column: name, types, source table column and nullability."""

    number: int  # 1-based position in the result
    name: str
    pg_type: str
    type_oid: int
    typmod: int
    python_type: str  # what psycopg returns, without '| None'
    is_array: bool
    source_table: str | None  # 'schools' (schema-qualified outside public)
    source_column: str | None
    nullable: bool
    why: str  # the rule that decided nullable
    line: int  # the file line of the column in the select list or RETURNING


class DescribeError(msgspec.Struct, frozen=True, kw_only=True):
    """Why the server refused to prepare a query, mapped to the file line."""

    path: str
    line: int
    sqlstate: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text


class QueryDescription(msgspec.Struct, frozen=True, kw_only=True):
    """What the server says about one query; ``error`` set when it failed."""

    namespace: str
    name: str
    kind: str  # 'one', 'many', … (the annotation without its colon)
    path: str
    line: int
    params: tuple[ParamInfo, ...] = ()
    columns: tuple[ColumnInfo, ...] = ()
    error: DescribeError | None = None

    @property
    def qualname(self) -> str:
        """``<namespace>.<name>``."""
        return f"{self.namespace}.{self.name}"


class DescribeReport(msgspec.Struct, frozen=True, kw_only=True):
    """Every query's description, in registry order."""

    schema_version: int = SCHEMA_VERSION
    server_version: str
    queries: tuple[QueryDescription, ...]

    @property
    def failed(self) -> list[QueryDescription]:
        """The queries the server could not prepare."""
        return [q for q in self.queries if q.error is not None]

    def __getitem__(self, qualname: str) -> QueryDescription:
        for query in self.queries:
            if qualname in (query.qualname, query.name):
                return query
        raise KeyError(f"no query {qualname!r} in the report")


def describe(queries: Iterable[Query[object]], conninfo: str) -> DescribeReport:
    """Describe *queries* (a ``Registry`` or any iterable) on a new connection."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return describe_connection(queries, conn)


def describe_connection(
    queries: Iterable[Query[object]],
    conn: psycopg.Connection[Any],
    *,
    catalog: Catalog | None = None,
) -> DescribeReport:
    """Describe *queries* on *conn*, an idle connection in autocommit mode.

    *catalog* saves reading the catalog again when the caller has it.

    Raises:
        ValueError: *conn* is not in autocommit mode (a failed prepare would
            abort the caller's transaction).
    """
    if not conn.autocommit:
        raise ValueError(
            "describe needs an autocommit connection; open it with autocommit=True"
        )
    catalog = catalog or load_catalog(conn)
    # One statement per combination of optional blocks, every block kept first.
    groups = [
        [(given, _prepare(conn, each, number)) for given, each in query.combinations()]
        for number, query in enumerate(queries)
    ]
    raw = [r for group in groups for _, r in group]
    wanted = {(oid, -1) for r in raw for oid in r.param_oids}
    wanted |= {(f[1], f[2]) for r in raw for f in r.fields}
    names = type_names(conn, wanted)
    views = view_definitions(conn, catalog)
    version = conn.info.parameter_status("server_version") or ""
    return DescribeReport(
        server_version=version,
        queries=tuple(
            _combined([(g, _build(r, catalog, names, views)) for g, r in group])
            for group in groups
        ),
    )


def _combined(
    described: list[tuple[frozenset[str], QueryDescription]],
) -> QueryDescription:
    """One description of every statement a query's optional blocks make.

    The first (every block kept) gives the parameters; a column is nullable
    when it is in any statement, and an error in any statement is the query's.
    """
    (_, first), *others = described
    for given, other in others:
        when = (
            f"with only {', '.join(sorted(given))} given"
            if given
            else ("with no optional parameter given")
        )
        if other.error is not None:
            error = msgspec.structs.replace(
                other.error, message=f"{other.error.message} ({when})"
            )
            return msgspec.structs.replace(first, error=error)
        if [c.name for c in other.columns] != [c.name for c in first.columns]:
            error = DescribeError(
                path=first.path,
                line=first.line,
                sqlstate="",
                message=f"the optional blocks change the result columns ({when})",
                hint="keep [[ … ]] blocks out of the select list",
            )
            return msgspec.structs.replace(first, error=error)
        columns = tuple(
            msgspec.structs.replace(c, nullable=True, why=f"{o.why} ({when})")
            if o.nullable and not c.nullable
            else c
            for c, o in zip(first.columns, other.columns, strict=True)
        )
        first = msgspec.structs.replace(first, columns=columns)
    return first


class _Raw:
    """What the server said about one query, before names are looked up."""

    def __init__(self, query: Query[object]) -> None:
        self.query = query
        self.param_oids: list[int] = []
        # (name, type oid, typmod, table oid, column number)
        self.fields: list[tuple[str, int, int, int, int]] = []
        self.plan: Mapping[str, Any] | None = None
        self.error: DescribeError | None = None


def _prepare(conn: psycopg.Connection[Any], query: Query[object], number: int) -> _Raw:
    raw = _Raw(query)
    name = f"{_STATEMENT}_{number}"
    result = conn.pgconn.prepare(name.encode(), query.compiled.encode())
    if result.status != pq.ExecStatus.COMMAND_OK:
        raw.error = _error(query, result)
        return raw
    try:
        described = conn.pgconn.describe_prepared(name.encode())
        raw.param_oids = [described.param_type(i) for i in range(described.nparams)]
        raw.fields = [
            (
                bytes(described.fname(i) or b"").decode(),
                described.ftype(i),
                described.fmod(i),
                described.ftable(i),
                described.ftablecol(i),
            )
            for i in range(described.nfields)
        ]
        if raw.fields:
            raw.plan = explain_generic(conn, name, described.nparams)
    finally:
        conn.execute(sql.SQL("DEALLOCATE {}").format(sql.Identifier(name)))
    return raw


def _error(query: Query[object], result: PGresult) -> DescribeError:
    def field(code: pq.DiagnosticField) -> str:
        return bytes(result.error_field(code) or b"").decode(errors="replace")

    position = field(pq.DiagnosticField.STATEMENT_POSITION)
    message = field(pq.DiagnosticField.MESSAGE_PRIMARY)
    return DescribeError(
        path=query.path,
        line=query.source_line(position) if position else query.line,
        sqlstate=field(pq.DiagnosticField.SQLSTATE),
        message=message or bytes(result.error_message).decode(errors="replace"),
        hint=field(pq.DiagnosticField.MESSAGE_HINT),
    )


def python_type_name(oid: int, name: TypeName | None = None) -> str:
    """The Python type psycopg uses for a PostgreSQL type, as written in code."""
    if name is not None and name.is_array and name.element_oid:
        return f"list[{python_type_name(name.element_oid)}]"
    found = column_python_type(oid)
    if found is Any:
        return "Any"
    text = getattr(found, "__name__", None)
    return text if text is not None and found is not list else repr(found)


def _type(names: Mapping[tuple[int, int], TypeName], oid: int, mod: int) -> TypeName:
    found = names.get((oid, mod))
    return found or TypeName(
        oid=oid, typmod=mod, name=str(oid), element_oid=0, is_array=False
    )


def _build(
    raw: _Raw,
    catalog: Catalog,
    names: Mapping[tuple[int, int], TypeName],
    views: Mapping[int, ast.Node],
) -> QueryDescription:
    query = raw.query
    base = QueryDescription(
        namespace=query.namespace,
        name=query.name,
        kind=query.kind.value,
        path=query.path,
        line=query.line,
    )
    if raw.error is not None:
        return msgspec.structs.replace(base, error=raw.error)
    stmt = parse_query(query)
    params = []
    for number, (oid, verdict) in enumerate(
        zip(raw.param_oids, infer_params(stmt, len(raw.param_oids)), strict=True), 1
    ):
        type_name = _type(names, oid, -1)
        params.append(
            ParamInfo(
                number=number,
                name=query.params[number - 1]
                if number <= len(query.params)
                else f"p{number}",
                pg_type=type_name.name,
                type_oid=oid,
                python_type=python_type_name(oid, type_name),
                nullable="yes" if verdict.nullable else "unknown",
                why=verdict.why,
            )
        )
    sources = [catalog.column(f[3], f[4]) if f[3] else None for f in raw.fields]
    verdicts = infer_columns(
        query,
        stmt,
        sources=sources,
        names=[f[0] for f in raw.fields],
        catalog=catalog,
        plan=raw.plan,
        views=views,
    )
    locations = output_locations(stmt, catalog, views=views) if stmt is not None else []
    columns = []
    for index, ((name, oid, mod, _, _), source, verdict) in enumerate(
        zip(raw.fields, sources, verdicts, strict=True)
    ):
        type_name = _type(names, oid, mod)
        location = locations[index] if index < len(locations) else None
        columns.append(
            ColumnInfo(
                number=index + 1,
                name=name,
                pg_type=type_name.name,
                type_oid=oid,
                typmod=mod,
                python_type=python_type_name(oid, type_name),
                is_array=type_name.is_array,
                source_table=source[0].qualname if source else None,
                source_column=source[1].name if source else None,
                nullable=verdict.nullable,
                why=verdict.why,
                line=source_line(query, location),
            )
        )
    return msgspec.structs.replace(base, params=tuple(params), columns=tuple(columns))
