"""Is the schema ready to shard by tenant on Citus, and which queries stay on one shard?

``yeko-sql check --citus`` reads the migrated schema and every named query and
says, for a Citus cluster whose tenant-owned tables are distributed by the
tenant column (Yeko's ``school_id``):

- **tables:** the tenant-owned ones become *distributed* tables (all
  co-located: same column, same shard count); every other table becomes a
  *reference* table (copied to each node: the tenants themselves and the
  global catalog); a table whose tenant column may be NULL can be neither
  (Citus refuses a NULL distribution value) and is listed;
- **foreign keys:** a key between two distributed tables must include the
  tenant column on both sides (Citus keeps both rows on one shard); a key
  from a reference table to a distributed one is refused by Citus;
- **unique keys:** every primary or unique key of a distributed table must
  include the tenant column (Citus checks uniqueness on one shard only);
- **queries:** a *router* query is one Citus sends, whole, to the one shard
  of one tenant. That holds when every distributed relation, at every level
  (CTEs, subqueries, set-operation branches), is pinned by ``= :param`` on
  its tenant column, or joined on the tenant column to a relation so pinned,
  and all those parameters are one. ``= ANY(:ids)``, ``IN (:a, :b)``, a
  tenant read from ``current_setting(…)`` (Citus prunes shards on constants
  and parameters, not on settings) or an ``unnest`` of a list span shards. A
  ``-- tenant: any`` query spans every shard by declaration: listed, allowed.

The rule proves the queries and the foreign keys (exit status 1 on an
exception); the unique keys and nullable tenant columns are the work left
before ``create_distributed_table`` (listed, not failed). docs/scale-out.md
explains the path. Citus itself is not needed: this reads the plain
PostgreSQL schema the app runs on today.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from pglast import ast
from pglast.enums import A_Expr_Kind

from yeko_sql.query.compiler import Query
from yeko_sql.verify._catalog import Catalog, Table, load_catalog
from yeko_sql.verify._tree import (
    Relation,
    Scope,
    param_number,
    parse_query,
    source_line,
    unwrap,
)
from yeko_sql.verify.rules import _Hole, _reads_setting, _Tenancy

__all__ = [
    "CitusReport",
    "ForeignKey",
    "QueryRoute",
    "citus_connection",
    "format_citus",
]

# Every foreign key of a user table, with its columns in key order.
_FOREIGN_KEYS = """
SELECT f.conname, f.conrelid::int8, f.confrelid::int8,
       ARRAY(
           SELECT a.attname::text
           FROM unnest(f.conkey) WITH ORDINALITY AS k (number, position)
           JOIN pg_attribute AS a ON a.attrelid = f.conrelid AND a.attnum = k.number
           ORDER BY k.position
       ),
       ARRAY(
           SELECT a.attname::text
           FROM unnest(f.confkey) WITH ORDINALITY AS k (number, position)
           JOIN pg_attribute AS a ON a.attrelid = f.confrelid AND a.attnum = k.number
           ORDER BY k.position
       )
FROM pg_constraint AS f
WHERE f.contype = 'f'
  AND f.conrelid = ANY(%s::int8[]::oid[])
ORDER BY f.conrelid, f.conname
"""
# yoyo's and yeko-sql's migration bookkeeping (yeko_sql.ops.migrate): local
# tables of the coordinator, where migrations run.
_MIGRATION_TABLES = frozenset(
    {"_yoyo_log", "_yoyo_migration", "_yoyo_version", "yoyo_lock"}
    | {"yeko_migration_checksums"}
)
# Tables proper (not views): only they are distributed or replicated.
_STORED = """
SELECT c.oid::int8 FROM pg_class AS c
WHERE c.oid = ANY(%s::int8[]::oid[]) AND c.relkind IN ('r', 'p')
"""


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key: its name, tables, and columns in key order."""

    name: str
    table: Table
    columns: tuple[str, ...]
    references: Table
    referenced: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QueryRoute:
    """Where Citus would run one named query.

    ``route`` is ``router`` (one shard per call), ``reference`` (reference
    or coordinator tables only), ``all-shards`` (``-- tenant: any``, declared) or
    ``multi-shard`` (an exception: ``reasons`` say why).
    """

    query: str
    path: str
    line: int
    route: str
    reasons: tuple[tuple[int, str], ...] = ()  # (line, why)


