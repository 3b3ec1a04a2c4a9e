"""Lint rules every query must pass; ``check`` runs them after describing.

=============== ==========================================================
rule            what it asks
=============== ==========================================================
``unique-key``  ``:one``/``:opt`` compare every column of a primary or
                unique key with ``=`` for each FROM item, or end in
                ``LIMIT 1`` (see ``yeko_sql.rowcount``)
``tenant``      a query reading or writing a school-owned table compares
                some ``school_id`` with a parameter (``= :school_id``,
                ``= ANY(:school_ids)``) or inserts one, unless its header
                says ``-- tenant: any: <reason>``
``no-star``     no ``*`` or ``t.*`` over a table or view (a star over
                ``unnest(...)``, a subquery or a CTE is fine: the query
                text fixes its columns)
``stable-order`` a ``:page``/``:keyset`` query's ``ORDER BY`` ends on a
                column of a unique key whose other columns are ordered on
                or fixed by ``=``, so pages never overlap
``where``       every ``UPDATE`` and ``DELETE`` has a ``WHERE``
=============== ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pglast import ast
from pglast.enums import A_Expr_Kind

from yeko_sql.compiler import Query
from yeko_sql.kinds import Kind
from yeko_sql.pgcatalog import TENANT_COLUMN, Catalog
from yeko_sql.rowcount import unpinned
from yeko_sql.sqlast import (
    Relation,
    Scope,
    column_ref,
    conjuncts,
    is_param,
    output_names,
    returning,
    source_line,
    targets,
    unwrap,
    walk,
)

__all__ = ["RULES", "Violation", "lint"]

_STATEMENTS = (ast.SelectStmt, ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule a query breaks, where, and how to fix it."""

    rule: str
    line: int
    problem: str
    hint: str

    def message(self) -> str:
        """``rule <name>: <problem>; <hint>``."""
        return f"rule {self.rule}: {self.problem}; {self.hint}"


Rule = Callable[[Query[object], ast.Node, Catalog], Iterator[Violation]]


def lint(
    query: Query[object], stmt: ast.Node | None, catalog: Catalog
) -> list[Violation]:
    """Every rule *query* breaks; *stmt* is its parsed statement."""
    if stmt is None:
        return []
    return [v for rule in RULES.values() for v in rule(query, stmt, catalog)]


def levels(
    stmt: ast.Node, catalog: Catalog, parent: Scope | None = None
) -> Iterator[tuple[ast.Node, Scope]]:
    """Each statement level (CTEs, subqueries, set-operation arms) with its scope."""
    scope = Scope.of(stmt, catalog, parent)
    yield stmt, scope
    for child in _children(stmt):
        yield from levels(child, catalog, scope)


def _children(node: ast.Node) -> Iterator[ast.Node]:
    for name in node:
        yield from _statements_in(getattr(node, name))


def _statements_in(value: object) -> Iterator[ast.Node]:
    if isinstance(value, _STATEMENTS):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _statements_in(item)
    elif isinstance(value, ast.Node):
        yield from _children(value)


def _unique_key(
    query: Query[object], stmt: ast.Node, catalog: Catalog
) -> Iterator[Violation]:
    if query.kind not in (Kind.ONE, Kind.OPT):
        return
    loose = unpinned(stmt, catalog)
    if not loose:
        return
    described = []
    for item in loose:
        keys = item.table.unique_keys if item.table else []
        shown = ", ".join(f"{k.name} ({', '.join(k.columns)})" for k in keys)
        described.append(f"{item.alias!r}" + (f" (keys: {shown})" if shown else ""))
    yield Violation(
        "unique-key",
        query.line,
        f"{query.kind.annotation} query {query.name!r} may return several rows:"
        f" no unique key is compared with '=' for {', '.join(described)}",
        "compare every column of a primary or unique key, or end with LIMIT 1",
    )


def _tenant(
    query: Query[object], stmt: ast.Node, catalog: Catalog
) -> Iterator[Violation]:
    if "tenant" in query.headers:
        return
    owned = sorted(
        {
            table.qualname
            for node, scope in levels(stmt, catalog)
            for relation in scope.relations
            if (table := relation.table) is not None and table.school_owned
        }
    )
    if not owned or _scoped(stmt):
        return
    yield Violation(
        "tenant",
        query.line,
        f"query {query.name!r} reads or writes the school-owned"
        f" {', '.join(repr(t) for t in owned)} but compares no {TENANT_COLUMN}"
        " with a parameter",
        f"add 'AND {TENANT_COLUMN} = :{TENANT_COLUMN}', or explain why not with"
        " '-- tenant: any: <reason>'",
    )


