"""Check every query against a migrated database: result vs Struct, then the rules.

``check`` describes each query (``yeko_sql.verify.describe``), then compares its
result columns with the fields of its ``-- returns:`` Struct, the way the row
decoder will: every column needs a field, every field without a default
needs a column, each column's type must fit its field (a ``Literal`` or
``Enum`` field on an enum column must have exactly the enum's labels), and a
column that can be NULL needs a field that takes None. Parameters are checked
where the runtime binds them itself (``:page``/``:keyset`` ``limit`` and
``offset`` are ints). Then the lint rules of ``yeko_sql.verify.rules`` run. Last, the
role each query runs under (``-- role:``, else *app_role* when given) is held
against the database: it exists, row-level security holds it (no SUPERUSER or
BYPASSRLS), it has the table privileges the statement needs, and a policy lets
it see rows of every table whose row-level security is on. Each problem is one
line, ``<path>:<line>: <what>; <how to fix it>``.

The tenant rules hold queries to the app's tenant column: by default the one
``[tool.yeko-sql] tenant_column`` declares (``yeko_sql.config.load_config``,
found from the working directory upward), or the one passed as
*tenant_column*; ``tenant_column=None`` checks without them.
"""

from __future__ import annotations

import difflib
import enum
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal

import msgspec
import psycopg
from msgspec import inspect as mi

from yeko_sql.config import load_config
from yeko_sql.errors import ConfigError, SchemaMismatchError
from yeko_sql.query.compiler import Query
from yeko_sql.query.kinds import Kind
from yeko_sql.query.parser import OWNER_ROLE
from yeko_sql.runtime.pagination import TOTAL_COLUMN
from yeko_sql.runtime.types import describe_type, fits, pg_type_name, strip_none
from yeko_sql.verify._catalog import (
    Catalog,
    EnumLabels,
    enum_labels,
    load_catalog,
)
from yeko_sql.verify._tree import parse_query, table_privileges
from yeko_sql.verify.describe import ColumnInfo, QueryDescription, describe_connection
from yeko_sql.verify.rules import lint

__all__ = [
    "CONFIGURED",
    "CheckReport",
    "Problem",
    "check",
    "check_connection",
    "check_params",
    "check_roles",
    "compare",
]


class _Configured(enum.Enum):
    CONFIGURED = "configured"


CONFIGURED: Final = _Configured.CONFIGURED
"""*tenant_column*'s default: ``[tool.yeko-sql] tenant_column``, read when called."""

_INTEGERS = frozenset({20, 21, 23})  # int8, int2, int4
_PAGING = {Kind.PAGE: ("limit", "offset"), Kind.KEYSET: ("limit",)}


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """One thing wrong with one query, at a file line."""

    path: str
    line: int
    query: str  # namespace.name
    check: Literal["describe", "columns", "params", "rule", "role"]
    message: str  # '<what>; <how to fix it>', without the path
    rule: str = ""
    column: str = ""
    field: str = ""
    detail: str = ""  # why describe judged as it did (nullability reason)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class CheckReport(msgspec.Struct, frozen=True, kw_only=True):
    """The problems of every query checked; empty when all is well."""

    schema_version: int = 1
    queries: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """Whether no query has a problem."""
        return not self.problems