@dataclass(slots=True)
class CitusReport:
    """The tables, keys and queries as a tenant-sharded Citus cluster sees them."""

    column: str
    distributed: list[str] = field(default_factory=list)
    reference: list[str] = field(default_factory=list)
    undistributable: list[str] = field(default_factory=list)  # tenant column NULL-able
    local: list[str] = field(default_factory=list)  # migration bookkeeping
    key_exceptions: list[str] = field(default_factory=list)  # failing foreign keys
    unique_blockers: list[str] = field(default_factory=list)
    routes: list[QueryRoute] = field(default_factory=list)

    @property
    def exceptions(self) -> list[QueryRoute]:
        """The queries that span shards without saying so."""
        return [r for r in self.routes if r.route == "multi-shard"]

    @property
    def ok(self) -> bool:
        """Whether every query routes and every foreign key keeps rows together."""
        return not self.exceptions and not self.key_exceptions


def citus_connection(
    queries: Iterable[Query[object]],
    conn: psycopg.Connection[Any],
    *,
    tenant_column: str,
) -> CitusReport:
    """Judge the schema of *conn* and *queries* for sharding by *tenant_column*."""
    catalog = load_catalog(conn, tenant_column=tenant_column)
    oids = list(catalog.tables)
    stored = {oid for (oid,) in conn.execute(_STORED, [oids])}
    keys = [
        ForeignKey(
            name, catalog.tables[relid], tuple(cols), catalog.tables[ref], tuple(refs)
        )
        for name, relid, ref, cols, refs in conn.execute(_FOREIGN_KEYS, [oids])
        if relid in catalog.tables and ref in catalog.tables
    ]
    report = CitusReport(column=tenant_column)
    _judge_tables(report, catalog, stored)
    _judge_foreign_keys(report, keys)
    report.routes = [_route(query, catalog, tenant_column) for query in queries]
    return report


def _judge_tables(report: CitusReport, catalog: Catalog, stored: set[int]) -> None:
    column = report.column
    for table in sorted(catalog.tables.values(), key=lambda t: t.qualname):
        if table.oid not in stored:
            continue
        if table.name in _MIGRATION_TABLES:
            report.local.append(table.qualname)
            continue
        if table.tenant_owned:
            report.distributed.append(table.qualname)
            report.unique_blockers += [
                f"{table.qualname}: {'primary' if key.primary else 'unique'} key"
                f" {key.name} ({', '.join(key.columns)}) lacks {column}"
                for key in table.unique_keys
                if column not in key.columns
            ]
        elif column in table.columns:
            report.undistributable.append(
                f"{table.qualname}: {column} may be NULL (or is in no foreign key);"
                " Citus distributes only on a NOT NULL column"
            )
        else:
            report.reference.append(table.qualname)


def _judge_foreign_keys(report: CitusReport, keys: list[ForeignKey]) -> None:
    column = report.column
    for key in keys:
        source, target = key.table.tenant_owned, key.references.tenant_owned
        named = f"{key.table.qualname}.{key.name}"
        if source and target:
            pairs = dict(zip(key.columns, key.referenced, strict=True))
            if pairs.get(column) != column:
                report.key_exceptions.append(
                    f"{named} ({', '.join(key.columns)}) -> "
                    f"{key.references.qualname} ({', '.join(key.referenced)}):"
                    f" joins two distributed tables without {column} = {column}"
                )
        elif target and not source and key.table.qualname in report.reference:
            report.key_exceptions.append(
                f"{named}: the reference table {key.table.qualname} points at the"
                f" distributed {key.references.qualname} (Citus refuses it)"
            )


def _route(query: Query[object], catalog: Catalog, column: str) -> QueryRoute:
    def route(name: str, reasons: Iterable[tuple[int, str]] = ()) -> QueryRoute:
        return QueryRoute(query.qualname, query.path, query.line, name, tuple(reasons))

    reasons: list[tuple[int, str]] = []
    touches = False
    declared = "tenant" in query.headers
    for given, statement in query.combinations():
        stmt = parse_query(statement)
        if stmt is None:
            continue
        router = _Router(catalog, column)
        router.visit(stmt, None)
        touches = touches or router.touches
        if declared:
            continue
        when = "" if len(query.optional) == 0 else f" (given {_given(given)})"
        reasons += [
            (source_line(query, hole.location), f"{hole.problem}{when}")
            for hole in router.holes
        ]
        if len(router.pins) > 1:
            shown = ", ".join(f"${n}" for n in sorted(router.pins))
            why = f"pinned to several parameters ({shown}){when}"
            reasons.append((query.line, why))
    if declared and touches:
        return route(
            "all-shards", [(query.header_line("tenant"), query.headers["tenant"])]
        )
    if reasons:
        return route("multi-shard", dict.fromkeys(reasons))
    return route("router" if touches else "reference")


