"""Row factories that build msgspec Structs straight from psycopg's row values.

psycopg calls a row factory once per result and its row maker once per row.
``StructRows`` works out the column-to-field mapping once per query and result
shape (keyed by the columns' names and type OIDs) and compiles one maker per
shape that unpacks the row's values and calls the Struct's constructor
directly: positionally when the columns line up with the fields, else with
literal keywords. No dict is built per row.

The maker checks what the constructor would let through: a NULL for a field
that does not take ``None``, and a value outside a ``Literal`` field's values
(a chain of ``!=``, or a ``frozenset`` membership test for a long Literal;
``None`` passes when the field is optional). Which columns need which test is
decided when the maker is built, and only those columns get one, so a row
costs a few identity and string tests; a row that fails one raises
``RowDecodeError`` naming the query, the column and the field. Every
non-optional field is tested for NULL: an identity test per value costs less
than finding out which columns cannot be NULL, and a ``NOT NULL`` table
column still yields NULL on the outer side of a join, so the catalog alone
could not say.

With ``strict=True`` each row is instead validated in full by
``msgspec.convert`` (slower; also checks constraints such as ``Meta``).
"""

from __future__ import annotations

import inspect
import keyword
import re
import reprlib
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import msgspec
from msgspec import inspect as mi
from psycopg import Cursor
from psycopg.abc import Buffer
from psycopg.pq.abc import PGresult

from yeko_sql.errors import RowDecodeError
from yeko_sql.runtime.pagination import TOTAL_COLUMN
from yeko_sql.runtime.types import (
    column_python_type,
    describe_type,
    fits,
    needs_convert,
    pg_type_name,
    python_type_label,
)

__all__ = ["StructRows", "derive_struct"]

RowMaker = Callable[[Sequence[Any]], Any]


def _field_name(column: str, index: int, seen: set[str]) -> str:
    name = re.sub(r"\W", "_", column).strip("_").lower() or f"column_{index + 1}"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"column_{name}"
    while name in seen:
        name = f"{name}_{index + 1}"
    seen.add(name)
    return name


def derive_struct(
    name: str, columns: Sequence[str], oids: Sequence[int]
) -> type[msgspec.Struct]:
    """Build a frozen Struct with one optional field per result column.

    Used for queries without ``-- returns:``. Fields keep the columns' order
    so rows are built positionally.
    """
    seen: set[str] = set()
    fields = [
        (_field_name(col, i, seen), column_python_type(oid) | None)
        for i, (col, oid) in enumerate(zip(columns, oids, strict=True))
    ]
    return msgspec.defstruct(name, fields, frozen=True)


def _unwrap(t: mi.Type) -> mi.Type:
    while isinstance(t, mi.Metadata):
        t = t.type
    return t


def _takes_none(t: mi.Type) -> bool:
    """Whether a field of type *t* accepts ``None`` (what ``msgspec.convert`` says)."""
    t = _unwrap(t)
    if isinstance(t, mi.NoneType | mi.AnyType):
        return True
    if isinstance(t, mi.CustomType):
        return t.cls is object
    if isinstance(t, mi.LiteralType):
        return None in t.values
    if isinstance(t, mi.UnionType):
        return any(_takes_none(m) for m in t.types)
    return False


def _literal_values(t: mi.Type) -> frozenset[object] | None:
    """The values a ``Literal`` field takes (``None`` too when optional), else None.

    ``Literal[...]``, an alias of one, ``... | None`` and unions of Literals
    qualify; a Literal beside another type (``Literal['a'] | int``) does not.
    """
    members = t.types if isinstance(t := _unwrap(t), mi.UnionType) else (t,)
    values: set[object] = set()
    literal = False
    for member in map(_unwrap, members):
        if isinstance(member, mi.LiteralType):
            values.update(member.values)
            literal = True
        elif isinstance(member, mi.NoneType):
            values.add(None)
        else:
            return None
    return frozenset(values) if literal else None


class _Column(NamedTuple):
    """How one result column becomes its field, worked out once per shape."""

    at: int  # position in the row
    name: str
    oid: int
    field: mi.Field
    convert: Callable[[Any], Any] | None
    allowed: frozenset[object] | None  # a Literal's values: a membership test
    not_null: bool  # no Literal set and the field does not take None: a None test

    @property
    def checked(self) -> bool:
        return self.allowed is not None or self.not_null


def _short(value: object) -> str:
    return reprlib.repr(value)


def _null_problem(struct: str, col: _Column) -> str:
    wanted = describe_type(col.field.type)
    return (
        f"column {col.name!r} ({pg_type_name(col.oid)}, nullable) does not fit "
        f"{struct}.{col.field.name} ({wanted}); make the field '{wanted} | None'"
    )


def _literal_problem(struct: str, col: _Column, value: object) -> str:
    return (
        f"column {col.name!r} ({pg_type_name(col.oid)}) holds {_short(value)}, "
        f"which does not fit {struct}.{col.field.name} "
        f"({describe_type(col.field.type)}); add {_short(value)} to the Literal "
        "or leave such rows out of the query"
    )


