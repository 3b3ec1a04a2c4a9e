"""Whether each result column of a query can be NULL, and why.

PostgreSQL says which table column a result column comes from
(``ftable``/``ftablecol``) but not whether it can be NULL. The rules, in order:

1. ``-- notnull: a, b`` and ``-- nullable: c`` in the header win.
2. A column on the nullable side of an outer join is nullable. The generic plan
   (``EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE`` with ``plan_cache_mode =
   force_generic_plan``) shows it: under a ``Left`` join the inner child, under
   a ``Right`` join the outer child, under ``Full`` both; a top-level output
   that one of those children outputs, or that reads a relation scanned under
   it, is nullable (sqlx does the same). The plan sees joins the planner
   reduced to inner joins, which reading the SQL would not.
3. Under ``GROUPING SETS``/``ROLLUP``/``CUBE``, a grouped column that is not a
   plain ``GROUP BY`` item is NULL in subtotal rows.
4. A column that traces to a table column is NOT NULL exactly when that
   column is ``NOT NULL`` (``pg_attribute.attnotnull``). A column that traces
   to a view's (or materialized view's) column is judged by the expression
   the view's definition (``pg_get_viewdef``, see ``view_definitions``) gives
   it, like a subquery's, through views over views up to a depth limit.
5. Any other expression is NOT NULL only when ``yeko_sql.verify._notnull`` proves it
   from the parse tree (constants, ``count``, ``EXISTS``, ``coalesce`` with a
   NOT NULL argument, built-in operators over NOT NULL operands, …; the full
   list is in docs/check.md). Everything else is nullable: a parameter, a
   scalar subquery, a function we do not know, ``->`` on JSON.

A star (``*``, ``t.*``) is judged column by column as if written out: the
columns of a table or view from the catalog, those of a CTE or subquery from
its own select list, the merged columns of ``JOIN … USING`` first
(``yeko_sql.verify._tree.Scope.expand``). A star whose columns are not known
(a function's, a table outside the catalog) ends the analysis of the select
list there; the columns after it rest on the header, the plan and the table
column PostgreSQL names.

A column that traces to a table column but is read through a CTE or a
subquery is judged by the expression the CTE gives it: a ``MATERIALIZED``
CTE's own outer join is not in the top plan's outputs. docs/describe.md lists
the hard cases and the rule for each; a user-defined function or operator is
never trusted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pglast
import psycopg
from pglast import ast
from psycopg import sql

from yeko_sql.query.compiler import Query
from yeko_sql.verify._catalog import Catalog, Column, Table
from yeko_sql.verify._notnull import not_null_reason, null_reason
from yeko_sql.verify._tree import (
    Relation,
    Scope,
    column_ref,
    param_number,
    target_arms,
    walk,
)

__all__ = [
    "OuterJoins",
    "Verdict",
    "explain_generic",
    "infer_columns",
    "infer_params",
    "view_definitions",
]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a value may be NULL, and the reason, in words."""

    nullable: bool
    why: str


def explain_generic(
    conn: psycopg.Connection[Any], statement: str, nparams: int
) -> Mapping[str, Any] | None:
    """The generic plan of the prepared *statement*, as EXPLAIN's JSON.

    Run with ``plan_cache_mode = force_generic_plan`` (PostgreSQL 12+; ``GENERIC_PLAN``
    needs 16), so the NULL arguments are never folded into the plan. EXPLAIN
    without ANALYZE runs nothing. None when the statement cannot be explained.
    """
    args = sql.SQL(", ").join([sql.SQL("NULL")] * nparams)
    call = sql.SQL("({})").format(args) if nparams else sql.SQL("")
    text = sql.SQL("EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE {}{}").format(
        sql.Identifier(statement), call
    )
    try:
        with conn.transaction():
            conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            row = conn.execute(text).fetchone()
    except psycopg.Error:
        return None
    plans = row[0] if row else None
    return plans[0] if isinstance(plans, list) and plans else None


_QUALIFIED = re.compile(r'^("(?:[^"]|"")+"|[^".()\s]+)\.("(?:[^"]|"")+"|[^".()\s]+)$')


def _strip_parens(text: str) -> str:
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for i, char in enumerate(text):
            depth += (char == "(") - (char == ")")
            if depth == 0 and i < len(text) - 1:
                return text  # the first ( closes before the end: (a) + (b)
        text = text[1:-1]
    return text


