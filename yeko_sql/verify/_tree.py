"""A query's parse tree (pglast) and the relations its names refer to.

Shared by nullability inference and the lint rules: parse a query's compiled
SQL once, walk the tree, and resolve a ``ColumnRef`` to the FROM item it reads
(a catalog table, a subquery, a CTE or a set-returning function), knowing
whether that item sits on the nullable side of an outer join.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pglast
from pglast import ast
from pglast.enums import CmdType, JoinType, OnConflictAction, SetOperation

from yeko_sql.query.compiler import Query
from yeko_sql.verify._catalog import Catalog, Table

__all__ = [
    "PRIVILEGES",
    "Relation",
    "Scope",
    "children",
    "column_ref",
    "conjuncts",
    "from_items",
    "is_param",
    "levels",
    "output_locations",
    "output_names",
    "param_number",
    "parse_query",
    "returning",
    "source_line",
    "table_privileges",
    "target_arms",
    "targets",
    "unwrap",
    "walk",
]


def parse_query(query: Query[object]) -> ast.Node | None:
    """The statement node of *query*'s compiled SQL; None when pglast refuses it."""
    try:
        statements = pglast.parse_sql(query.compiled)
    except pglast.parser.ParseError:
        return None
    return statements[0].stmt if len(statements) == 1 else None


def source_line(query: Query[object], location: int | None) -> int:
    """The file line of a pglast *location* (a 0-based index into ``compiled``)."""
    if location is None or location < 0:
        return query.line
    return query.source_line(location + 1)


def walk(node: object) -> Iterator[ast.Node]:
    """Every node under *node* (itself included), depth first."""
    if isinstance(node, tuple | list):
        for item in node:
            yield from walk(item)
    elif isinstance(node, ast.Node):
        yield node
        for name in node:
            value = getattr(node, name)
            if isinstance(value, ast.Node | tuple | list):
                yield from walk(value)


def unwrap(node: object) -> object:
    """*node* without the casts and ``COLLATE`` clauses around it."""
    while isinstance(node, ast.TypeCast | ast.CollateClause):
        node = node.arg
    return node


def param_number(node: object) -> int | None:
    """The ``$n`` number of a (possibly cast) parameter, else None."""
    node = unwrap(node)
    return node.number if isinstance(node, ast.ParamRef) else None


def is_param(node: object) -> bool:
    """Whether *node* is a parameter, possibly cast."""
    return param_number(node) is not None


_MAX_NAME_PARTS = 3  # schema.table.column


def column_ref(node: object) -> tuple[str | None, str] | None:
    """``(qualifier, column)`` of a (possibly cast) column reference, else None."""
    node = unwrap(node)
    if not isinstance(node, ast.ColumnRef) or not node.fields:
        return None
    names = [f.sval if isinstance(f, ast.String) else None for f in node.fields]
    if None in names or len(names) > _MAX_NAME_PARTS:  # a star, a subscript
        return None
    last = names[-1]
    assert last is not None  # noqa: S101  (checked above)
    return (names[-2] if len(names) > 1 else None), last


def conjuncts(node: object) -> list[object]:
    """The terms of a top-level ``AND`` chain (an ``OR`` is one term)."""
    if node is None:
        return []
    if isinstance(node, ast.BoolExpr) and node.boolop == 0:  # AND_EXPR
        return [term for arg in node.args or () for term in conjuncts(arg)]
    return [node]


def returning(stmt: ast.Node) -> tuple[ast.Node, ...]:
    """The ``RETURNING`` targets of an ``INSERT``/``UPDATE``/``DELETE``."""
    clause = getattr(stmt, "returningClause", None)
    if clause is None:
        return ()
    return tuple(clause.exprs or ())


def targets(stmt: ast.Node) -> tuple[ast.Node, ...]:
    """The result targets of a statement: the select list, or ``RETURNING``."""
    if isinstance(stmt, ast.SelectStmt):
        while stmt.op != SetOperation.SETOP_NONE and stmt.larg is not None:
            stmt = stmt.larg
        return tuple(stmt.targetList or ())
    return returning(stmt)


