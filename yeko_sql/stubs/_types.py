"""What a typed stub says a query takes and returns, beyond what ``describe`` knows.

``describe`` gives each parameter's type, and says ``nullable: yes`` only when
the SQL tests it with ``IS NULL`` or passes it to ``coalesce``. A stub that
rejected ``None`` everywhere else would reject correct calls such as
``create_school(city=None)``, so the parse tree is read once more:

- a parameter written into a column that allows NULL (``INSERT`` values or
  ``SELECT`` list, ``UPDATE … SET``) takes ``None``;
- an array unnested into such a column takes ``None`` elements
  (``unnest(:note::text[]) AS u (note)`` then ``u.note`` into ``payments.note``);
- ``IS [NOT] DISTINCT FROM :x``, ``:x IS NULL`` and ``coalesce(:x, …)`` (also
  through an unnested column) take ``None``.

Anything else is typed without ``None``. ``:scalar`` results are ``T | None``
(no row gives None) unless the statement always returns exactly one row (an
aggregate without ``GROUP BY``, or a ``SELECT`` with no ``FROM``) and describe
says the column is never NULL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

from pglast import ast
from pglast.enums import A_Expr_Kind, SetOperation

from yeko_sql.verify._catalog import Catalog, Table
from yeko_sql.verify._tree import column_ref, param_number, unwrap, walk

__all__ = ["NullKind", "always_one_row", "param_nulls"]

NullKind = Literal["value", "elements"]
"""``value``: the parameter may be None; ``elements``: its list may hold None."""

_AGGREGATES = frozenset(
    {
        "array_agg",
        "avg",
        "bit_and",
        "bit_or",
        "bool_and",
        "bool_or",
        "count",
        "every",
        "json_agg",
        "json_object_agg",
        "jsonb_agg",
        "jsonb_object_agg",
        "max",
        "min",
        "string_agg",
        "sum",
    }
)

Flow = tuple[int, NullKind]
"""A parameter a value comes from: ``(number, how)``."""


class _Unnested:
    """The columns of every ``unnest(:a, :b) AS u (x, y)`` in a statement."""

    def __init__(self, stmt: ast.Node) -> None:
        self.items: list[tuple[str, tuple[str, ...], list[int | None]]] = []
        for node in walk(stmt):
            if not isinstance(node, ast.RangeFunction):
                continue
            for function in node.functions or ():
                call = function[0] if isinstance(function, tuple) else function
                if not isinstance(call, ast.FuncCall) or _name(call) != "unnest":
                    continue
                params = [param_number(arg) for arg in call.args or ()]
                alias = node.alias
                names: tuple[str, ...] = ()
                if alias is not None and alias.colnames:
                    names = tuple(
                        c.sval or ""
                        for c in alias.colnames
                        if isinstance(c, ast.String)
                    )
                self.items.append(
                    ((alias.aliasname if alias else None) or "unnest", names, params)
                )

    def find(self, qualifier: str | None, column: str) -> int | None:
        """The parameter unnested as ``qualifier.column``, when exactly one is."""
        found = [
            params[names.index(column)]
            for alias, names, params in self.items
            if (qualifier is None or qualifier == alias)
            and column in names
            and names.index(column) < len(params)
        ]
        return found[0] if len(found) == 1 else None

    def star(self) -> list[int | None]:
        """The parameters ``SELECT *`` over the unnests alone expands to."""
        return [p for _, _, params in self.items for p in params]


def _name(call: ast.FuncCall) -> str:
    parts = [p.sval or "" for p in call.funcname or () if isinstance(p, ast.String)]
    return parts[-1].lower() if parts else ""


def _flows(expr: object, unnested: _Unnested) -> list[Flow]:
    """The parameters *expr* passes on unchanged, as a value or as elements."""
    expr = unwrap(expr)
    number = param_number(expr)
    if number is not None:
        return [(number, "value")]
    ref = column_ref(expr)
    if ref is not None:
        found = unnested.find(*ref)
        return [(found, "elements")] if found is not None else []
    if isinstance(expr, ast.CoalesceExpr):
        return [flow for arg in expr.args or () for flow in _flows(arg, unnested)]
    return []


def _allows_null(table: Table | None, column: str) -> bool:
    found = table.columns.get(column) if table is not None else None
    return found is not None and not found.notnull


def _table(catalog: Catalog, relation: object) -> Table | None:
    if not isinstance(relation, ast.RangeVar) or not relation.relname:
        return None
    return catalog.find(relation.relname, relation.schemaname)


def _insert_pairs(
    stmt: ast.InsertStmt, catalog: Catalog, unnested: _Unnested
) -> Iterator[tuple[str, list[Flow]]]:
    table = _table(catalog, stmt.relation)
    if table is None:
        return
    columns = [t.name or "" for t in stmt.cols or () if isinstance(t, ast.ResTarget)]
    if not columns:
        columns = [c.name for _, c in sorted(table.by_number.items())]
    select = stmt.selectStmt
    if not isinstance(select, ast.SelectStmt):
        return
    rows: list[Sequence[object]] = [list(row) for row in select.valuesLists or ()]
    targets = [t.val for t in select.targetList or () if isinstance(t, ast.ResTarget)]
    star = [
        t for t in targets if isinstance(t, ast.ColumnRef) and column_ref(t) is None
    ]
    if star and len(targets) == 1:
        for column, number in zip(columns, unnested.star(), strict=False):
            flows: list[Flow] = [(number, "elements")] if number else []
            yield column, flows
        return
    if targets:
        rows.append(targets)
    for row in rows:
        for column, expr in zip(columns, row, strict=False):
            yield column, _flows(expr, unnested)


def _update_pairs(
    targets: Sequence[object], table: Table | None, unnested: _Unnested
) -> Iterator[tuple[str, list[Flow]]]:
    for target in targets:
        if isinstance(target, ast.ResTarget) and target.name and table is not None:
            yield target.name, _flows(target.val, unnested)


def param_nulls(stmt: ast.Node | None, catalog: Catalog) -> dict[int, set[NullKind]]:
    """For each ``$n`` that may take None (or None elements), how it may."""
    found: dict[int, set[NullKind]] = {}
    if stmt is None:
        return found

    def mark(flows: list[Flow]) -> None:
        for number, how in flows:
            found.setdefault(number, set()).add(how)

    unnested = _Unnested(stmt)
    for node in walk(stmt):
        if isinstance(node, ast.InsertStmt):
            table = _table(catalog, node.relation)
            pairs = list(_insert_pairs(node, catalog, unnested))
            conflict = node.onConflictClause
            if conflict is not None:
                pairs += _update_pairs(conflict.targetList or (), table, unnested)
        elif isinstance(node, ast.UpdateStmt):
            table = _table(catalog, node.relation)
            pairs = list(_update_pairs(node.targetList or (), table, unnested))
        elif isinstance(node, ast.A_Expr) and node.kind in (
            A_Expr_Kind.AEXPR_DISTINCT,
            A_Expr_Kind.AEXPR_NOT_DISTINCT,
        ):
            mark(_flows(node.lexpr, unnested) + _flows(node.rexpr, unnested))
            continue
        elif isinstance(node, ast.NullTest):
            mark(_flows(node.arg, unnested))
            continue
        elif isinstance(node, ast.CoalesceExpr):
            mark(_flows(node, unnested))
            continue
        else:
            continue
        for column, flows in pairs:
            if _allows_null(table, column):
                mark(flows)
    return found


def _has_aggregate(node: object) -> bool:
    """Whether *node* calls an aggregate at its own level (not in a subquery)."""
    if isinstance(node, ast.SubLink):
        return False
    if isinstance(node, ast.FuncCall) and node.over is None:
        return (
            bool(node.agg_star)
            or _name(node) in _AGGREGATES
            or _has_aggregate(node.args)
        )
    if isinstance(node, tuple | list):
        return any(_has_aggregate(item) for item in node)
    if isinstance(node, ast.Node):
        return any(_has_aggregate(getattr(node, name)) for name in node)
    return False


def always_one_row(stmt: ast.Node | None) -> bool:
    """Whether *stmt* returns exactly one row whatever its parameters."""
    if not isinstance(stmt, ast.SelectStmt) or stmt.valuesLists:
        return False
    if stmt.op not in (None, SetOperation.SETOP_NONE):
        return False
    if stmt.groupClause or stmt.havingClause or stmt.limitCount or stmt.limitOffset:
        return False
    if not stmt.fromClause:
        return stmt.whereClause is None
    return _has_aggregate(stmt.targetList)
