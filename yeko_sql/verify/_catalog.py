"""What ``describe`` and the lint rules read from the PostgreSQL catalog.

``load_catalog`` reads every table and view of the user's schemas once: columns
and their ``NOT NULL``, unique keys (primary keys, unique constraints and unique
indexes, with the predicate of a partial one), and, given the app's tenant
column (``[tool.yeko-sql] tenant_column``), which tables are tenant-owned.
Every function outside ``pg_catalog`` is listed too, with its schema,
strictness and extension, so a built-in's name that a user function shadows,
or an extension's function, is told apart from the name alone.
``type_names`` turns type OIDs and modifiers into
``format_type`` names in one more query; ``enum_labels`` reads the labels of
every enum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

__all__ = [
    "Catalog",
    "Column",
    "EnumLabels",
    "Function",
    "Table",
    "TypeName",
    "UniqueKey",
    "enum_labels",
    "load_catalog",
    "type_names",
]

_TABLES = """
SELECT c.oid::int8, n.nspname, c.relname
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%'
"""
_COLUMNS = """
SELECT a.attrelid::int8, a.attnum, a.attname,
       -- A stored column of a NOT NULL domain never holds NULL (a view's may).
       a.attnotnull OR (t.typnotnull AND c.relkind IN ('r', 'p')),
       a.atttypid::int8
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_type AS t ON t.oid = a.atttypid
WHERE a.attrelid = ANY(%s::int8[]::oid[])
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""
_UNIQUE = """
SELECT i.indrelid::int8, x.relname, i.indisprimary, i.indkey::int2[],
       pg_get_expr(i.indpred, i.indrelid), i.indexprs IS NOT NULL,
       i.indnullsnotdistinct
FROM pg_index AS i
JOIN pg_class AS x ON x.oid = i.indexrelid
WHERE i.indrelid = ANY(%s::int8[]::oid[])
  AND i.indisunique
ORDER BY i.indrelid, NOT i.indisprimary, x.relname
"""
# The tables whose NOT NULL tenant column is part of a foreign key, whatever
# table that key references (a tenants table, or another tenant-owned table).
_TENANT_KEYS = """
SELECT DISTINCT f.conrelid::int8
FROM pg_constraint AS f
JOIN pg_attribute AS a ON a.attrelid = f.conrelid AND a.attnum = ANY(f.conkey)
WHERE f.contype = 'f'
  AND a.attname = %s
  AND a.attnotnull
  AND f.conrelid = ANY(%s::int8[]::oid[])
"""
# Functions outside pg_catalog, with the extension that owns each, if one does.
_FUNCTIONS = """
SELECT p.proname, n.nspname, p.proisstrict, e.extname, p.provolatile = 'v'
FROM pg_proc AS p
JOIN pg_namespace AS n ON n.oid = p.pronamespace
LEFT JOIN pg_depend AS d
    ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
LEFT JOIN pg_extension AS e ON e.oid = d.refobjid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY p.proname, n.nspname
"""
_TYPES = """
SELECT u.oid::int8, u.mod, format_type(u.oid, nullif(u.mod, -1)),
       t.typelem::int8, t.typcategory = 'A'
FROM unnest(%s::int8[], %s::int4[]) AS u (oid, mod)
JOIN pg_type AS t ON t.oid = u.oid::oid
"""
# Every enum, and every domain over one, with its labels in sort order.
_ENUMS = """
SELECT t.oid::int8, t.typarray::int8,
       array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
FROM pg_type AS t
JOIN pg_enum AS e
    ON e.enumtypid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
WHERE t.typtype IN ('e', 'd')
GROUP BY t.oid, t.typarray
"""


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its name, ``NOT NULL`` and type OID."""

    name: str
    number: int
    notnull: bool
    type_oid: int


@dataclass(frozen=True, slots=True)
class UniqueKey:
    """A primary key, unique constraint or unique index, by column names.

    ``predicate`` is the ``WHERE`` of a partial index, as PostgreSQL prints it;
    ``expression`` is true when a key part is an expression, not a column;
    ``nulls_not_distinct`` when NULLs count as equal (PostgreSQL 15).
    """

    name: str
    columns: tuple[str, ...]
    primary: bool
    predicate: str | None
    expression: bool
    nulls_not_distinct: bool = False


@dataclass(slots=True)
class Table:
    """A table or view of the user's schemas."""

    oid: int
    schema: str
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    by_number: dict[int, Column] = field(default_factory=dict)
    unique_keys: list[UniqueKey] = field(default_factory=list)
    tenant_owned: bool = False

    @property
    def qualname(self) -> str:
        """``schema.name``, or just the name in ``public``."""
        return self.name if self.schema == "public" else f"{self.schema}.{self.name}"


@dataclass(frozen=True, slots=True)
class Function:
    """A function outside ``pg_catalog``: its schema, ``proisstrict``, extension.

    ``extension`` is the ``pg_extension.extname`` that owns it, or None for a
    function the user created.
    """

    name: str
    schema: str
    strict: bool
    extension: str | None
    volatile: bool = True  # provolatile 'v': may change the database


@dataclass(frozen=True, slots=True)
class TypeName:
    """A type as ``format_type`` names it, with its element type when an array."""

    oid: int
    typmod: int
    name: str
    element_oid: int
    is_array: bool


@dataclass(frozen=True, slots=True)
class EnumLabels:
    """The labels of enum types (and domains over them), in their sort order.

    ``scalars`` is keyed by the type's OID, ``arrays`` by its array type's OID.
    """

    scalars: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    arrays: Mapping[int, tuple[str, ...]] = field(default_factory=dict)


class Catalog:
    """The user's tables by OID and by name, resolved along ``search_path``.

    ``tenant_column`` is the column that scopes tenant-owned rows (Yeko's
    ``school_id``), or ``None`` when the app has no tenants. ``functions`` are
    the functions outside ``pg_catalog`` (all overloads of each name).
    """

    def __init__(
        self,
        tables: Iterable[Table],
        search_path: Iterable[str],
        *,
        tenant_column: str | None = None,
        functions: Iterable[Function] = (),
    ) -> None:
        self.tables = {table.oid: table for table in tables}
        self.functions: dict[str, list[Function]] = {}
        for function in functions:
            self.functions.setdefault(function.name, []).append(function)
        self.search_path = tuple(search_path)
        self.tenant_column = tenant_column
        self._by_name: dict[tuple[str, str], Table] = {
            (t.schema, t.name): t for t in self.tables.values()
        }

    def find(self, name: str, schema: str | None = None) -> Table | None:
        """The table *name* in *schema*, or the first found along ``search_path``."""
        if schema is not None:
            return self._by_name.get((schema, name))
        for candidate in self.search_path:
            table = self._by_name.get((candidate, name))
            if table is not None:
                return table
        return None

    def column(self, table_oid: int, number: int) -> tuple[Table, Column] | None:
        """The table and column that ``ftable``/``ftablecol`` point to."""
        table = self.tables.get(table_oid)
        column = table.by_number.get(number) if table is not None else None
        return (table, column) if table is not None and column is not None else None

    def user_functions(self, name: str, schema: str | None = None) -> list[Function]:
        """The functions outside ``pg_catalog`` that a call of *name* may reach.

        Unqualified, those in a schema of ``search_path``; qualified, those in
        *schema*. An empty list means the call reaches ``pg_catalog`` only.
        """
        schemas = (schema,) if schema is not None else self.search_path
        return [f for f in self.functions.get(name, ()) if f.schema in schemas]


def load_catalog(
    conn: psycopg.Connection[Any], *, tenant_column: str | None = None
) -> Catalog:
    """Read the tables, columns, unique keys and tenant-owned tables of *conn*.

    With *tenant_column* (``[tool.yeko-sql] tenant_column``, Yeko's
    ``school_id``), a table is tenant-owned when that column is ``NOT NULL``
    and part of a foreign key, to whichever table holds the tenants (Yeko's
    ``schools``) or to another tenant-owned table: so Yeko's ``jobs``, whose
    ``school_id`` may be NULL, is not, nor is a table whose ``school_id`` is
    a bare column. Without it no table is tenant-owned.
    """
    tables = {
        oid: Table(oid=oid, schema=schema, name=name)
        for oid, schema, name in conn.execute(_TABLES).fetchall()
    }
    oids = list(tables)
    for relid, number, name, notnull, type_oid in conn.execute(_COLUMNS, [oids]):
        column = Column(name=name, number=number, notnull=notnull, type_oid=type_oid)
        tables[relid].columns[name] = column
        tables[relid].by_number[number] = column
    for relid, name, primary, keys, predicate, expression, nnd in conn.execute(
        _UNIQUE, [oids]
    ):
        table = tables[relid]
        columns = tuple(table.by_number[k].name for k in keys if k in table.by_number)
        table.unique_keys.append(
            UniqueKey(
                name=name,
                columns=columns,
                primary=primary,
                predicate=predicate,
                expression=expression or 0 in keys,
                nulls_not_distinct=nnd,
            )
        )
    if tenant_column is not None:
        for (relid,) in conn.execute(_TENANT_KEYS, [tenant_column, oids]):
            tables[relid].tenant_owned = True
    functions = [
        Function(
            name=name,
            schema=schema,
            strict=strict,
            extension=extension,
            volatile=volatile,
        )
        for name, schema, strict, extension, volatile in conn.execute(_FUNCTIONS)
    ]
    row = conn.execute("SELECT current_schemas(false)").fetchone()
    return Catalog(
        tables.values(),
        row[0] if row else ["public"],
        tenant_column=tenant_column,
        functions=functions,
    )


def type_names(
    conn: psycopg.Connection[Any], types: Iterable[tuple[int, int]]
) -> Mapping[tuple[int, int], TypeName]:
    """``format_type`` names for (type OID, typmod) pairs, in one query."""
    pairs = sorted(set(types))
    if not pairs:
        return {}
    rows = conn.execute(_TYPES, [[p[0] for p in pairs], [p[1] for p in pairs]])
    return {
        (oid, mod): TypeName(
            oid=oid, typmod=mod, name=name, element_oid=elem, is_array=is_array
        )
        for oid, mod, name, elem, is_array in rows
    }


def enum_labels(conn: psycopg.Connection[Any]) -> EnumLabels:
    """The labels of every enum of *conn*'s database, in one query."""
    scalars: dict[int, tuple[str, ...]] = {}
    arrays: dict[int, tuple[str, ...]] = {}
    for oid, array_oid, labels in conn.execute(_ENUMS):
        scalars[oid] = arrays[array_oid] = tuple(labels)
    arrays.pop(0, None)  # a domain has no array type before PostgreSQL 11
    return EnumLabels(scalars=scalars, arrays=arrays)