def _scoped(stmt: ast.Node) -> bool:
    for node in walk(stmt):
        if isinstance(node, ast.A_Expr) and node.kind in (
            A_Expr_Kind.AEXPR_OP,
            A_Expr_Kind.AEXPR_OP_ANY,
        ):
            if node.name and node.name[-1].sval != "=":
                continue
            for one, other in ((node.lexpr, node.rexpr), (node.rexpr, node.lexpr)):
                ref = column_ref(one)
                if ref is not None and ref[1] == TENANT_COLUMN and is_param(other):
                    return True
        if isinstance(node, ast.InsertStmt) and _inserts_param(node):
            return True
    return False


def _inserts_param(insert: ast.InsertStmt) -> bool:
    names = [str(c.name) for c in insert.cols or ()]
    if TENANT_COLUMN not in names or insert.selectStmt is None:
        return False
    position = names.index(TENANT_COLUMN)
    source = insert.selectStmt
    rows = list(source.valuesLists or ()) if isinstance(source, ast.SelectStmt) else []
    values = [row[position] for row in rows if position < len(row)]
    if not rows:
        values = [
            getattr(t, "val", None) for t in targets(source)[position : position + 1]
        ]
    return bool(values) and all(is_param(v) for v in values)


def _no_star(
    query: Query[object], stmt: ast.Node, catalog: Catalog
) -> Iterator[Violation]:
    for level, scope in levels(stmt, catalog):
        selected = getattr(level, "targetList", None) or ()
        for target in (*selected, *returning(level)):
            value = getattr(target, "val", None)
            fields = value.fields or () if isinstance(value, ast.ColumnRef) else ()
            if not fields or not isinstance(fields[-1], ast.A_Star):
                continue
            qualifier = fields[0].sval if len(fields) > 1 else None
            tables = [
                r.table.qualname
                for r in scope.relations
                if r.table is not None and qualifier in (None, r.alias)
            ]
            if tables:
                star = f"{qualifier}.*" if qualifier else "*"
                yield Violation(
                    "no-star",
                    source_line(query, getattr(value, "location", None)),
                    f"{star} lists whatever columns {', '.join(map(repr, tables))}"
                    " has today",
                    "name the columns",
                )


def _stable_order(
    query: Query[object], stmt: ast.Node, catalog: Catalog
) -> Iterator[Violation]:
    if query.kind not in (Kind.PAGE, Kind.KEYSET):
        return
    sort = list(getattr(stmt, "sortClause", None) or ())
    hint = "end the ORDER BY with a unique column such as id"
    if not sort:
        yield Violation(
            "stable-order",
            query.line,
            f"{query.kind.annotation} query has no ORDER BY",
            hint,
        )
        return
    scope = Scope.of(stmt, catalog)
    ordered = [_sort_column(s.node, stmt, scope) for s in sort]
    last = ordered[-1]
    table = last[0].table if last is not None else None
    if last is not None and table is not None:
        relation, column = last
        fixed = {
            ref[1]
            for term in conjuncts(getattr(stmt, "whereClause", None))
            if isinstance(term, ast.A_Expr)
            and term.kind == A_Expr_Kind.AEXPR_OP
            and (ref := column_ref(term.lexpr)) is not None
            and scope.resolve(*ref) is relation
            and isinstance(unwrap(term.rexpr), ast.A_Const | ast.ParamRef)
        }
        mine = {c for r, c in filter(None, ordered) if r is relation} | fixed
        if any(
            column in key.columns
            and not key.predicate
            and not key.expression
            and set(key.columns) <= mine
            for key in table.unique_keys
        ):
            return
    yield Violation(
        "stable-order",
        source_line(query, getattr(sort[-1].node, "location", None)),
        f"the ORDER BY of {query.kind.annotation} query {query.name!r} does not end"
        " on a unique key, so rows with equal sort values can repeat or go missing"
        " between pages",
        hint,
    )


def _sort_column(
    node: object, stmt: ast.Node, scope: Scope
) -> tuple[Relation, str] | None:
    ref = column_ref(node)
    if ref is None:
        return None
    if ref[0] is None and ref[1] in output_names(stmt):
        index = output_names(stmt).index(ref[1])
        aliased = column_ref(getattr(targets(stmt)[index], "val", None))
        ref = aliased or ref
    relation = scope.resolve(*ref)
    return (relation, ref[1]) if relation is not None else None


def _where(
    query: Query[object], stmt: ast.Node, catalog: Catalog
) -> Iterator[Violation]:
    for node in walk(stmt):
        if (
            isinstance(node, ast.UpdateStmt | ast.DeleteStmt)
            and node.whereClause is None
        ):
            verb = "UPDATE" if isinstance(node, ast.UpdateStmt) else "DELETE"
            target = node.relation
            yield Violation(
                "where",
                source_line(query, target.location if target else None),
                f"{verb} of {target.relname if target else '?'!r} has no WHERE",
                "add one; write 'WHERE true' if every row is meant",
            )


RULES: dict[str, Rule] = {
    "unique-key": _unique_key,
    "tenant": _tenant,
    "no-star": _no_star,
    "stable-order": _stable_order,
    "where": _where,
}
"""Every rule by name, in the order ``lint`` runs them."""