def check(
    queries: Iterable[Query[object]],
    conninfo: str,
    *,
    app_role: str | None = None,
    tenant_column: str | _Configured | None = CONFIGURED,
) -> CheckReport:
    """Check *queries* (a ``Registry`` or any iterable) on a new connection.

    With *app_role*, a query that declares no ``-- role:`` is checked as
    running under that role (the application's), as declared roles are.
    The tenant rules hold every query to scoping the tables *tenant_column*
    makes tenant-owned (``yeko_sql.verify._catalog.load_catalog`` says
    which); by default that is the column ``[tool.yeko-sql] tenant_column``
    declares, none when no ``pyproject.toml`` declares one; ``None`` turns
    the tenant rules off.

    Raises:
        ConfigError: *tenant_column* is left to the configuration, and the
            ``pyproject.toml`` found cannot be read.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return check_connection(
            queries, conn, app_role=app_role, tenant_column=tenant_column
        )


def check_connection(
    queries: Iterable[Query[object]],
    conn: psycopg.Connection[Any],
    *,
    app_role: str | None = None,
    tenant_column: str | _Configured | None = CONFIGURED,
) -> CheckReport:
    """Check *queries* on *conn*, an idle autocommit connection, as ``check`` does."""
    queries = list(queries)
    where = "[tool.yeko-sql] tenant_column"
    if isinstance(tenant_column, _Configured):
        config = load_config()
        tenant_column, where = config.tenant_column, str(config.where)
    catalog = load_catalog(conn, tenant_column=tenant_column)
    if tenant_column is not None:
        _require_tenant_tables(catalog, tenant_column, where)
    enums = enum_labels(conn)
    report = describe_connection(queries, conn, catalog=catalog)
    roles = check_roles(queries, conn, catalog, app_role=app_role)
    problems = [
        problem
        for query, described in zip(queries, report.queries, strict=True)
        for problem in [
            *_check_one(query, described, catalog, enums),
            *roles.get(query.qualname, ()),
        ]
    ]
    return CheckReport(queries=len(queries), problems=tuple(problems))


def _require_tenant_tables(catalog: Catalog, column: str, where: str) -> None:
    """A tenant column that makes no table tenant-owned is a typo, not an app
    without tenants: the tenant rules would silently check nothing.

    Raises:
        ConfigError: tables exist, and none is owned through *column*.
    """
    tables = catalog.tables.values()
    if not tables or any(t.tenant_owned for t in tables):
        return
    names = sorted({c for t in tables for c in t.columns})
    close = difflib.get_close_matches(column, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(
        where,
        f"tenant_column = {column!r} makes no table tenant-owned (no table has it"
        " NOT NULL in a foreign key): the tenant rules would check nothing"
        f"{hint} (an app without tenants leaves tenant_column out)",
    )


def _check_one(
    query: Query[object],
    described: QueryDescription,
    catalog: Catalog,
    enums: EnumLabels,
) -> list[Problem]:
    if described.error is not None:
        error = described.error
        message = f"{error.message}; {error.hint}" if error.hint else error.message
        return [
            Problem(
                path=error.path,
                line=error.line,
                query=query.qualname,
                check="describe",
                message=f"the server refused {query.name!r}: {message}",
                detail=error.sqlstate,
            )
        ]
    problems = [
        Problem(
            path=e.path,
            line=e.line,
            query=query.qualname,
            check="columns",
            message=e.problem,
            column=e.column,
            field=e.field,
            detail=_why(described, e.column),
        )
        for e in compare(query, described, enums=enums)
    ]
    problems += check_params(query, described)
    seen: set[tuple[str, int, str]] = set()
    for given, statement in query.combinations():  # each optional-block statement
        for v in lint(statement, parse_query(statement), catalog):
            if (v.rule, v.line, v.message()) in seen:
                continue
            seen.add((v.rule, v.line, v.message()))
            when = _when(query, given)
            problems.append(
                Problem(
                    path=query.path,
                    line=v.line,
                    query=query.qualname,
                    check="rule",
                    rule=v.rule,
                    message=f"{v.message()}{when}",
                )
            )
    return problems


def _when(query: Query[object], given: frozenset[str]) -> str:
    """Which statement of a query with optional blocks a problem is in."""
    if not query.optional or given == frozenset(query.optional):
        return ""
    if not given:
        return " (when no optional parameter is given)"
    return f" (when only {', '.join(sorted(given))} of the optional ones are given)"


def _why(described: QueryDescription, column: str) -> str:
    found = [c.why for c in described.columns if c.name == column]
    return found[0] if found else ""


def compare(
    query: Query[object],
    described: QueryDescription,
    *,
    enums: EnumLabels | None = None,
) -> list[SchemaMismatchError]:
    """How the described result fails to fit *query*'s ``-- returns:`` Struct.

    With *enums* (``enum_labels``), a field on an enum column must take its
    labels: ``str``, or a ``Literal`` or ``Enum`` of exactly those labels.
    """
    enums = enums or EnumLabels()
    columns = list(described.columns)
    if query.kind is Kind.SCALAR:
        return _scalar(query, columns)
    if not query.kind.returns_rows:
        return []
    problems = [
        _mismatch(
            query,
            columns[0].line if columns else query.line,
            name,
            "",
            f"column {name!r} appears {count} times; give each its own alias",
        )
        for name, count in Counter(c.name for c in columns).items()
        if count > 1
    ]
    struct = query.returns
    if query.kind is Kind.PAGE:
        if TOTAL_COLUMN not in {c.name for c in columns}:
            problems.append(
                _mismatch(
                    query,
                    query.line,
                    TOTAL_COLUMN,
                    "",
                    f"a :page query must select 'count(*) OVER () AS"
                    f" {TOTAL_COLUMN}'; add it to the select list",
                )
            )
        if struct is None or TOTAL_COLUMN not in getattr(
            struct, "__struct_fields__", ()
        ):
            columns = [c for c in columns if c.name != TOTAL_COLUMN]
    if struct is None:
        return problems
    info = mi.type_info(struct)
    if not isinstance(info, mi.StructType):
        return problems
    fields = {f.name: f for f in info.fields}
    owner = struct.__name__
    for column in columns:
        field = fields.get(column.name)
        if field is None:
            problems.append(_no_field(query, column, owner, list(fields)))
            continue
        problem = _field_problem(
            column, owner, field, enums.scalars.get(column.type_oid)
        )
        if problem:
            problems.append(
                _mismatch(query, column.line, column.name, field.name, problem)
            )
    selected = {c.name for c in columns}
    problems += [
        _mismatch(
            query,
            query.line,
            "",
            field.name,
            f"{owner}.{field.name} has no column in the result (columns:"
            f" {', '.join(c.name for c in columns)}); select it or give the"
            " field a default",
        )
        for field in info.fields
        if field.required and field.name not in selected
    ]
    return problems


def _mismatch(
    query: Query[object], line: int, column: str, field: str, problem: str
) -> SchemaMismatchError:
    return SchemaMismatchError(query.path, line, column, field, problem)


def _no_field(
    query: Query[object], column: ColumnInfo, owner: str, fields: list[str]
) -> SchemaMismatchError:
    return _mismatch(
        query,
        column.line,
        column.name,
        "",
        f"column {column.name!r} has no field in {owner}; add a field or drop the"
        f" column (fields: {', '.join(fields)})",
    )


def _pg(column: ColumnInfo) -> str:
    short = pg_type_name(column.type_oid)
    return column.pg_type if short.startswith("oid ") else short


def _field_problem(
    column: ColumnInfo,
    owner: str,
    field: mi.Field,
    labels: tuple[str, ...] | None = None,
) -> str:
    """What keeps *column* from fitting *field*, or ''; *labels* if an enum."""
    _, optional = strip_none(field.type)
    any_type = isinstance(field.type, mi.AnyType)
    wanted = describe_type(field.type)
    where = f"{owner}.{field.name} ({wanted})"
    null = " | None" if column.nullable else ""
    if not fits(column.type_oid, field.type):
        return (
            f"column {column.name!r} ({_pg(column)}) does not fit {where};"
            f" make the field '{column.python_type}{null}'"
        )
    if labels is not None:
        problem = _label_problem(column, labels, field.type, where)
        if problem:
            return f"{problem}; make the field 'Literal[{_listed(labels)}]{null}'"
    if column.nullable and not optional and not any_type:
        return (
            f"column {column.name!r} ({_pg(column)}, nullable) does not fit {where};"
            f" make the field '{wanted} | None'"
        )
    return ""


def _listed(values: Iterable[object]) -> str:
    return ", ".join(map(repr, values))


def _label_problem(
    column: ColumnInfo, labels: tuple[str, ...], field_type: mi.Type, where: str
) -> str:
    """How a field of *field_type* (shown as *where*) disagrees with *column*, or ''.

    ``str`` (and ``Any``, or a union the row decoder tries in turn) takes any
    label; a ``Literal`` or ``Enum`` must have exactly the labels.
    """
    t, _ = strip_none(field_type)
    if isinstance(t, mi.LiteralType):
        values: tuple[object, ...] = tuple(t.values)
    elif isinstance(t, mi.EnumType):
        values = tuple(member.value for member in t.cls)
    elif isinstance(t, mi.StrType | mi.AnyType | mi.UnionType):
        return ""
    else:
        return (
            f"column {column.name!r} ({_pg(column)}) is an enum, which does not fit"
            f" {where}"
        )
    missing = [label for label in labels if label not in values]
    extra = [value for value in values if value not in labels]
    if not missing and not extra:
        return ""
    differences = []
    if missing:
        differences.append(f"lacks {_listed(missing)}")
    if extra:
        which = "is not a label" if len(extra) == 1 else "are not labels"
        differences.append(f"has {_listed(extra)}, which {which}")
    return (
        f"column {column.name!r} ({_pg(column)}) has the labels {_listed(labels)},"
        f" but {where} {' and '.join(differences)}"
    )


def _scalar(
    query: Query[object], columns: list[ColumnInfo]
) -> list[SchemaMismatchError]:
    if len(columns) == 1:
        return []
    names = ", ".join(c.name for c in columns) or "none"
    return [
        _mismatch(
            query,
            query.line,
            "",
            "",
            f":scalar query {query.name!r} returns its first column only but selects"
            f" {len(columns)} ({names}); select one column, or use :one",
        )
    ]


def check_params(query: Query[object], described: QueryDescription) -> list[Problem]:
    """Parameters the runtime binds itself must have the type it binds."""
    return [
        Problem(
            path=query.path,
            line=query.line,
            query=query.qualname,
            check="params",
            message=f"parameter {param.name!r} is {param.pg_type}, but"
            f" {query.kind.annotation} binds an int; compare it with an"
            f" integer or cast it: ':{param.name}::int'",
        )
        for param in described.params
        if param.name in _PAGING.get(query.kind, ()) and param.type_oid not in _INTEGERS
    ]


_ROLES = """
SELECT rolname, rolsuper, rolbypassrls
FROM pg_roles
WHERE rolname = ANY(%s::text[])
"""
# Per (role, table, privilege): granted? schema usable? row-level security on?
# skipped because the role owns the table and it is not forced? a permissive
# policy for the role (or PUBLIC) and the command?
_ACCESS = """
SELECT u.role, u.oid, u.privilege,
       has_table_privilege(u.role, c.oid, u.privilege),
       has_schema_privilege(u.role, c.relnamespace, 'USAGE'),
       c.relrowsecurity,
       c.relrowsecurity
           AND NOT c.relforcerowsecurity
           AND pg_has_role(u.role, c.relowner, 'USAGE'),
       EXISTS (
           SELECT
           FROM pg_policy AS p
           WHERE p.polrelid = c.oid
             AND p.polpermissive
             AND p.polcmd IN ('*', u.command)
             AND (
                 0::oid = ANY(p.polroles)
                 OR EXISTS (
                     SELECT
                     FROM unnest(p.polroles) AS r (oid)
                     WHERE r.oid <> 0
                       AND pg_has_role(u.role, r.oid, 'USAGE')
                 )
             )
       )