def _failure(
    query: str, struct: str, columns: list[_Column]
) -> Callable[[Sequence[Any]], RowDecodeError]:
    """The slow path of a row that failed a check: which column, and why."""
    checked = [c for c in columns if c.checked]

    def fail(values: Sequence[Any]) -> RowDecodeError:
        for col in checked:
            value = values[col.at]
            if value is None and (
                col.not_null or (col.allowed is not None and None not in col.allowed)
            ):
                problem = _null_problem(struct, col)
            elif col.allowed is not None and value not in col.allowed:
                problem = _literal_problem(struct, col, value)
            else:
                continue
            return RowDecodeError(query, col.name, col.field.name, problem)
        return RowDecodeError(query, "", "", "a row failed a check of its columns")

    return fail


_CHAIN_MAX = 8


def _literal_test(name: str, allowed: frozenset[object], env: dict[str, Any]) -> str:
    """The test that *name* is outside *allowed*, as source.

    Up to ``_CHAIN_MAX`` values it is a chain of ``!=`` (specialized compares
    that reject on length: a fresh string from libpq is never hashed), else a
    ``frozenset`` membership test. Chained values are str, int or None (what
    msgspec allows in a Literal), so ``repr`` writes them as Python literals.
    """
    literals = all(v is None or type(v) in (str, int) for v in allowed)
    if literals and len(allowed) <= _CHAIN_MAX:
        values = sorted(allowed, key=lambda v: (v is None, repr(v)))
        return "(" + " and ".join(
            f"{name} is not None" if v is None else f"{name} != {v!r}" for v in values
        ) + ")"
    env[f"L_{name}"] = allowed
    return f"{name} not in L_{name}"


def _compile_maker(
    struct: type[msgspec.Struct],
    columns: list[_Column],
    *,
    positional: bool,
    ncolumns: int,
    fail: Callable[[Sequence[Any]], RowDecodeError],
    label: str,
) -> RowMaker:
    """One function per shape: unpack, test the checked columns, construct.

    For a row of (id text, status text) into a kw_only Struct whose ``status``
    is ``Literal["done", "planned"]``::

        def make(v):
            a0, a1, = v
            if a0 is None or (a1 != 'done' and a1 != 'planned'):
                raise F(v)
            return S(id=a0, status=a1)
    """
    if (
        positional
        and len(columns) == ncolumns
        and not any(c.checked or c.convert for c in columns)
    ):
        return lambda values: struct(*values)
    env: dict[str, Any] = {"S": struct, "F": fail}
    used = {c.at for c in columns}
    targets = "".join(f"a{i}, " if i in used else "_, " for i in range(ncolumns))
    tests, args = [], []
    for c in columns:
        if c.allowed is not None:
            tests.append(_literal_test(f"a{c.at}", c.allowed, env))
        elif c.not_null:
            tests.append(f"a{c.at} is None")
        value = f"a{c.at}"
        if c.convert is not None:
            env[f"c{c.at}"] = c.convert
            value = f"c{c.at}({value})"
        if positional:
            args.append(value)
        elif c.field.name.isidentifier() and not keyword.iskeyword(c.field.name):
            args.append(f"{c.field.name}={value}")
        else:  # a defstruct field no keyword can name: a one-key dict
            args.append(f"**{{{c.field.name!r}: {value}}}")
    lines = ["def make(v):", f"    {targets}= v"]
    if tests:
        lines += [f"    if {' or '.join(tests)}:", "        raise F(v)"]
    lines.append(f"    return S({', '.join(args)})")
    # Generated code calls the constructor with literal keywords: the only way
    # to reach kw_only Structs without a dict per row (measured 4x faster), and
    # its tests are plain bytecode (an identity test or compares per checked column).
    code = compile("\n".join(lines) + "\n", f"<row maker of {label}>", "exec")
    exec(code, env)  # noqa: S102  (source built above from field names and indexes)
    maker: RowMaker = env["make"]
    return maker