def target_arms(
    stmt: ast.Node,
    catalog: Catalog,
    parent: Scope | None = None,
    *,
    views: Mapping[int, ast.Node] | None = None,
) -> list[tuple[Scope, list[object]]]:
    """(scope, target expressions) per arm of a set operation or VALUES rows.

    A plain statement has one arm. A star (``*``, ``t.*``) is expanded to a
    reference per column it produces (see ``Scope.expand``); a star whose
    columns are not known (a function's, a table outside the catalog) ends
    the list there, since the positions after it are unknown.
    *views* (view OID -> parsed definition) lets a view be read through its
    definition; without them a view is a table whose columns allow NULL.
    """
    if isinstance(stmt, ast.SelectStmt) and stmt.op != SetOperation.SETOP_NONE:
        return [
            arm
            for side in (stmt.larg, stmt.rarg)
            if side is not None
            for arm in target_arms(side, catalog, parent, views=views)
        ]
    scope = Scope.of(stmt, catalog, parent, views=views)
    if isinstance(stmt, ast.SelectStmt) and stmt.valuesLists:
        return [(scope, list(row)) for row in stmt.valuesLists]
    expanded, _ = scope.expand(stmt)
    return [(scope, [expr for _, expr in expanded])]


def output_locations(
    stmt: ast.Node,
    catalog: Catalog | None = None,
    *,
    views: Mapping[int, ast.Node] | None = None,
) -> list[int | None]:
    """Where each result column's target starts in the SQL (0-based), in order.

    With *catalog*, a star counts once per column it produces (each at the
    star), so the columns after it keep their own places; the list stops at a
    star whose columns are not known. Without it, one place per target.
    """
    if catalog is None:
        return [getattr(target, "location", None) for target in targets(stmt)]
    first = _leftmost(stmt)
    scope = Scope.of(first, catalog, views=views)
    found: list[int | None] = []
    for target in targets(first):
        value = getattr(target, "val", None)
        location = getattr(target, "location", None)
        if isinstance(value, ast.ColumnRef) and isinstance(
            (value.fields or (None,))[-1], ast.A_Star
        ):
            columns = scope._star(value)
            if columns is None:
                break
            found.extend([location] * len(columns))
        else:
            found.append(location)
    return found


def output_names(stmt: ast.Node) -> list[str]:
    """The column names a statement's targets produce, as PostgreSQL names them."""
    names = []
    for target in targets(stmt):
        if not isinstance(target, ast.ResTarget):
            continue
        if target.name:
            names.append(target.name)
            continue
        value = unwrap(target.val)
        ref = column_ref(value)
        if ref is not None:
            names.append(ref[1])
        elif isinstance(value, ast.FuncCall) and value.funcname:
            names.append(value.funcname[-1].sval)
        else:
            names.append("?column?")
    return names


@dataclass
class Relation:
    """A FROM item: a table, or a subquery/CTE/function with known column names."""

    alias: str
    table: Table | None = None
    subquery: ast.Node | None = None
    columns: tuple[str, ...] = ()
    nullable: bool = False  # on the nullable side of an outer join, in the SQL
    node: ast.Node | None = None
    view: Table | None = None  # a view read through its definition (``subquery``)
    complete: bool = True  # False: a star in the subquery left ``columns`` short

    def has_column(self, name: str) -> bool:
        """Whether this item has a column *name*."""
        if self.table is not None:
            return name in self.table.columns
        return name in self.columns