FROM unnest(%s::text[], %s::int8[], %s::text[], %s::text[])
    AS u (role, oid, privilege, command)
JOIN pg_class AS c ON c.oid = u.oid::oid
"""
_POLICY_COMMANDS = {"SELECT": "r", "INSERT": "a", "UPDATE": "w", "DELETE": "d"}
_NO_POLICY = {
    "SELECT": "it would read no rows",
    "INSERT": "every row it inserts would be refused",
    "UPDATE": "it would update no rows",
    "DELETE": "it would delete no rows",
}


def check_roles(
    queries: Sequence[Query[object]],
    conn: psycopg.Connection[Any],
    catalog: Catalog,
    *,
    app_role: str | None = None,
) -> dict[str, list[Problem]]:
    """Problems with the role each query runs under, by query qualname.

    The role is the ``-- role:`` header's, else *app_role*; ``owner`` and no
    role at all are not checked. The role must exist, be neither SUPERUSER
    nor BYPASSRLS, have USAGE on the schema and the privilege on each table
    the statement needs, and, on a table whose row-level security is on,
    have a permissive policy for that command (its own, a group's or
    PUBLIC's), else it would silently see nothing. Owning a table whose
    row-level security is not forced is reported too, since the owner skips it.
    """
    wanted = [
        (query, role)
        for query in queries
        if (role := query.role if query.role is not None else app_role) is not None
        and role != OWNER_ROLE
    ]
    if not wanted:
        return {}
    rows = conn.execute(_ROLES, [sorted({role for _, role in wanted})]).fetchall()
    known = {name: (superuser, bypass) for name, superuser, bypass in rows}
    found: dict[str, list[Problem]] = defaultdict(list)
    needs: list[tuple[Query[object], str, str, int, str]] = []
    for query, role in wanted:
        message = _role_problem(role, known)
        stmt = parse_query(query) if not message else None
        if message:
            found[query.qualname].append(_problem(query, role, message))
        elif stmt is not None:  # else describe has said why
            needs += [
                (query, role, table.qualname, table.oid, privilege)
                for table, privilege in table_privileges(stmt, catalog)
            ]
    if needs:
        access = {
            (role, oid, privilege): facts
            for role, oid, privilege, *facts in conn.execute(
                _ACCESS,
                [
                    [n[1] for n in needs],
                    [n[3] for n in needs],
                    [n[4] for n in needs],
                    [_POLICY_COMMANDS[n[4]] for n in needs],
                ],
            )
        }
        for query, role, table, oid, privilege in needs:
            facts = access[(role, oid, privilege)]
            if message := _access_problem(role, table, privilege, facts):
                found[query.qualname].append(_problem(query, role, message))
    return dict(found)


def _problem(query: Query[object], role: str, message: str) -> Problem:
    return Problem(
        path=query.path,
        line=query.header_line("role"),
        query=query.qualname,
        check="role",
        message=message,
        detail=role,
    )


def _role_problem(role: str, known: dict[str, tuple[bool, bool]]) -> str:
    """What is wrong with *role* itself, or ''."""
    if role not in known:
        return (
            f"role {role!r} does not exist; create it in a migration, or fix the"
            " '-- role:' header"
        )
    superuser, bypass = known[role]
    if superuser or bypass:
        what = "SUPERUSER" if superuser else "BYPASSRLS"
        return (
            f"role {role!r} is {what}, so row-level security does not hold it;"
            f" 'ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS', or declare"
            f" '-- role: {OWNER_ROLE}' for a query meant to see every school"
        )
    return ""


def _access_problem(
    role: str, table: str, privilege: str, facts: Sequence[bool]
) -> str:
    """What keeps *role* from running *privilege* on *table* as meant, or ''.

    *facts* is the rest of an ``_ACCESS`` row.
    """
    granted, schema, rls, owner_skips, policy = facts
    if not schema:
        return (
            f"role {role!r} has no USAGE on the schema of {table!r}; grant it in"
            " a migration"
        )
    if not granted:
        return (
            f"role {role!r} has no {privilege} privilege on {table!r}, which the"
            f" query needs; 'GRANT {privilege} ON {table} TO {role}' in a"
            " migration, or run the query under another role"
        )
    if owner_skips:
        return (
            f"role {role!r} owns {table!r}, whose row-level security is not"
            f" forced, so it sees every school's rows; 'ALTER TABLE {table} FORCE"
            " ROW LEVEL SECURITY', or run the query under another role"
        )
    if rls and not policy:
        return (
            f"row-level security on {table!r} has no policy for role {role!r} and"
            f" {privilege}, so {_NO_POLICY[privilege]}; 'CREATE POLICY … ON {table}"
            f" FOR {privilege} TO {role}' in a migration, or run the query under"
            " another role"
        )
    return ""