class StructRows:
    """A psycopg row factory decoding one query's rows into *struct*.

    *struct* None derives a Struct from the first result's columns. Makers are
    cached per result shape (column names and types), so the mapping is worked
    out once and a result whose names differ never reuses another's maker.
    """

    __slots__ = ("_cache", "_derived_name", "query", "skip_total", "strict", "struct")

    def __init__(
        self,
        query: str,
        struct: type[msgspec.Struct] | None,
        *,
        derived_name: str = "Row",
        skip_total: bool = False,
        strict: bool = False,
    ) -> None:
        self.query = query
        self.struct = struct
        self.skip_total = skip_total
        self.strict = strict
        self._derived_name = derived_name
        self._cache: dict[tuple[object, ...], RowMaker] = {}

    def __call__(self, cursor: Cursor[Any]) -> RowMaker:
        """Return the row maker for *cursor*'s current result (psycopg's protocol)."""
        return self.for_result(cursor.pgresult)

    def for_result(self, res: PGresult | None) -> RowMaker:
        """Return the row maker for the columns of *res*."""
        if res is None or not res.nfields:
            return _no_row
        positions = range(res.nfields)
        key = (*map(res.fname, positions), *map(res.ftype, positions))
        maker = self._cache.get(key)
        if maker is None:
            names = [_decode(res.fname(i)) for i in positions]
            oids = [res.ftype(i) for i in positions]
            maker = self._cache[key] = self._build(names, oids)
        return maker

    def _build(self, names: list[str], oids: list[int]) -> RowMaker:
        if (
            self.skip_total
            and TOTAL_COLUMN in names
            and (
                self.struct is None or TOTAL_COLUMN not in self.struct.__struct_fields__
            )
        ):
            keep = [i for i, n in enumerate(names) if n != TOTAL_COLUMN]
        else:
            keep = list(range(len(names)))
        struct = self.struct or derive_struct(
            self._derived_name, [names[i] for i in keep], [oids[i] for i in keep]
        )
        info = mi.type_info(struct)
        assert isinstance(info, mi.StructType)  # noqa: S101  (a Struct class by contract)
        fields = {f.name: f for f in info.fields}
        columns: list[_Column] = []
        derived = self.struct is None
        for pos, i in enumerate(keep):
            column, oid = names[i], oids[i]
            field = info.fields[pos] if derived else fields.get(column)
            if field is None:
                raise RowDecodeError(
                    self.query,
                    column,
                    "",
                    f"column {column!r} has no field in {struct.__name__}; "
                    f"add a field or drop the column (fields: {', '.join(fields)})",
                )
            if not fits(oid, field.type):
                raise RowDecodeError(
                    self.query,
                    column,
                    field.name,
                    f"column {column!r} ({pg_type_name(oid)}) does not fit "
                    f"{struct.__name__}.{field.name} ({describe_type(field.type)}); "
                    f"make the field '{python_type_label(oid)}'",
                )
            conv = None
            if needs_convert(oid, field.type):
                conv = self._converter(struct, field, column, oid)
            allowed = _literal_values(field.type)
            not_null = allowed is None and not _takes_none(field.type)
            columns.append(_Column(i, column, oid, field, conv, allowed, not_null))
        present = {c.field.name for c in columns}
        missing = [f.name for f in info.fields if f.required and f.name not in present]
        if missing:
            raise RowDecodeError(
                self.query,
                "",
                missing[0],
                f"{struct.__name__}.{missing[0]} has no column in the result "
                f"(columns: {', '.join(names[i] for i in keep)}); select it or give "
                "the field a default",
            )
        if self.strict:
            return self._strict_maker(struct, info, columns, names)
        fail = _failure(self.query, struct.__name__, columns)
        return _compile_maker(
            struct,
            columns,
            positional=self._positional(struct, columns),
            ncolumns=len(names),
            fail=fail,
            label=self.query,
        )

    def _converter(
        self, struct: type[msgspec.Struct], field: mi.Field, column: str, oid: int
    ) -> Callable[[Any], Any]:
        """``msgspec.convert`` into *field*'s type, failing as a ``RowDecodeError``."""
        hints = msgspec.structs.fields(struct)
        target = next(f.type for f in hints if f.name == field.name)
        query, where = self.query, f"{struct.__name__}.{field.name}"
        wanted = describe_type(field.type)

        def convert(value: Any) -> Any:
            try:
                return msgspec.convert(value, type=target)
            except msgspec.ValidationError as exc:
                raise RowDecodeError(
                    query,
                    column,
                    field.name,
                    f"column {column!r} ({pg_type_name(oid)}) does not fit "
                    f"{where} ({wanted}): {exc}",
                ) from exc

        return convert

    @staticmethod
    def _positional(struct: type[msgspec.Struct], columns: list[_Column]) -> bool:
        try:
            params = list(inspect.signature(struct).parameters.values())
        except ValueError:  # a defstruct field named by a keyword ('class')
            return False
        if any(p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params):
            return False
        order = [c.field.name for c in columns]
        indexes = [c.at for c in columns]
        return order == [p.name for p in params[: len(order)]] and indexes == list(
            range(len(indexes))
        )

    def _strict_maker(
        self,
        struct: type[msgspec.Struct],
        info: mi.StructType,
        columns: list[_Column],
        names: list[str],
    ) -> RowMaker:
        encode = {f.name: f.encode_name for f in info.fields}
        pairs = [(c.at, encode[c.field.name], c.field.name) for c in columns]
        by_encoded = {enc: (names[i], field) for i, enc, field in pairs}
        query = self.query

        def make(values: Sequence[Any]) -> Any:
            try:
                return msgspec.convert(
                    {enc: values[i] for i, enc, _ in pairs},
                    struct,
                    from_attributes=False,
                )
            except msgspec.ValidationError as exc:
                found = re.search(r"at `\$\.(\w+)", str(exc))
                column, field = (
                    by_encoded.get(found.group(1), ("", "")) if found else ("", "")
                )
                raise RowDecodeError(
                    query,
                    column,
                    field,
                    f"column {column!r} does not fit {struct.__name__}.{field}: {exc}",
                ) from exc

        return make


def _no_row(values: Sequence[Any]) -> None:
    return None


def _decode(name: Buffer | None) -> str:
    return bytes(name).decode() if name is not None else ""
