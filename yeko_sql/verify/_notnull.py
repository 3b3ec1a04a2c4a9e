"""Prove from the parse tree that an expression is never NULL.

``not_null_reason`` answers with the reason in words, or None when it cannot
prove it (which is not a proof that the value can be NULL). The rules are
listed in ``yeko_sql.verify.nullability``; only built-in functions and operators
whose result is NULL just for NULL input are trusted, so a JSON ``->`` (NULL
for a missing key) or a user-defined function never counts.

Function calls follow the table in docs/describe.md ("Function calls"): a
built-in's name counts only when no function of that name sits in a schema of
``search_path`` (``Catalog.user_functions``), an extension's only when that
extension owns every function the call may reach. ``STRICT``
(``proisstrict``) says NULL in gives NULL out, never that values in give a
value out, so a user function is never trusted, strict or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind, NullTestType, SetOperation, SubLinkType

from yeko_sql.verify._tree import Relation, Scope, column_ref, output_names, target_arms

__all__ = ["Judge", "not_null_reason", "null_reason"]

Judge = Callable[[Relation], bool]
"""Whether a FROM item is on the nullable side of an outer join."""

# The documented table (docs/describe.md, "Functions"). A name counts only when
# the call reaches pg_catalog (no function of that name in a schema of
# search_path), or, for _EXTENSION, the named extension's own function.
_ALWAYS = frozenset(  # never NULL, whatever the arguments
    {"count", "row_number", "rank", "dense_rank", "percent_rank", "cume_dist"}
    | {"now", "statement_timestamp", "clock_timestamp", "transaction_timestamp"}
    | {"timeofday", "gen_random_uuid", "random", "pi", "concat", "quote_nullable"}
    | {"jsonb_build_object", "json_build_object", "jsonb_build_array"}
    | {"json_build_array"}
)
_FIRST = frozenset(  # never NULL when the first argument is NOT NULL
    {"concat_ws", "format"}
)
_STRICT = frozenset(  # never NULL when every argument is NOT NULL
    # math
    {"abs", "round", "ceil", "ceiling", "floor", "trunc", "sqrt", "cbrt", "mod"}
    | {"div", "power", "pow", "exp", "ln", "log", "log10", "sign", "degrees"}
    | {"radians", "gcd", "lcm", "width_bucket"}
    # strings
    | {"lower", "upper", "initcap", "length", "char_length", "character_length"}
    | {"octet_length", "bit_length", "btrim", "ltrim", "rtrim", "left", "right"}
    | {"lpad", "rpad", "replace", "translate", "repeat", "reverse", "split_part"}
    | {"strpos", "position", "substr", "overlay", "md5", "encode", "decode"}
    | {"to_hex", "ascii", "chr", "quote_ident", "quote_literal", "starts_with"}
    | {"regexp_replace"}
    # date and time
    | {"date_trunc", "date_bin", "age", "make_date", "make_time", "make_interval"}
    | {"make_timestamp", "make_timestamptz", "timezone", "justify_days"}
    | {"justify_hours", "justify_interval", "isfinite"}
    # sequences, uuid, json, arrays
    | {"nextval", "currval", "lastval", "setval", "uuid_send", "to_json"}
    | {"to_jsonb", "cardinality", "jsonb_typeof", "json_typeof", "jsonb_pretty"}
)
# Fields whose EXTRACT/date_part of an infinite value is +-Infinity, not NULL.
_UNBOUNDED_FIELDS = frozenset(
    {"epoch", "julian", "year", "isoyear", "decade", "century", "millennium"}
)
_EXTENSION = {  # name -> (extension, "always" or "strict", as above)
    "uuid_generate_v1": ("uuid-ossp", "always"),
    "uuid_generate_v1mc": ("uuid-ossp", "always"),
    "uuid_generate_v4": ("uuid-ossp", "always"),
    "uuid_nil": ("uuid-ossp", "always"),
    "uuid_ns_dns": ("uuid-ossp", "always"),
    "uuid_ns_url": ("uuid-ossp", "always"),
    "uuid_ns_oid": ("uuid-ossp", "always"),
    "uuid_ns_x500": ("uuid-ossp", "always"),
    "uuid_generate_v3": ("uuid-ossp", "strict"),
    "uuid_generate_v5": ("uuid-ossp", "strict"),
    "similarity": ("pg_trgm", "strict"),
    "word_similarity": ("pg_trgm", "strict"),
    "strict_word_similarity": ("pg_trgm", "strict"),
}
_PER_GROUP = frozenset(
    {"min", "max", "sum", "avg", "array_agg", "string_agg", "bool_and", "bool_or"}
    | {"every", "jsonb_agg", "json_agg", "jsonb_object_agg", "json_object_agg"}
)
_OPERATORS = frozenset(
    {"+", "-", "*", "/", "%", "^", "||", "=", "<>", "!=", "<", ">", "<=", ">="}
    | {"?", "?|", "?&", "@>", "<@", "&&"}  # jsonb and array containment
)
# Aggregates that collect every row of a group, NULLs included: never NULL per
# GROUP BY group (a group has a row), whatever their values; NULL over no rows.
_COLLECTING = frozenset(
    {"array_agg", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg"}
)
# Window functions whose value is a row's value (see _window_value).
_LAG_WITH_DEFAULT = 3  # lag(value, offset, default)
_WINDOW_VALUE = frozenset({"first_value", "last_value", "lag", "lead", "ntile"})
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
    expr: object,
    scope: Scope,
    judge: Judge,
    depth: int = 0,
    assumed: frozenset[tuple[int, str]] = frozenset(),
) -> str | None:
    """Why *expr*, evaluated in *scope*, is never NULL; None when not proven.

    *assumed* are the (CTE body, column) pairs being proven further up: a
    recursive CTE's column read again inside its own recursive arm is taken
    as NOT NULL, so the column is NOT NULL when every arm gives NOT NULL under
    that assumption (by induction over the iterations: a fixpoint).
    """
    rule = _RULES.get(type(expr))
    context = _Context(scope, judge, depth, assumed)
    return rule(context, expr) if rule is not None else None


def null_reason(expr: object, scope: Scope) -> str | None:
    """Why the function call *expr* may be NULL; None when it is not a call.

    For a verdict of nullable (``not_null_reason`` gave None): names the
    function and the rule that did not hold. A user function's ``STRICT``
    (``proisstrict``) is said, since it makes a NULL argument give NULL.
    """
    if not isinstance(expr, ast.FuncCall):
        return None
    parts = [str(part.sval).lower() for part in expr.funcname or ()]
    name = parts[-1] if parts else ""
    schema = parts[-2] if len(parts) > 1 else None
    origin = _origin(scope, name, schema)
    if origin is None:
        found = scope.catalog.user_functions(name, schema)
        strict = bool(found) and all(function.strict for function in found)
        kind = "a user function, STRICT" if strict else "a user function"
        return f"{name}() is {kind}: it may return NULL"
    if name in _PER_GROUP:
        return f"{name}() is NULL over no rows, or when its values are NULL"
    if name in _FIRST:
        return f"{name}() of a first argument that may be NULL"
    known = (
        name in _STRICT
        or _special(name, expr.args or ())
        or (origin != "pg_catalog" and name in _EXTENSION)
    )
    return (
        f"{name}() of an argument that may be NULL"
        if known
        else f"{name}() is not in the table of functions never NULL (docs/describe.md)"
    )


class _Context:
    """What a rule needs to judge the operands of an expression."""

    __slots__ = ("assumed", "depth", "judge", "scope")

    def __init__(
        self,
        scope: Scope,
        judge: Judge,
        depth: int,
        assumed: frozenset[tuple[int, str]] = frozenset(),
    ) -> None:
        self.scope, self.judge, self.depth = scope, judge, depth
        self.assumed = assumed

    def reason(self, node: object) -> str | None:
        return not_null_reason(node, self.scope, self.judge, self.depth, self.assumed)

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
    kind, query = node.subLinkType, node.subselect
    if kind == SubLinkType.EXPR_SUBLINK and _ungrouped_count(query):
        return "a scalar subquery of an ungrouped count() always has its one row"
    if kind in (SubLinkType.ANY_SUBLINK, SubLinkType.ALL_SUBLINK):
        # x IN (SELECT y …): NULL only when x or some y is NULL.
        if node.testexpr is None or not ctx.reason(node.testexpr):
            return None
        arms = target_arms(query, ctx.scope.catalog, ctx.scope)
        inner = [
            not_null_reason(exprs[0], scope, ctx.judge, ctx.depth + 1)
            for scope, exprs in arms
            if exprs
        ]
        if arms and len(inner) == len(arms) and all(inner):
            return "IN/ANY/ALL over a subquery, NOT NULL on both sides"
        return None
    return {
        SubLinkType.EXISTS_SUBLINK: "EXISTS is never NULL",
        SubLinkType.ARRAY_SUBLINK: "ARRAY(...) is never NULL",
    }.get(kind)


def _ungrouped_count(query: object) -> bool:
    """``(SELECT count(…) FROM …)``: one row, whatever the rows, never NULL."""
    if not isinstance(query, ast.SelectStmt) or query.op != SetOperation.SETOP_NONE:
        return False
    if query.groupClause or query.havingClause or query.limitCount is not None:
        return False
    if query.limitOffset is not None or query.valuesLists:
        return False
    [*found] = query.targetList or ()
    value = getattr(found[0], "val", None) if len(found) == 1 else None
    if not isinstance(value, ast.FuncCall) or value.over is not None:
        return False
    parts = [str(part.sval).lower() for part in value.funcname or ()]
    return parts in (["count"], ["pg_catalog", "count"])


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
    scope, judge = ctx.scope, ctx.judge
    ref = column_ref(node)
    relation = scope.resolve(*ref) if ref else None
    if ref is None or relation is None or judge(relation) or scope.subtotal_null(node):
        return None
    name = ref[1]
    if relation.table is not None:
        column = relation.table.columns.get(name)
        if column is not None and column.notnull:
            return f"{relation.table.qualname}.{name} is NOT NULL"
        return _narrowed(scope, relation, name)
    return _narrowed(scope, relation, name) or _through_subquery(ctx, relation, name)


def _through_subquery(ctx: _Context, relation: Relation, name: str) -> str | None:
    """A CTE's or subquery's column: NOT NULL when every arm gives NOT NULL."""
    query = relation.subquery
    if query is None or ctx.depth >= _MAX_DEPTH:
        return None
    names = list(relation.columns) or output_names(query)
    if name not in names:
        return None
    key = (id(query), name)
    if key in ctx.assumed:  # read again in its own recursive arm
        return f"{relation.alias}.{name} by induction over the recursive CTE"
    index = names.index(name)
    assumed = ctx.assumed | {key}
    reasons = [
        not_null_reason(exprs[index], inner, ctx.judge, ctx.depth + 1, assumed)
        if index < len(exprs)
        else None
        for inner, exprs in target_arms(query, ctx.scope.catalog, ctx.scope)
    ]
    if not reasons or not all(reasons):
        return None
    if len(reasons) == 1:
        return reasons[0]
    return f"every arm of {relation.alias} gives {name} NOT NULL ({reasons[-1]})"


def _narrowed(scope: Scope, relation: Relation, name: str) -> str | None:
    """Why a column is NOT NULL in every row its level kept, if a filter says so.

    A WHERE term or inner-join ON term that is NULL (so not true) when the
    column is NULL drops such rows: ``x IS NOT NULL``, ``x = …``, ``x > …``,
    ``x LIKE …``, ``x IN (…)``, ``x BETWEEN …``, ``x = ANY(…)``, through casts.
    """
    owner = scope.owner(relation)
    for term in owner.filters if owner is not None else ():
        if _rejects_null(term, owner or scope, relation, name):
            return (
                f"{relation.alias}.{name} is NOT NULL in every row the WHERE/ON keeps"
            )
    return None


def _rejects_null(term: object, scope: Scope, relation: Relation, name: str) -> bool:
    def reads(node: object) -> bool:
        while isinstance(node, ast.TypeCast):
            node = node.arg
        ref = column_ref(node)
        return ref is not None and ref[1] == name and scope.resolve(*ref) is relation

    if isinstance(term, ast.NullTest):
        return term.nulltesttype == NullTestType.IS_NOT_NULL and reads(term.arg)
    if not isinstance(term, ast.A_Expr):
        return False
    operator = str(term.name[-1].sval) if term.name else ""
    if term.kind in (A_Expr_Kind.AEXPR_OP, A_Expr_Kind.AEXPR_OP_ANY):
        return operator in _OPERATORS and (reads(term.lexpr) or reads(term.rexpr))
    if term.kind in (A_Expr_Kind.AEXPR_LIKE, A_Expr_Kind.AEXPR_ILIKE):
        return reads(term.lexpr) or reads(term.rexpr)
    return term.kind in _PREDICATES and reads(term.lexpr)


def _function(ctx: _Context, call: Any) -> str | None:  # noqa: PLR0911  (a rule each)
    parts = [str(part.sval).lower() for part in call.funcname or ()]
    name = parts[-1] if parts else ""
    origin = _origin(ctx.scope, name, parts[-2] if len(parts) > 1 else None)
    if origin != "pg_catalog":
        return None if origin is None else _extension_call(ctx, call, name, origin)
    if name in _ALWAYS:
        return f"{name}() is never NULL"
    args = call.args or ()
    if call.over is None and name in _FIRST and args and ctx.reason(args[0]):
        return f"{name}() with a NOT NULL first argument is never NULL"
    if call.over is not None and name in _WINDOW_VALUE:
        return _window_value(ctx, call, name)
    if _collects_a_group(ctx, call, name):
        return f"{name}() per GROUP BY group collects at least one row"
    if call.agg_filter is not None or not ctx.every(args):
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
    elif name in _STRICT or name in _FIRST or _special(name, args):
        reason = f"{name}() of NOT NULL arguments is never NULL (built-in)"
    return reason


def _collects_a_group(ctx: _Context, call: Any, name: str) -> bool:
    """array_agg and the like, unfiltered, per group of a plain GROUP BY."""
    return (
        name in _COLLECTING
        and call.over is None
        and call.agg_filter is None
        and ctx.scope.grouped
        and ctx.scope.kept_in_all_sets is None  # GROUPING SETS may have ()
    )


def _window_value(ctx: _Context, call: Any, name: str) -> str | None:
    """first_value/last_value over a frame holding the current row; lag/lead
    with a NOT NULL default; ntile of a NOT NULL count."""
    args = call.args or ()
    if not args or not ctx.every(args):
        return None
    if name in ("lag", "lead"):
        with_default = len(args) == _LAG_WITH_DEFAULT
        return f"{name}() of a NOT NULL value and default" if with_default else None
    if name == "ntile":
        return "ntile() of a NOT NULL bucket count is never NULL"
    if call.over.frameOptions & _FRAME_NONDEFAULT:
        return None  # a frame that may exclude the current row may be empty
    return f"{name}() of a NOT NULL value over a frame holding the current row"


def _extension_call(ctx: _Context, call: Any, name: str, extension: str) -> str | None:
    kind = _EXTENSION[name][1]
    if call.over is not None or call.agg_filter is not None:
        return None
    if kind == "always":
        return f"{name}() of extension {extension} is never NULL"
    if ctx.every(call.args or ()):
        return (
            f"{name}() of extension {extension}, of NOT NULL arguments, is never NULL"
        )
    return None


def _origin(scope: Scope, name: str, schema: str | None) -> str | None:
    """Where a call of *name* goes: "pg_catalog", an extension's name, or None.

    None when it may reach a function the user created (or one of several
    extensions), which is never trusted.
    """
    found = scope.catalog.user_functions(name, schema)
    if not found:
        return "pg_catalog" if schema in (None, "pg_catalog") else None
    owners = {function.extension for function in found}
    owner = owners.pop() if len(owners) == 1 else None
    expected = _EXTENSION.get(name, ("", ""))[0]
    return owner if owner is not None and owner == expected else None


def _special(name: str, args: Any) -> bool:
    """EXTRACT of an unbounded field; substring by integer positions."""
    if name in ("extract", "date_part") and args:
        field = args[0].val if isinstance(args[0], ast.A_Const) else None
        return isinstance(field, ast.String) and (
            str(field.sval).lower() in _UNBOUNDED_FIELDS
        )
    if name == "substring":  # substring(text FROM pattern) is NULL for no match
        return all(
            isinstance(a, ast.A_Const) and isinstance(a.val, ast.Integer)
            for a in args[1:]
        )
    return False


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