@dataclass
class Scope:
    """The FROM items one statement level sees, and the CTEs in reach."""

    catalog: Catalog
    relations: list[Relation] = field(default_factory=list)
    ctes: dict[str, ast.Node] = field(default_factory=dict)
    # A CTE's column names when it lists them: WITH n(i, t) AS (…).
    cte_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    parent: Scope | None = None
    grouped: bool = False  # the level has GROUP BY: every group has a row
    # With GROUPING SETS, ROLLUP or CUBE: the columns every grouping keeps;
    # any other grouped column is NULL in subtotal rows. None: no such sets.
    kept_in_all_sets: set[str] | None = None
    # View OID -> its parsed definition: such a view is read like a subquery.
    views: Mapping[int, ast.Node] = field(default_factory=dict)
    depth: int = 0  # nested scopes built to name a subquery's columns
    items: list[object] = field(default_factory=list)  # FROM items, in SQL order
    # The terms every row of this level passed: the WHERE's top-level AND chain
    # and the ON of each inner join (a NULL there makes the row go).
    filters: list[object] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        stmt: ast.Node,
        catalog: Catalog,
        parent: Scope | None = None,
        *,
        views: Mapping[int, ast.Node] | None = None,
    ) -> Scope:
        """The scope of *stmt*'s own level (its FROM, or its target table).

        A view's definition sees only the catalog: neither the CTEs nor the
        FROM items of the query that reads the view.
        """
        if views is None:
            views = parent.views if parent is not None else {}
        depth = parent.depth + 1 if parent is not None else 0
        if parent is not None and any(stmt is v for v in views.values()):
            parent = None
        scope = cls(
            catalog,
            parent=parent,
            ctes=dict(parent.ctes) if parent else {},
            cte_columns=dict(parent.cte_columns) if parent else {},
            views=views,
            depth=depth,
        )
        # A CTE's body (its first arm, when recursive) does not see the CTE.
        for name, body in list(scope.ctes.items()):
            if stmt is body or stmt is _leftmost(body):
                del scope.ctes[name]
        groups = getattr(stmt, "groupClause", None) or ()
        scope.grouped = bool(groups)
        if any(isinstance(g, ast.GroupingSet) for g in groups):
            refs = [column_ref(g) for g in groups if not isinstance(g, ast.GroupingSet)]
            scope.kept_in_all_sets = {ref[1] for ref in refs if ref is not None}
        with_clause = getattr(stmt, "withClause", None)
        for cte in (with_clause.ctes or ()) if with_clause else ():
            scope.ctes[cte.ctename] = cte.ctequery
            scope.cte_columns[cte.ctename] = tuple(
                str(name.sval) for name in cte.aliascolnames or ()
            )
        target = getattr(stmt, "relation", None)
        if isinstance(target, ast.RangeVar):
            scope.add(target, nullable=False)
            scope.items.append(target)
        for item in from_items(stmt):
            scope.add(item, nullable=False)
            scope.items.append(item)
        if isinstance(stmt, ast.UpdateStmt):
            # RETURNING shows the new values, which the WHERE did not test.
            scope.filters.clear()
        else:
            scope.filters.extend(conjuncts(getattr(stmt, "whereClause", None)))
        return scope

    def add(self, item: object, *, nullable: bool) -> None:
        """Add a FROM item and, for a join, both its sides."""
        if isinstance(item, ast.JoinExpr):
            kind = item.jointype
            if kind == JoinType.JOIN_INNER:
                self.filters.extend(conjuncts(item.quals))
            self.add(item.larg, nullable=nullable or kind in _NULLS_LEFT)
            self.add(item.rarg, nullable=nullable or kind in _NULLS_RIGHT)
        elif isinstance(item, ast.RangeVar) and item.relname:
            alias = _alias(item, item.relname)
            cte = self.ctes.get(item.relname) if not item.schemaname else None
            table = (
                self.catalog.find(item.relname, item.schemaname)
                if cte is None
                else None
            )
            definition = self.views.get(table.oid) if table is not None else None
            if cte is not None:
                columns, complete = self._names(cte, item)
                listed = self.cte_columns.get(item.relname, ())
                columns = listed + columns[len(listed) :]
                relation = Relation(
                    alias, subquery=cte, columns=columns, complete=complete
                )
            elif table is not None and definition is not None:
                ordered = sorted(table.by_number.items())
                relation = Relation(
                    alias,
                    subquery=definition,
                    columns=tuple(column.name for _, column in ordered),
                    view=table,
                )
            else:
                relation = Relation(alias, table=table)
            relation.nullable, relation.node = nullable, item
            self.relations.append(relation)
        elif isinstance(item, ast.RangeSubselect) and item.subquery is not None:
            alias = _alias(item, "?subquery?")
            columns, complete = self._names(item.subquery, item)
            self.relations.append(
                Relation(
                    alias,
                    None,
                    item.subquery,
                    columns,
                    nullable,
                    item,
                    complete=complete,
                )
            )
        elif isinstance(item, ast.RangeFunction):
            alias = _alias(item, _function_name(item))
            columns = _alias_columns(item) or (alias,)
            self.relations.append(Relation(alias, None, None, columns, nullable, item))

    def _names(
        self, query: ast.Node, item: ast.RangeVar | ast.RangeSubselect
    ) -> tuple[tuple[str, ...], bool]:
        """The column names a subquery or CTE gives, and whether all are known."""
        own = _alias_columns(item) if isinstance(item, ast.RangeSubselect) else ()
        first = _leftmost(query)
        if not _has_star(first) or self.depth >= _MAX_DEPTH:
            names, complete = output_names(query), not _has_star(first)
        else:
            expanded, complete = Scope.of(first, self.catalog, self).expand(first)
            names = [name for name, _ in expanded]
        return tuple(own) + tuple(names[len(own) :]), complete

    def expand(self, stmt: ast.Node) -> tuple[list[tuple[str, object]], bool]:
        """(name, expression) per result column of *stmt*, this scope's level.

        Each star becomes a column reference per column it produces, as if
        written out: ``*`` the columns of every FROM item in order, ``t.*``
        those of ``t`` (a table's from the catalog, a view's too, a CTE's or
        subquery's from its own select list). The list stops at a star whose
        columns are not known, and the flag says so.
        """
        expanded: list[tuple[str, object]] = []
        names = output_names(stmt)
        for index, target in enumerate(targets(stmt)):
            value = getattr(target, "val", None)
            if not (
                isinstance(value, ast.ColumnRef)
                and isinstance((value.fields or (None,))[-1], ast.A_Star)
            ):
                expanded.append((names[index] if index < len(names) else "", value))
                continue
            columns = self._star(value)
            if columns is None:
                return expanded, False
            expanded.extend(columns)
        return expanded, True

    def _star(self, star: ast.ColumnRef) -> list[tuple[str, object]] | None:
        fields = star.fields or ()
        if len(fields) == 1:
            found: list[tuple[str, object]] = []
            for item in self.items:
                columns = self._item_columns(item)
                if columns is None:
                    return None
                found.extend(columns)
            return found
        qualifier = getattr(fields[-2], "sval", None)
        scope: Scope | None = self
        while scope is not None:
            matches = [r for r in scope.relations if r.alias == qualifier]
            if matches:
                return _relation_columns(matches[0]) if len(matches) == 1 else None
            scope = scope.parent
        return None

    def _item_columns(self, item: object) -> list[tuple[str, object]] | None:
        if isinstance(item, ast.JoinExpr):
            left = self._item_columns(item.larg)
            right = self._item_columns(item.rarg)
            if left is None or right is None:
                return None
            if item.usingClause or item.isNatural:
                return _merged(item, left, right)
            return left + right
        for relation in self.relations:
            if relation.node is item:
                return _relation_columns(relation)
        return None

    def subtotal_null(self, expr: object) -> bool:
        """Whether *expr* is a column that GROUPING SETS leave NULL in some rows."""
        ref = column_ref(expr)
        kept = self.kept_in_all_sets
        return kept is not None and ref is not None and ref[1] not in kept

    def owner(self, relation: Relation) -> Scope | None:
        """The scope, this one or an outer one, whose FROM has *relation*."""
        scope: Scope | None = self
        while scope is not None and not any(r is relation for r in scope.relations):
            scope = scope.parent
        return scope

    def resolve(self, qualifier: str | None, column: str) -> Relation | None:
        """The FROM item a column reference reads, looking outwards."""
        if qualifier is not None:
            found = [r for r in self.relations if r.alias == qualifier]
        else:
            found = [r for r in self.relations if r.has_column(column)]
        if len(found) == 1:
            return found[0]
        if not found and self.parent is not None:
            return self.parent.resolve(qualifier, column)
        return None


