"""Prove from the SQL and the catalog that a statement yields at most one row.

Used by the ``unique-key`` rule for ``:one`` and ``:opt`` queries. A statement
level yields at most one row when it ends in ``LIMIT 1``, has no FROM, is an
aggregate without ``GROUP BY``, is a one-row ``VALUES``, or when every FROM
item is *pinned*: a table whose primary key or unique key has each column
compared with ``=`` to a parameter, a constant, an outer column, or a column
of an item already pinned (``JOIN grades AS g ON g.id = c.grade_id``); a
subquery or CTE that itself yields at most one row. A partial unique index
counts when the query repeats each ``col = constant`` of its predicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import pglast
from pglast import ast
from pglast.enums import A_Expr_Kind, SetOperation

from yeko_sql.verify._catalog import Catalog, Table, UniqueKey
from yeko_sql.verify._tree import Relation, Scope, column_ref, conjuncts, unwrap, walk

__all__ = ["Unpinned", "unpinned"]

_AGGREGATES = frozenset(
    {"count", "sum", "min", "max", "avg", "array_agg", "string_agg", "bool_and"}
    | {"bool_or", "every", "jsonb_agg", "json_agg", "jsonb_object_agg"}
    | {"json_object_agg"}
)


@dataclass(frozen=True, slots=True)
class Unpinned:
    """A FROM item that may yield several rows, and its unique keys."""

    alias: str
    table: Table | None


def unpinned(
    stmt: ast.Node, catalog: Catalog, parent: Scope | None = None
) -> list[Unpinned]:
    """The FROM items that keep *stmt* from being proven to yield one row.

    An empty list means *stmt* yields at most one row.
    """
    if isinstance(stmt, ast.InsertStmt):
        source = stmt.selectStmt
        return [] if source is None else unpinned(source, catalog, parent)
    if isinstance(stmt, ast.SelectStmt) and _one_row_shape(stmt):
        return []
    if isinstance(stmt, ast.SelectStmt) and stmt.op != SetOperation.SETOP_NONE:
        return [Unpinned("UNION/INTERSECT/EXCEPT", None)]
    scope = Scope.of(stmt, catalog, parent)
    fixed, links = _equalities(stmt, scope)
    pinned: set[int] = set()
    changed = True
    while changed:
        changed = False
        for index, relation in enumerate(scope.relations):
            if index not in pinned and _pins(relation, index, fixed, links, pinned):
                pinned.add(index)
                changed = True
        for index, relation in enumerate(scope.relations):
            subquery = relation.subquery
            if index not in pinned and subquery is not None:
                if unpinned(subquery, catalog, scope):
                    continue
                pinned.add(index)
                changed = True
    return [
        Unpinned(r.alias, r.table)
        for i, r in enumerate(scope.relations)
        if i not in pinned
    ]


def _one_row_shape(stmt: ast.SelectStmt) -> bool:
    limit = unwrap(stmt.limitCount)
    if isinstance(limit, ast.A_Const) and isinstance(limit.val, ast.Integer):
        return int(limit.val.ival or 0) <= 1
    if stmt.op != SetOperation.SETOP_NONE:
        return False
    if stmt.valuesLists:
        return len(stmt.valuesLists) == 1
    if not stmt.fromClause:
        return True
    return not stmt.groupClause and _aggregates(stmt)


def _aggregates(stmt: ast.SelectStmt) -> bool:
    """Whether the select list calls an aggregate (outside subqueries)."""
    stack: list[object] = list(stmt.targetList or ())
    while stack:
        node = stack.pop()
        if isinstance(node, ast.SubLink):
            continue
        if (
            isinstance(node, ast.FuncCall)
            and node.over is None
            and node.funcname
            and str(node.funcname[-1].sval).lower() in _AGGREGATES
        ):
            return True
        if isinstance(node, ast.Node):
            stack.extend(getattr(node, name) for name in node)
        elif isinstance(node, tuple | list):
            stack.extend(node)
    return False


# fixed: (relation index, column) -> (the constant's text or '?', null-safe), for
# a column compared with a value fixed per row of the outer query (a parameter,
# a constant, an outer column, an expression of those); null-safe when the
# comparison is IS NOT DISTINCT FROM. links: (index, column) -> the (index,
# column) pairs it is compared with '='.
Fixed = dict[tuple[int, str], tuple[str, bool]]
Links = dict[tuple[int, str], list[tuple[int, str]]]


def _equalities(stmt: ast.Node, scope: Scope) -> tuple[Fixed, Links]:
    terms = conjuncts(getattr(stmt, "whereClause", None))
    for item in getattr(stmt, "fromClause", None) or ():
        terms += [
            t
            for node in walk(item)
            if isinstance(node, ast.JoinExpr)
            for t in conjuncts(node.quals)
        ]
    fixed: Fixed = {}
    links: Links = {}
    for term in terms:
        if not isinstance(term, ast.A_Expr):
            continue
        null_safe = term.kind == A_Expr_Kind.AEXPR_NOT_DISTINCT
        operator = term.name[-1].sval if term.name else ""
        if not null_safe and not (
            term.kind == A_Expr_Kind.AEXPR_OP and operator == "="
        ):
            continue
        left, right = _side(term.lexpr, scope), _side(term.rexpr, scope)
        for one, other, value in (
            (left, right, term.rexpr),
            (right, left, term.lexpr),
        ):
            if one is None:
                continue
            if other is not None and not null_safe:
                links.setdefault(one, []).append(other)
            elif (
                other is None
                and _independent(value, scope)
                and (one not in fixed or fixed[one][1])
            ):
                fixed[one] = (_const_text(value), null_safe)
    return fixed, links


def _side(node: object, scope: Scope) -> tuple[int, str] | None:
    ref = column_ref(node)
    if ref is None:
        return None
    relation = scope.resolve(*ref)
    for index, candidate in enumerate(scope.relations):
        if candidate is relation:
            return index, ref[1]
    return None


def _independent(node: object, scope: Scope) -> bool:
    """Whether *node* reads no column of this level (one value per outer row)."""
    for part in walk(node):
        if isinstance(part, ast.SubLink):
            return False
        ref = column_ref(part) if isinstance(part, ast.ColumnRef) else None
        if ref is not None and any(scope.resolve(*ref) is r for r in scope.relations):
            return False
    return True


def _const_text(node: object) -> str:
    value = unwrap(node)
    if isinstance(value, ast.A_Const) and value.val is not None:
        inner = value.val
        return str(getattr(inner, "sval", None) or getattr(inner, "ival", ""))
    return "?"


def _pins(
    relation: Relation, index: int, fixed: Fixed, links: Links, pinned: set[int]
) -> bool:
    if relation.table is None:
        return False

    table = relation.table

    def known(key: UniqueKey, column: str) -> bool:
        found = fixed.get((index, column))
        if found is not None:
            _, null_safe = found
            notnull = column in table.columns and table.columns[column].notnull
            if not null_safe or key.nulls_not_distinct or notnull:
                return True
        return any(i in pinned for i, _ in links.get((index, column), ()))

    return any(
        not key.expression
        and all(known(key, c) for c in key.columns)
        and _predicate_holds(key, index, fixed)
        for key in table.unique_keys
    )


def _predicate_holds(key: UniqueKey, index: int, fixed: Fixed) -> bool:
    """Whether the query repeats each ``col = constant`` of a partial key."""
    if key.predicate is None:
        return True
    try:
        tree = pglast.parse_sql(f"SELECT 1 WHERE {key.predicate}")[0].stmt
    except pglast.parser.ParseError:
        return False
    for term in conjuncts(getattr(tree, "whereClause", None)):
        if isinstance(term, ast.NullTest) and term.nulltesttype == 1:  # IS NOT NULL
            ref = column_ref(term.arg)
            if ref is None or (index, ref[1]) not in fixed:
                return False
            continue
        if not (isinstance(term, ast.A_Expr) and term.kind == A_Expr_Kind.AEXPR_OP):
            return False
        ref = column_ref(term.lexpr)
        found = fixed.get((index, ref[1])) if ref is not None else None
        if found is None or found[0] != _const_text(term.rexpr):
            return False
    return True
