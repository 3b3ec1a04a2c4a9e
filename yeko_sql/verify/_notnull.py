"""Prove from the parse tree that an expression is never NULL.

``not_null_reason`` answers with the reason in words, or None when it cannot
prove it (which is not a proof that the value can be NULL). The rules are
listed in ``yeko_sql.verify.nullability``; only built-in functions and operators
whose result is NULL just for NULL input are trusted, so a JSON ``->`` (NULL
for a missing key) or a user-defined function never counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind, SubLinkType

from yeko_sql.verify._tree import Relation, Scope, column_ref, output_names, target_arms

__all__ = ["Judge", "not_null_reason"]

Judge = Callable[[Relation], bool]
"""Whether a FROM item is on the nullable side of an outer join."""

_ALWAYS = frozenset(
    {"count", "row_number", "rank", "dense_rank", "percent_rank", "cume_dist"}
    | {"now", "statement_timestamp", "clock_timestamp", "transaction_timestamp"}
    | {"gen_random_uuid", "random", "concat", "jsonb_build_object"}
    | {"json_build_object", "jsonb_build_array", "json_build_array"}
)
_STRICT = frozenset(
    {"lower", "upper", "btrim", "ltrim", "rtrim", "length", "char_length", "left"}
    | {"right", "translate", "replace", "encode", "uuid_send", "md5", "abs", "round"}
    | {"floor", "ceil", "trunc", "date_trunc", "extract", "date_part", "starts_with"}
    | {"to_char", "initcap", "lpad", "rpad", "cardinality", "to_jsonb", "age"}
    | {"make_date", "to_json", "timezone", "concat_ws"}
)
_PER_GROUP = frozenset(
    {"min", "max", "sum", "avg", "array_agg", "string_agg", "bool_and", "bool_or"}
    | {"every", "jsonb_agg", "json_agg", "jsonb_object_agg", "json_object_agg"}
)
_OPERATORS = frozenset(
    {"+", "-", "*", "/", "%", "^", "||", "=", "<>", "!=", "<", ">", "<=", ">="}
)
_PREDICATES = (
    A_Expr_Kind.AEXPR_LIKE,
    A_Expr_Kind.AEXPR_ILIKE,
    A_Expr_Kind.AEXPR_SIMILAR,
    A_Expr_Kind.AEXPR_IN,
    A_Expr_Kind.AEXPR_BETWEEN,
    A_Expr_Kind.AEXPR_NOT_BETWEEN,
    A_Expr_Kind.AEXPR_BETWEEN_SYM,
    A_Expr_Kind.AEXPR_NOT_BETWEEN_SYM,
)
_FRAME_NONDEFAULT = 1  # FRAMEOPTION_NONDEFAULT in PostgreSQL's parsenodes.h
_MAX_DEPTH = 8  # CTEs and subqueries followed to resolve a column


def not_null_reason(
    expr: object, scope: Scope, judge: Judge, depth: int = 0
) -> str | None:
    """Why *expr*, evaluated in *scope*, is never NULL; None when not proven."""
    rule = _RULES.get(type(expr))
    return rule(_Context(scope, judge, depth), expr) if rule is not None else None


class _Context:
    """What a rule needs to judge the operands of an expression."""

    __slots__ = ("depth", "judge", "scope")

    def __init__(self, scope: Scope, judge: Judge, depth: int) -> None:
        self.scope, self.judge, self.depth = scope, judge, depth

    def reason(self, node: object) -> str | None:
        return not_null_reason(node, self.scope, self.judge, self.depth)

    def every(self, nodes: object) -> bool:
        items = nodes if isinstance(nodes, tuple | list) else (nodes,)
        return all(self.reason(n) for n in items if n is not None)


def _cast(ctx: _Context, node: Any) -> str | None:
    return ctx.reason(node.arg)


def _const(ctx: _Context, node: Any) -> str | None:
    return None if node.isnull else "a constant"


def _first_not_null(ctx: _Context, node: Any) -> str | None:
    if any(ctx.reason(arg) for arg in node.args or ()):
        name = "coalesce" if isinstance(node, ast.CoalesceExpr) else "greatest/least"
        return f"{name}() has a NOT NULL argument"
    return None


def _sublink(ctx: _Context, node: Any) -> str | None:
    return {
        SubLinkType.EXISTS_SUBLINK: "EXISTS is never NULL",
        SubLinkType.ARRAY_SUBLINK: "ARRAY(...) is never NULL",
    }.get(node.subLinkType)


def _always(reason: str) -> Callable[[_Context, Any], str | None]:
    return lambda ctx, node: reason


def _bool(ctx: _Context, node: Any) -> str | None:
    return "a boolean of NOT NULL terms" if ctx.every(node.args) else None


def _case(ctx: _Context, node: Any) -> str | None:
    results = [w.result for w in node.args or ()]
    if node.defresult is not None and ctx.every([*results, node.defresult]):
        return "every branch of the CASE, ELSE included, is NOT NULL"
    return None


def _column(ctx: _Context, node: Any) -> str | None:
    scope, judge, depth = ctx.scope, ctx.judge, ctx.depth
    ref = column_ref(node)
    relation = scope.resolve(*ref) if ref else None
    if ref is None or relation is None or judge(relation) or scope.subtotal_null(node):
        return None
    name = ref[1]
    if relation.table is not None:
        column = relation.table.columns.get(name)
        if column is not None and column.notnull:
            return f"{relation.table.qualname}.{name} is NOT NULL"
        return None
    if relation.subquery is None or depth >= _MAX_DEPTH:
        return None
    names = list(relation.columns) or output_names(relation.subquery)
    if name not in names:
        return None
    index = names.index(name)
    reasons = [
        not_null_reason(exprs[index], inner, judge, depth + 1)
        if index < len(exprs)
        else None
        for inner, exprs in target_arms(relation.subquery, scope.catalog, scope)
    ]
    return reasons[0] if reasons and all(reasons) else None


def _function(ctx: _Context, call: Any) -> str | None:
    name = str(call.funcname[-1].sval).lower() if call.funcname else ""
    if name in _ALWAYS:
        return f"{name}() is never NULL"
    if call.agg_filter is not None or not ctx.every(call.args or ()):
        return None
    reason = None
    if call.over is not None:
        # A default frame (no ROWS/RANGE/GROUPS clause) holds the current row.
        if name in _PER_GROUP and not call.over.frameOptions & _FRAME_NONDEFAULT:
            reason = (
                f"{name}() OVER a frame holding the current row, of NOT NULL values"
            )
    elif name in _PER_GROUP and ctx.scope.grouped:
        reason = f"{name}() of NOT NULL values, per GROUP BY group (never empty)"
    elif name in _STRICT:
        reason = f"{name}() of NOT NULL arguments"
    return reason


def _operator(ctx: _Context, expr: Any) -> str | None:
    every, kind = ctx.every, expr.kind
    if kind in (A_Expr_Kind.AEXPR_DISTINCT, A_Expr_Kind.AEXPR_NOT_DISTINCT):
        return "IS [NOT] DISTINCT FROM is never NULL"
    operator = str(expr.name[-1].sval) if expr.name else ""
    if kind is None:
        return None
    trusted = kind in _PREDICATES or (
        kind == A_Expr_Kind.AEXPR_OP and operator in _OPERATORS
    )
    if trusted and every(expr.lexpr) and every(expr.rexpr):
        return f"{operator or kind.name.removeprefix('AEXPR_')!r} of NOT NULL operands"
    return None


_RULES: dict[type, Callable[[_Context, Any], str | None]] = {
    ast.TypeCast: _cast,
    ast.CollateClause: _cast,
    ast.A_Const: _const,
    ast.ColumnRef: _column,
    ast.FuncCall: _function,
    ast.CoalesceExpr: _first_not_null,
    ast.MinMaxExpr: _first_not_null,
    ast.SubLink: _sublink,
    ast.NullTest: _always("an IS [NOT] NULL test is never NULL"),
    ast.BooleanTest: _always("an IS [NOT] TRUE test is never NULL"),
    ast.SQLValueFunction: _always("a CURRENT_* value is never NULL"),
    ast.GroupingFunc: _always("GROUPING() is never NULL"),
    ast.A_ArrayExpr: _always("an ARRAY[...] constructor is never NULL"),
    ast.RowExpr: _always("a ROW(...) constructor is never NULL"),
    ast.BoolExpr: _bool,
    ast.CaseExpr: _case,
    ast.A_Expr: _operator,
}