_MAX_DEPTH = 8  # nested subqueries and CTEs followed to name a star's columns


def _merged(
    join: ast.JoinExpr,
    left: list[tuple[str, object]],
    right: list[tuple[str, object]],
) -> list[tuple[str, object]] | None:
    """The columns of a ``JOIN … USING`` or ``NATURAL JOIN``, as PostgreSQL orders
    them: each merged column first (the left one, the right one for a ``RIGHT``
    join, ``coalesce`` of both for a ``FULL`` join), then the others of each side.
    """
    left_names = [name for name, _ in left]
    right_names = [name for name, _ in right]
    using = (
        [str(name.sval) for name in join.usingClause or ()]
        if not join.isNatural
        else [name for name in left_names if name in right_names]
    )
    if any(u not in left_names or u not in right_names for u in using):
        return None
    merged: list[tuple[str, object]] = []
    for name in using:
        lexpr = left[left_names.index(name)][1]
        rexpr = right[right_names.index(name)][1]
        if join.jointype == JoinType.JOIN_RIGHT:
            merged.append((name, rexpr))
        elif join.jointype == JoinType.JOIN_FULL:
            merged.append((name, ast.CoalesceExpr(args=(lexpr, rexpr))))
        else:
            merged.append((name, lexpr))
    rest = [c for c in left if c[0] not in using] + [
        c for c in right if c[0] not in using
    ]
    return merged + rest