class OuterJoins:
    """What the generic plan says about outer joins."""

    def __init__(self, plan: Mapping[str, Any] | None) -> None:
        self.known = plan is not None
        self.outputs: dict[str, str] = {}  # output text -> join it is nullable under
        self.aliases: dict[str, str] = {}  # alias scanned on a nullable side -> join
        self.scanned: set[str] = set()  # every alias the plan scans
        top = plan.get("Plan", {}) if plan else {}
        self.top: list[str] = [_strip_parens(o) for o in top.get("Output", [])]
        if "Alias" in top:
            self.scanned.add(top["Alias"])
        self._visit(top)

    def _visit(self, node: Mapping[str, Any]) -> None:
        join = node.get("Join Type")
        for child in node.get("Plans", []):
            if "Alias" in child:
                self.scanned.add(child["Alias"])
            side = child.get("Parent Relationship")
            if (join, side) in {("Left", "Inner"), ("Right", "Outer")} or (
                join == "Full" and side in {"Inner", "Outer"}
            ):
                self._mark(child, f"{str(join).upper()} JOIN")
            self._visit(child)

    def _mark(self, node: Mapping[str, Any], join: str) -> None:
        for output in node.get("Output", []):
            self.outputs.setdefault(_strip_parens(output), join)
        for child in node.get("Plans", []):
            self._mark(child, join)
        if "Alias" in node:
            self.aliases.setdefault(node["Alias"], join)

    def column(self, index: int) -> str | None:
        """Why output *index* may be NULL through an outer join, else None."""
        if index >= len(self.top):
            return None
        text = self.top[index]
        join = self.outputs.get(text)
        found = _QUALIFIED.match(text)
        alias = found.group(1).strip('"') if found else None
        if join is None and alias is not None:
            join = self.aliases.get(alias)
        if join is None:
            return None
        return f"{text} is on the nullable side of a {join}"

    def relation(self, relation: Relation) -> bool:
        """Whether a FROM item is on the nullable side of an outer join."""
        if not self.known or relation.alias not in self.scanned:
            return relation.nullable  # what the SQL says
        return relation.alias in self.aliases


_VIEWS = """
SELECT c.oid::int8, pg_get_viewdef(c.oid)
FROM pg_class AS c
WHERE c.relkind IN ('v', 'm')
  AND c.oid = ANY(%s::int8[]::oid[])
"""


def view_definitions(
    conn: psycopg.Connection[Any], catalog: Catalog
) -> dict[int, ast.Node]:
    """The parsed definition of each view and materialized view of *catalog*.

    ``pg_get_viewdef`` prints the stored query with names qualified as the
    connection's ``search_path`` needs, the path the catalog resolves along.
    A definition pglast cannot parse is left out (the view is then a table
    whose columns allow NULL).
    """
    found: dict[int, ast.Node] = {}
    for oid, text in conn.execute(_VIEWS, [list(catalog.tables)]):
        try:
            statements = pglast.parse_sql(text)
        except pglast.parser.ParseError:
            continue
        if len(statements) == 1 and isinstance(statements[0].stmt, ast.SelectStmt):
            found[oid] = statements[0].stmt
    return found


def infer_params(stmt: ast.Node | None, nparams: int) -> list[Verdict]:
    """For each ``$n``: NULL is expected when the SQL tests it or coalesces it.

    PostgreSQL cannot say whether a parameter may be NULL. A parameter the SQL
    writes as ``$n IS NULL`` or passes to ``coalesce`` is taken to accept NULL;
    for any other the answer is unknown.
    """
    handled: dict[int, str] = {}
    for node in walk(stmt):
        if isinstance(node, ast.NullTest):
            number = param_number(node.arg)
            if number is not None:
                handled.setdefault(number, "the SQL tests it with IS NULL")
        elif isinstance(node, ast.CoalesceExpr):
            for arg in node.args or ():
                number = param_number(arg)
                if number is not None:
                    handled.setdefault(number, "the SQL passes it to coalesce")
    unknown = "PostgreSQL does not say; None binds NULL"
    return [
        Verdict(n in handled, handled.get(n, unknown)) for n in range(1, nparams + 1)
    ]