def _given(given: frozenset[str]) -> str:
    return ", ".join(sorted(given)) or "no optional parameter"


class _Router(_Tenancy):
    """The tenant rule, held to what lets Citus route to one shard.

    A tenant is a single parameter (or the tenant column of a relation so
    pinned); a list of them, a setting, or an ``unnest`` is not.
    """

    def __init__(self, catalog: Catalog, column: str) -> None:
        super().__init__(catalog, column)
        self.pins: set[int] = set()  # the parameters that pin a tenant
        self.touches = False  # whether a distributed table is read or written

    def visit(self, stmt: ast.Node, parent: Scope | None) -> None:
        """Scope *stmt* as the tenant rule does; note distributed relations."""
        before = len(self.holes)
        super().visit(stmt, parent)
        scope = self.scopes[id(stmt)]
        self.touches = self.touches or any(
            r.table is not None and r.table.tenant_owned for r in scope.relations
        )
        self.holes[before:] = [self._reworded(h) for h in self.holes[before:]]

    def _reworded(self, hole: _Hole) -> _Hole:
        return _Hole(
            hole.location,
            hole.problem.replace(
                f"is not scoped to one {self.noun}",
                f"is not pinned to one shard (one :{self.column})",
            ),
            hole.hint,
        )

    def _scoped_by(self, term: object, scope: Scope) -> list[Relation]:
        if (
            isinstance(term, ast.A_Expr)
            and term.kind == A_Expr_Kind.AEXPR_IN
            and isinstance(term.rexpr, tuple | list)
            and len(term.rexpr) > 1
        ):
            return []  # IN (:a, :b): two tenants, maybe two shards
        return super()._scoped_by(term, scope)

    def _is_tenant(self, expr: object, scope: Scope, *, array: bool = False) -> bool:
        if array or _reads_setting(expr, self.setting):
            return False
        number = param_number(unwrap(expr))
        if number is not None:
            self.pins.add(number)
            return True
        return super()._is_tenant(expr, scope)

    def _tenant_column_of(self, relation: Relation, column: str) -> bool:
        if relation.subquery is None and not (
            column == self.column and id(relation) in self.scoped
        ):
            return False  # unnest(:school_ids): a list of tenants
        return super()._tenant_column_of(relation, column)


def format_citus(report: CitusReport) -> str:
    """The report as ``check --citus`` prints it."""
    column = report.column
    lines = [
        f"Citus, distributed by {column}:",
        f"  distributed ({len(report.distributed)}): {', '.join(report.distributed)}",
        f"  reference ({len(report.reference)}): {', '.join(report.reference)}",
    ]
    lines += [f"  neither: {item}" for item in report.undistributable]
    if report.local:
        lines.append(f"  coordinator only (migrations): {', '.join(report.local)}")
    if report.key_exceptions:
        lines.append(f"foreign keys without {column} ({len(report.key_exceptions)}):")
        lines += [f"  {item}" for item in report.key_exceptions]
    else:
        lines.append(f"foreign keys: every key between distributed tables has {column}")
    if report.unique_blockers:
        lines.append(
            f"unique keys to widen with {column} before distributing"
            f" ({len(report.unique_blockers)}):"
        )
        lines += [f"  {item}" for item in report.unique_blockers]
    counts = {
        name: sum(r.route == name for r in report.routes)
        for name in ("router", "reference", "all-shards", "multi-shard")
    }
    lines.append(
        f"queries: {counts['router']} router (one shard), {counts['reference']}"
        f" on reference or coordinator tables only, {counts['all-shards']} on all"
        f" shards (-- tenant: any), {counts['multi-shard']} exception(s)"
    )
    spanning: dict[str, list[str]] = {}
    for r in report.routes:
        if r.route == "all-shards":
            spanning.setdefault(r.reasons[0][1], []).append(r.query)
    lines += [
        f"  all shards, '-- tenant: {why}': {', '.join(names)}"
        for why, names in spanning.items()
    ]
    for r in report.exceptions:
        lines += [f"{r.path}:{n}: {r.query} spans shards: {w}" for n, w in r.reasons]
    return "\n".join(lines) + "\n"