def _leftmost(stmt: ast.Node) -> ast.Node:
    """The first arm of a set operation (the statement itself otherwise)."""
    while (
        isinstance(stmt, ast.SelectStmt)
        and stmt.op != SetOperation.SETOP_NONE
        and stmt.larg is not None
    ):
        stmt = stmt.larg
    return stmt


def _has_star(stmt: ast.Node) -> bool:
    return any(
        isinstance(value, ast.ColumnRef)
        and isinstance((value.fields or (None,))[-1], ast.A_Star)
        for value in (getattr(t, "val", None) for t in targets(stmt))
    )


def _relation_columns(relation: Relation) -> list[tuple[str, object]] | None:
    """(name, reference) per column of a FROM item, in order; None if unknown."""
    alias = relation.alias
    if relation.table is not None:
        ordered = [c.name for _, c in sorted(relation.table.by_number.items())]
        own = _range_var_columns(relation.node)
        names = list(own) + ordered[len(own) :]
        return [(n, _ref(alias, c)) for n, c in zip(names, ordered, strict=True)]
    if relation.subquery is None or not relation.complete or not relation.columns:
        return None
    seen: set[str] = set()
    columns: list[tuple[str, object]] = []
    for name in relation.columns:
        # A repeated name cannot be told apart by reference: judged nullable.
        expr = ast.A_Const(isnull=True) if name in seen else _ref(alias, name)
        seen.add(name)
        columns.append((name, expr))
    return columns


def _range_var_columns(node: object) -> tuple[str, ...]:
    alias = getattr(node, "alias", None)
    if alias is None or not alias.colnames:
        return ()
    return tuple(str(c.sval) for c in alias.colnames)


def _ref(qualifier: str, column: str) -> ast.ColumnRef:
    return ast.ColumnRef(fields=(ast.String(sval=qualifier), ast.String(sval=column)))


_NULLS_LEFT = (JoinType.JOIN_RIGHT, JoinType.JOIN_FULL)
_NULLS_RIGHT = (JoinType.JOIN_LEFT, JoinType.JOIN_FULL)


def from_items(stmt: ast.Node) -> Sequence[object]:
    """The FROM items of a statement level (``USING`` for ``DELETE`` and ``MERGE``)."""
    if isinstance(stmt, ast.SelectStmt | ast.UpdateStmt):
        return stmt.fromClause or ()
    if isinstance(stmt, ast.DeleteStmt):
        return stmt.usingClause or ()
    if isinstance(stmt, ast.MergeStmt) and stmt.sourceRelation is not None:
        return (stmt.sourceRelation,)
    return ()


_STATEMENTS = (
    ast.SelectStmt,
    ast.InsertStmt,
    ast.UpdateStmt,
    ast.DeleteStmt,
    ast.MergeStmt,
)


def levels(
    stmt: ast.Node, catalog: Catalog, parent: Scope | None = None
) -> Iterator[tuple[ast.Node, Scope]]:
    """Each statement level (CTEs, subqueries, set-operation arms) with its scope."""
    scope = Scope.of(stmt, catalog, parent)
    yield stmt, scope
    for child in children(stmt):
        yield from levels(child, catalog, scope)


