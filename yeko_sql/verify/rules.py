"""Lint rules every query must pass; ``check`` runs them after describing.

=============== ==========================================================
rule            what it asks
=============== ==========================================================
``unique-key``  ``:one``/``:opt`` compare every column of a primary or
                unique key with ``=`` for each FROM item, or end in
                ``LIMIT 1`` (see ``yeko_sql.verify.cardinality``)
``tenant``      every tenant-owned relation, at every level (set-operation
                branches, CTEs, subqueries), is scoped: its tenant column
                (Yeko's ``school_id``) equals a parameter, the row-level
                security setting ``yeko.<tenant column>``, or a scoped
                relation's tenant column, in the top-level AND chain of the
                WHERE or JOIN ON that reads it; an INSERT takes its tenant
                column from one of those; unless the header says
                ``-- tenant: any: <reason>`` (docs/check.md)
``tenant-role`` a ``-- tenant: any`` query declares ``-- role:``
``no-star``     no ``*`` or ``t.*`` over a table or view (a star over
                ``unnest(...)``, a subquery or a CTE is fine: the query
                text fixes its columns)
``stable-order`` a ``:page``/``:keyset`` query's ``ORDER BY`` ends on a
                column of a unique key whose other columns are ordered on
                or fixed by ``=``, so pages never overlap
``where``       every ``UPDATE`` and ``DELETE`` has a ``WHERE``
``replica``     a ``-- replica: ok`` query only reads: no INSERT, UPDATE,
                DELETE or MERGE (in a CTE neither), no FOR UPDATE/SHARE, no
                call of a state-changing built-in (``nextval``,
                ``set_config``, advisory locks, …) or of a user VOLATILE
                function
=============== ==========================================================

The two tenant rules read the tenant column from the catalog
(``load_catalog(conn, tenant_column=...)``, from ``[tool.yeko-sql]
tenant_column``); an app that declares none gets neither rule. Messages name the
column and call one tenant after it: ``school`` for ``school_id``, ``org`` for
``org_id``, ``tenant`` for a column whose name does not end in ``_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pglast import ast
from pglast.enums import A_Expr_Kind, JoinType, OnConflictAction, SetOperation

from yeko_sql.query.compiler import Query
from yeko_sql.query.kinds import Kind
from yeko_sql.verify._catalog import Catalog, Table
from yeko_sql.verify._tree import (
    Relation,
    Scope,
    children,
    column_ref,
    conjuncts,
    from_items,
    is_param,
    levels,
    output_names,
    returning,
    source_line,
    targets,
    unwrap,
    walk,
)
from yeko_sql.verify.cardinality import unpinned

__all__ = ["RULES", "Violation", "lint"]


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
    column = catalog.tenant_column
    if column is None or "tenant" in query.headers:
        return
    tenancy = _Tenancy(catalog, column)
    tenancy.visit(stmt, None)
    for hole in tenancy.holes:
        yield Violation(
            "tenant",
            source_line(query, hole.location),
            hole.problem,
            f"{hole.hint}, or explain why not with '-- tenant: any: <reason>'",
        )


def _tenant_role(
    query: Query[object], stmt: ast.Node, catalog: Catalog
) -> Iterator[Violation]:
    column = catalog.tenant_column
    if column is None or "tenant" not in query.headers or query.role is not None:
        return
    noun = _tenant_noun(column)
    yield Violation(
        "tenant-role",
        query.header_line("tenant"),
        f"query {query.name!r} is not scoped to {_a(noun)} ('-- tenant: any') but"
        " declares no role: it would run as the application role, which row-level"
        f" security limits to one {noun}",
        "add '-- role: <role>' (a role that row-level security lets see every"
        f" {noun}, or 'owner' for the schema owner)",
    )


def _tenant_noun(column: str) -> str:
    """What messages call one tenant: ``school`` for ``school_id``, else ``tenant``."""
    stem = column.removesuffix("_id")
    return stem.replace("_", " ") if stem and stem != column else "tenant"


def _a(noun: str) -> str:
    """``a school``, ``an org``."""
    return f"{'an' if noun[:1] in set('aeiou') else 'a'} {noun}"


def _scope_setting(column: str) -> str:
    """The setting row-level security policies read the tenant from.

    ``yeko.<column>``: ``yeko.school_id`` for Yeko, which the runtime's
    ``Database.for_school()`` sets.
    """
    return f"yeko.{column}"


@dataclass(frozen=True, slots=True)
class _Hole:
    """Where the tenant rule found a tenant-owned row that is not scoped."""

    location: int | None
    problem: str
    hint: str


_EQUALITIES = (A_Expr_Kind.AEXPR_OP, A_Expr_Kind.AEXPR_OP_ANY, A_Expr_Kind.AEXPR_IN)
_DO_UPDATE = OnConflictAction.ONCONFLICT_UPDATE
Filter = tuple[list[object], set[int] | None]  # AND terms, ids of what they filter


class _Tenancy:
    """Which tenant-owned relations of one statement are scoped to a tenant.

    *column* is the tenant column (Yeko's ``school_id``). Levels are visited
    outside in, so a correlated subquery can lean on a relation of an enclosing
    level already proven scoped; CTE bodies and plain FROM subqueries are
    visited before their level, so their tenant column can scope a relation
    joined to them.
    """

    def __init__(self, catalog: Catalog, column: str) -> None:
        self.catalog = catalog
        self.column = column
        self.noun = _tenant_noun(column)
        self.setting = _scope_setting(column)
        self.scoped: set[int] = set()  # id() of each Relation proven scoped
        self.scopes: dict[int, Scope] = {}  # id() of a statement level -> its scope
        self.holes: list[_Hole] = []
        self.deriving: set[int] = set()  # CTEs being looked into, against cycles

    def visit(self, stmt: ast.Node, parent: Scope | None) -> None:
        """Scope *stmt*'s own relations and those of every statement in it."""
        scope = Scope.of(stmt, self.catalog, parent)
        self.scopes[id(stmt)] = scope
        nested = list(children(stmt))
        first = {id(node) for node in _independent(stmt)}
        for child in nested:
            if id(child) in first:
                self.visit(child, scope)
        self._scope_level(stmt, scope)
        for child in nested:
            if id(child) not in first:
                self.visit(child, scope)
        if isinstance(stmt, ast.InsertStmt):
            self._check_insert(stmt, scope)
        elif isinstance(stmt, ast.MergeStmt):
            self._check_merge(stmt, scope)
        else:
            self.holes += [
                _unscoped(relation, self.column)
                for relation in scope.relations
                if _owned(relation) and id(relation) not in self.scoped
            ]

    def _scope_level(self, stmt: ast.Node, scope: Scope) -> None:
        """Mark the relations of one level that its WHERE and JOIN ONs scope."""
        filters: list[Filter] = [(conjuncts(getattr(stmt, "whereClause", None)), None)]
        for item in from_items(stmt):
            filters += _join_filters(item, scope, self.column)
        mine = {id(r) for r in scope.relations}
        changed = True
        while changed:  # a join on the tenant column passes the scope along
            found = {
                id(relation)
                for terms, filtered in filters
                for term in terms
                for relation in self._scoped_by(term, scope)
                if filtered is None or id(relation) in filtered
            }
            new = (found & mine) - self.scoped
            self.scoped |= new
            changed = bool(new)

    def _scoped_by(self, term: object, scope: Scope) -> list[Relation]:
        """The relations whose tenant column *term* pins to a tenant."""
        if not isinstance(term, ast.A_Expr) or term.kind not in _EQUALITIES:
            return []
        if not term.name or term.name[-1].sval != "=":
            return []
        sides: list[tuple[object, object]] = [(term.lexpr, term.rexpr)]
        if term.kind == A_Expr_Kind.AEXPR_OP:
            sides.append((term.rexpr, term.lexpr))
        found = []
        for one, other in sides:
            ref = column_ref(one)
            relation = scope.resolve(*ref) if ref is not None else None
            if relation is None or ref is None or ref[1] != self.column:
                continue
            if term.kind == A_Expr_Kind.AEXPR_IN:
                values = other if isinstance(other, tuple | list) else ()
                pinned = bool(values) and all(self._is_tenant(v, scope) for v in values)
            else:
                array = term.kind == A_Expr_Kind.AEXPR_OP_ANY
                pinned = self._is_tenant(other, scope, array=array)
            if pinned:
                found.append(relation)
        return found

    def _is_tenant(self, expr: object, scope: Scope, *, array: bool = False) -> bool:
        """Whether *expr* is a tenant the caller chose (a list of them if *array*).

        That is a parameter, the setting row-level security reads, or the
        tenant column of a relation already scoped.
        """
        if is_param(expr):
            return True
        if array:
            return False
        if _reads_setting(expr, self.setting):
            return True
        ref = column_ref(expr)
        relation = scope.resolve(*ref) if ref is not None else None
        if relation is None or ref is None:
            return False
        return self._tenant_column_of(relation, ref[1])

    def _tenant_column_of(self, relation: Relation, column: str) -> bool:
        if column == self.column and id(relation) in self.scoped:
            return True
        if relation.subquery is None:
            return _unnested_param(relation, column)
        node = relation.subquery
        if column not in relation.columns or id(node) in self.deriving:
            return False  # a recursive CTE reading itself proves nothing
        position = relation.columns.index(column)
        self.deriving.add(id(node))
        try:
            return all(
                id(arm) in self.scopes
                and all(
                    self._is_tenant(value, self.scopes[id(arm)])
                    for value, _ in _values_at(arm, position, self.scopes[id(arm)])
                )
                for arm in _arms(node)
            )
        finally:
            self.deriving.discard(id(node))

    def _check_insert(self, insert: ast.InsertStmt, scope: Scope) -> None:
        target = next((r for r in scope.relations if r.node is insert.relation), None)
        table = target.table if target is not None else None
        if target is None or table is None or not table.tenant_owned:
            return
        column, noun = self.column, self.noun
        names = [str(c.name) for c in insert.cols or ()] or [
            c.name for _, c in sorted(table.by_number.items())
        ]
        where = insert.relation.location if insert.relation else None
        if column not in names or insert.selectStmt is None:
            self.holes.append(
                _Hole(
                    where,
                    f"INSERT INTO {_shown(target)!r} sets no {column}",
                    f"insert {column} from a parameter (:{column})",
                )
            )
            return
        position = names.index(column)
        for arm in _arms(insert.selectStmt):
            arm_scope = self.scopes[id(arm)]
            self.holes += [
                _Hole(
                    where if location is None else location,
                    f"INSERT INTO {_shown(target)!r} takes its {column} from"
                    f" neither a parameter nor a row scoped to {_a(noun)}",
                    f"insert :{column}, or the {column} of a scoped row",
                )
                for value, location in _values_at(arm, position, arm_scope)
                if not self._is_tenant(value, arm_scope)
            ]
        conflict = insert.onConflictClause
        if conflict is not None and conflict.action == _DO_UPDATE:
            self._check_upsert(conflict, target, table, scope)

    def _check_upsert(
        self,
        conflict: ast.OnConflictClause,
        target: Relation,
        table: Table,
        scope: Scope,
    ) -> None:
        """DO UPDATE changes the row already there: it must be of the same tenant."""
        infer = conflict.infer
        keyed: tuple[str, ...] = ()
        if infer is not None and infer.conname:
            keyed = next(
                (k.columns for k in table.unique_keys if k.name == infer.conname), ()
            )
        elif infer is not None:
            keyed = tuple(str(e.name) for e in infer.indexElems or () if e.name)
        column = self.column
        if column in keyed or any(
            _pins_existing(term, target, column, lambda v: self._is_tenant(v, scope))
            for term in conjuncts(conflict.whereClause)
        ):
            return
        self.holes.append(
            _Hole(
                infer.location if infer is not None else None,
                f"ON CONFLICT DO UPDATE may update a row of {_shown(target)!r} of"
                f" another {self.noun}: its conflict key has no {column}",
                f"add {column} to the conflict key, or"
                f" 'AND {target.alias}.{column} = EXCLUDED.{column}'"
                " to the WHERE of DO UPDATE",
            )
        )

    def _check_merge(self, merge: ast.MergeStmt, scope: Scope) -> None:
        touched = [r for r in scope.relations if _owned(r)]
        source = merge.sourceRelation
        if isinstance(source, ast.RangeVar) and source.relname:
            table = self.catalog.find(source.relname, source.schemaname)
            if table is not None and table.tenant_owned:
                touched.append(Relation(_alias_of(source), table=table, node=source))
        self.holes += [
            _Hole(
                getattr(relation.node, "location", None),
                f"MERGE with the {self.noun}-owned {_shown(relation)!r} is not"
                " checked by the tenant rule",
                "write INSERT … ON CONFLICT, or UPDATE … FROM, instead",
            )
            for relation in touched
        ]


def _owned(relation: Relation) -> bool:
    return relation.table is not None and relation.table.tenant_owned


def _alias_of(item: ast.RangeVar) -> str:
    alias = item.alias
    return str(alias.aliasname) if alias is not None else str(item.relname)


def _shown(relation: Relation) -> str:
    """``enrollments AS e``, or just ``enrollments`` when not aliased."""
    name = relation.table.qualname if relation.table is not None else relation.alias
    return (
        name
        if relation.alias == name.rsplit(".", 1)[-1]
        else (f"{name} AS {relation.alias}")
    )


def _unscoped(relation: Relation, column: str) -> _Hole:
    alias = relation.alias
    return _Hole(
        getattr(relation.node, "location", None),
        f"{_shown(relation)!r} is not scoped to one {_tenant_noun(column)}: no"
        f" '{alias}.{column} = :param' in the AND chain of the WHERE or"
        " JOIN ON that reads it",
        f"add 'AND {alias}.{column} = :{column}', or join it on"
        f" '{alias}.{column} = <a scoped alias>.{column}'",
    )


def _pins_existing(
    term: object, target: Relation, column: str, is_tenant: Callable[[object], bool]
) -> bool:
    """Whether a DO UPDATE condition is ``<target>.<column> = EXCLUDED.<column>``.

    ``= :param`` (or another tenant value *is_tenant* takes) counts as well.
    """
    if not (
        isinstance(term, ast.A_Expr)
        and term.kind == A_Expr_Kind.AEXPR_OP
        and term.name
        and term.name[-1].sval == "="
    ):
        return False
    for one, other in ((term.lexpr, term.rexpr), (term.rexpr, term.lexpr)):
        ref = column_ref(one)
        if ref is None or ref[1] != column or ref[0] not in (None, target.alias):
            continue
        if column_ref(other) == ("excluded", column) or is_tenant(other):
            return True
    return False


_FILTERS_LEFT = (JoinType.JOIN_INNER, JoinType.JOIN_RIGHT)
_FILTERS_RIGHT = (JoinType.JOIN_INNER, JoinType.JOIN_LEFT)


def _join_filters(item: object, scope: Scope, column: str) -> list[Filter]:
    """Each JOIN's ON (and USING) terms with the relations they filter.

    An inner join filters both sides; an outer join only its nullable side,
    since the rows of the preserved side come through whatever ON says.
    """
    if not isinstance(item, ast.JoinExpr):
        return []
    left = _leaves(item.larg, scope)
    right = _leaves(item.rarg, scope)
    filtered: set[int] = set()
    if item.jointype in _FILTERS_LEFT:
        filtered |= {id(r) for r in left}
    if item.jointype in _FILTERS_RIGHT:
        filtered |= {id(r) for r in right}
    terms = conjuncts(item.quals)
    using = {str(getattr(name, "sval", "")) for name in item.usingClause or ()}
    if column in using:
        lone = [[r for r in s if r.has_column(column)] for s in (left, right)]
        if len(lone[0]) == 1 and len(lone[1]) == 1:
            terms.append(_same_tenant(lone[0][0].alias, lone[1][0].alias, column))
    return [
        (terms, filtered),
        *_join_filters(item.larg, scope, column),
        *_join_filters(item.rarg, scope, column),
    ]


def _leaves(item: object, scope: Scope) -> list[Relation]:
    if isinstance(item, ast.JoinExpr):
        return _leaves(item.larg, scope) + _leaves(item.rarg, scope)
    return [r for r in scope.relations if r.node is item]


def _same_tenant(left: str, right: str, column: str) -> ast.A_Expr:
    """``left.<column> = right.<column>``, as ``JOIN … USING (<column>)`` means."""
    return ast.A_Expr(
        kind=A_Expr_Kind.AEXPR_OP,
        name=(ast.String(sval="="),),
        lexpr=ast.ColumnRef(fields=(ast.String(sval=left), ast.String(sval=column))),
        rexpr=ast.ColumnRef(fields=(ast.String(sval=right), ast.String(sval=column))),
    )


def _independent(stmt: ast.Node) -> list[ast.Node]:
    """The CTE bodies and non-LATERAL FROM subqueries of one level."""
    with_clause = getattr(stmt, "withClause", None)
    ctes = (with_clause.ctes or ()) if with_clause is not None else ()
    found: list[ast.Node] = [cte.ctequery for cte in ctes]
    pending = list(from_items(stmt))
    while pending:
        item = pending.pop()
        if isinstance(item, ast.JoinExpr):
            pending += [item.larg, item.rarg]
        elif isinstance(item, ast.RangeSubselect) and not item.lateral:
            found += [item.subquery] if item.subquery is not None else []
    return found


def _arms(stmt: object) -> list[ast.Node]:
    """The plain SELECTs (or VALUES) a set operation is made of; else *stmt*."""
    if isinstance(stmt, ast.SelectStmt) and stmt.op != SetOperation.SETOP_NONE:
        return _arms(stmt.larg) + _arms(stmt.rarg)
    return [stmt] if isinstance(stmt, ast.Node) else []


def _values_at(
    arm: ast.Node, position: int, scope: Scope
) -> list[tuple[object, int | None]]:
    """What one arm (its targets, its VALUES rows, or RETURNING) gives a column.

    Each value comes with where it is; a value that cannot be told (a star
    over a table, a missing position) is None.
    """
    rows = arm.valuesLists if isinstance(arm, ast.SelectStmt) else None
    if rows:
        return [
            (row[position], getattr(row[position], "location", None))
            if position < len(row)
            else (None, None)
            for row in rows
        ]
    listed: list[object] = [getattr(t, "val", None) for t in targets(arm)]
    where = [getattr(t, "location", None) for t in targets(arm)]
    if len(listed) == 1 and _is_star(listed[0]):
        listed = _star_columns(scope)
        where = where * len(listed)
    if position < len(listed) and not any(map(_is_star, listed[: position + 1])):
        return [(listed[position], where[position])]
    return [(None, where[0] if where else None)]


def _star_columns(scope: Scope) -> list[object]:
    """What ``SELECT *`` lists, as column references; [] when a table is read."""
    if any(r.table is not None for r in scope.relations):
        return []
    return [
        ast.ColumnRef(fields=(ast.String(sval=r.alias), ast.String(sval=column)))
        for r in scope.relations
        for column in r.columns
    ]


def _is_star(node: object) -> bool:
    fields = (node.fields or ()) if isinstance(node, ast.ColumnRef) else ()
    return bool(fields) and isinstance(fields[-1], ast.A_Star)


def _reads_setting(expr: object, setting: str) -> bool:
    """``current_setting('<setting>', …)``, maybe in ``NULLIF(…, '')``."""
    expr = unwrap(expr)
    if isinstance(expr, ast.A_Expr) and expr.kind == A_Expr_Kind.AEXPR_NULLIF:
        expr = unwrap(expr.lexpr)
    if not isinstance(expr, ast.FuncCall) or not expr.funcname or not expr.args:
        return False
    name = unwrap(expr.args[0])
    value = name.val if isinstance(name, ast.A_Const) else None
    return (
        expr.funcname[-1].sval == "current_setting"
        and isinstance(value, ast.String)
        and value.sval == setting
    )


def _unnested_param(relation: Relation, column: str) -> bool:
    """Whether *column* of ``unnest(…) AS u (…)`` comes from a parameter."""
    item = relation.node
    if not isinstance(item, ast.RangeFunction) or column not in relation.columns:
        return False
    sources: list[object] = []
    for pair in item.functions or ():
        call = pair[0] if isinstance(pair, tuple) else None
        names = call.funcname or () if isinstance(call, ast.FuncCall) else ()
        if isinstance(call, ast.FuncCall) and names and names[-1].sval == "unnest":
            sources += list(call.args or ())
        else:
            sources.append(None)  # one column, from a function that is no unnest
    index = relation.columns.index(column)
    return index < len(sources) and is_param(sources[index])


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


# Built-ins that change state: a replica refuses them, or they mean a write.
_SIDE_EFFECTS = frozenset(
    {"nextval", "setval", "set_config", "pg_notify", "txid_current"}
    | {"pg_current_xact_id", "pg_advisory_lock", "pg_advisory_xact_lock"}
    | {"pg_advisory_lock_shared", "pg_advisory_xact_lock_shared"}
    | {"pg_try_advisory_lock", "pg_try_advisory_xact_lock", "pg_advisory_unlock"}
    | {"pg_try_advisory_lock_shared", "pg_try_advisory_xact_lock_shared"}
    | {"pg_advisory_unlock_shared", "pg_advisory_unlock_all", "lo_import"}
    | {"lo_export", "lo_create", "lo_unlink", "lo_put", "lo_from_bytea"}
)


def _replica(
    query: Query[object], stmt: ast.Node, catalog: Catalog
) -> Iterator[Violation]:
    """A ``-- replica: ok`` query is a read a standby can serve."""
    if not query.replica:
        return
    hint = "remove '-- replica: ok': writes and locks run on the primary"
    for node in walk(stmt):
        found = None
        if isinstance(
            node, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt | ast.MergeStmt
        ):
            verb = type(node).__name__.removesuffix("Stmt").upper()
            found = (
                f"it holds an {verb}"
                if verb in {"INSERT", "UPDATE"}
                else f"it holds a {verb}"
            )
        elif isinstance(node, ast.LockingClause):
            found = "it locks rows (FOR UPDATE/SHARE)"
        elif isinstance(node, ast.FuncCall):
            parts = [str(p.sval).lower() for p in node.funcname or ()]
            name, schema = parts[-1], (parts[-2] if len(parts) > 1 else None)
            user = catalog.user_functions(name, schema)
            if any(f.volatile and f.extension is None for f in user):
                found = f"it calls {name}(), a VOLATILE function that may write"
            elif not user and name in _SIDE_EFFECTS:
                found = f"it calls {name}(), which changes state"
        if found is not None:
            yield Violation(
                "replica",
                source_line(query, getattr(node, "location", None)),
                f"a '-- replica: ok' query must only read, and {found}",
                hint,
            )
            return


RULES: dict[str, Rule] = {
    "unique-key": _unique_key,
    "tenant": _tenant,
    "tenant-role": _tenant_role,
    "no-star": _no_star,
    "stable-order": _stable_order,
    "where": _where,
    "replica": _replica,
}
"""Every rule by name, in the order ``lint`` runs them."""