def infer_columns(
    query: Query[object],
    stmt: ast.Node | None,
    *,
    sources: Sequence[tuple[Table, Column] | None],
    names: Sequence[str],
    catalog: Catalog,
    plan: Mapping[str, Any] | None,
    views: Mapping[int, ast.Node] | None = None,
) -> list[Verdict]:
    """Judge each result column; *sources* are the ftable/ftablecol lookups.

    *views* (``view_definitions``) are read through their definitions.
    """
    joins = OuterJoins(plan)
    forced_notnull = _header_list(query, "notnull")
    forced_null = _header_list(query, "nullable")
    views = views or {}
    arms = target_arms(stmt, catalog, views=views) if stmt is not None else []
    verdicts = []
    for index, (name, source) in enumerate(zip(names, sources, strict=True)):
        if name in forced_notnull:
            verdicts.append(Verdict(False, "'-- notnull:' in the header"))
            continue
        if name in forced_null:
            verdicts.append(Verdict(True, "'-- nullable:' in the header"))
            continue
        join = joins.column(index) if joins.known else None
        if join is not None:
            verdicts.append(Verdict(True, f"outer join: {join}"))
            continue
        exprs = [(arm[0], arm[1][index]) for arm in arms if index < len(arm[1])]
        if any(scope.subtotal_null(expr) for scope, expr in exprs):
            verdicts.append(
                Verdict(True, "GROUPING SETS leave it NULL in subtotal rows")
            )
            continue
        # A UNION's column traces to its first arm only: judge every arm instead.
        if source is not None and len(arms) <= 1:
            verdicts.append(_traced(source, exprs, joins, views))
            continue
        reasons = [not_null_reason(e, s, joins.relation) for s, e in exprs]
        if exprs and all(reasons):
            verdicts.append(Verdict(False, str(reasons[0])))
        else:
            why = next(
                (
                    r
                    for (s, e), ok in zip(exprs, reasons, strict=True)
                    if not ok and (r := null_reason(e, s))
                ),
                None,
            )
            why = why or "an expression not known to be NOT NULL"
            verdicts.append(Verdict(True, why))
    return verdicts


def _traced(
    source: tuple[Table, Column],
    exprs: Sequence[tuple[Scope, object]],
    joins: OuterJoins,
    views: Mapping[int, ast.Node],
) -> Verdict:
    """A column PostgreSQL traces to a table (or view) column."""
    table, column = source
    qualified = f"{table.qualname}.{column.name}"
    if table.oid in views and exprs:
        return _through_view(table, column, exprs, joins)
    if not joins.known and any(_outer_in_sql(expr, scope) for scope, expr in exprs):
        return Verdict(True, "outer join: a LEFT/RIGHT/FULL JOIN")
    # Through a CTE or subquery, the table column may have met an outer join of
    # its own (a MATERIALIZED CTE's join is not in the top plan's outputs):
    # judge the expression the CTE gives it instead.
    if column.notnull and not _reads_subquery(exprs):
        return Verdict(False, f"{qualified} is NOT NULL")
    reasons = [not_null_reason(e, s, joins.relation) for s, e in exprs]
    if exprs and all(reasons):
        return Verdict(False, str(reasons[0]))
    if column.notnull:
        return Verdict(
            True,
            f"{qualified} is NOT NULL, but read through a CTE or subquery that"
            " may make it NULL (an outer join)",
        )
    return Verdict(True, f"{qualified} allows NULL")


def _through_view(
    view: Table,
    column: Column,
    exprs: Sequence[tuple[Scope, object]],
    joins: OuterJoins,
) -> Verdict:
    """Judge a view's column by the expression its definition gives it."""
    reasons = [not_null_reason(e, s, joins.relation) for s, e in exprs]
    name = f"{view.qualname}.{column.name}"
    if all(reasons):
        return Verdict(False, f"view {name}: {reasons[0]}")
    return Verdict(True, f"view {name}: its definition does not prove it NOT NULL")


def _header_list(query: Query[object], key: str) -> set[str]:
    return {p.strip() for p in query.headers.get(key, "").split(",") if p.strip()}


def _reads_subquery(exprs: Sequence[tuple[Scope, object]]) -> bool:
    """Whether a column expression reads a CTE's or subquery's column."""
    for scope, expr in exprs:
        ref = column_ref(expr)
        relation = scope.resolve(*ref) if ref else None
        if relation is not None and relation.subquery is not None:
            return True
    return False


def _outer_in_sql(expr: object, scope: Scope) -> bool:
    ref = column_ref(expr)
    relation = scope.resolve(*ref) if ref else None
    return relation is not None and relation.nullable