def children(node: ast.Node) -> Iterator[ast.Node]:
    """The statements right under *node*: CTEs, subqueries, set-operation arms."""
    for name in node:
        yield from _statements_in(getattr(node, name))


def _statements_in(value: object) -> Iterator[ast.Node]:
    if isinstance(value, _STATEMENTS):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _statements_in(item)
    elif isinstance(value, ast.Node):
        yield from children(value)


PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
"""The table privileges ``table_privileges`` names, as ``GRANT`` spells them."""

_MERGE_ACTIONS = {
    CmdType.CMD_INSERT: "INSERT",
    CmdType.CMD_UPDATE: "UPDATE",
    CmdType.CMD_DELETE: "DELETE",
}


def table_privileges(stmt: ast.Node, catalog: Catalog) -> list[tuple[Table, str]]:
    """The privileges running *stmt* needs, per table or view it reads or writes.

    Every table read anywhere (a FROM item, a subquery, a CTE) needs
    ``SELECT``; the target of ``INSERT``/``UPDATE``/``DELETE`` needs that
    privilege, plus ``SELECT`` when the statement reads its columns (a
    ``WHERE``, ``RETURNING``, an ``ON CONFLICT`` key), plus ``UPDATE`` for
    ``ON CONFLICT DO UPDATE``. Column privileges are not looked at.
    """
    needed: dict[tuple[int, str], Table] = {}
    for level, scope in levels(stmt, catalog):
        target = getattr(level, "relation", None)
        for relation in scope.relations:
            table = relation.table or relation.view
            if table is None:
                continue
            wanted = (
                _target_privileges(level, relation)
                if target is not None and relation.node is target
                else ["SELECT"]
            )
            for privilege in wanted:
                needed.setdefault((table.oid, privilege), table)
    return [(table, privilege) for (_, privilege), table in needed.items()]


def _target_privileges(stmt: ast.Node, target: Relation) -> list[str]:
    if isinstance(stmt, ast.InsertStmt):
        wanted = ["INSERT"]
        conflict = stmt.onConflictClause
        if returning(stmt) or (conflict is not None and conflict.infer is not None):
            wanted.append("SELECT")
        if (
            conflict is not None
            and conflict.action == OnConflictAction.ONCONFLICT_UPDATE
        ):
            wanted.append("UPDATE")
        return wanted
    if isinstance(stmt, ast.MergeStmt):
        actions = {
            _MERGE_ACTIONS[clause.commandType]
            for clause in stmt.mergeWhenClauses or ()
            if clause.commandType in _MERGE_ACTIONS
        }
        return ["SELECT", *sorted(actions)]
    wanted = ["UPDATE" if isinstance(stmt, ast.UpdateStmt) else "DELETE"]
    read = [
        getattr(stmt, "whereClause", None),
        [getattr(t, "val", None) for t in getattr(stmt, "targetList", None) or ()],
        returning(stmt),
    ]
    if any(_reads(node, target) for node in walk(read)):
        wanted.append("SELECT")
    return wanted


def _reads(node: ast.Node, target: Relation) -> bool:
    """Whether *node* is a column reference that may read *target*."""
    if not isinstance(node, ast.ColumnRef) or not node.fields:
        return False
    if isinstance(node.fields[-1], ast.A_Star):
        return len(node.fields) == 1 or getattr(node.fields[0], "sval", None) == (
            target.alias
        )
    ref = column_ref(node)
    if ref is None:
        return False
    qualifier, column = ref
    return qualifier == target.alias if qualifier else target.has_column(column)


def _alias(
    item: ast.RangeVar | ast.RangeSubselect | ast.RangeFunction, default: str
) -> str:
    alias = item.alias
    return str(alias.aliasname) if alias is not None and alias.aliasname else default


def _alias_columns(item: ast.RangeSubselect | ast.RangeFunction) -> tuple[str, ...]:
    alias = item.alias
    if alias is None or not alias.colnames:
        return ()
    return tuple(str(c.sval) for c in alias.colnames)


def _function_name(item: ast.RangeFunction) -> str:
    for pair in item.functions or ():
        call = pair[0] if isinstance(pair, tuple) else None
        if isinstance(call, ast.FuncCall) and call.funcname:
            return str(call.funcname[-1].sval)
    return "?function?"
