"""Row factories that build msgspec Structs straight from psycopg's row values.

psycopg calls a row factory once per result and its row maker once per row.
``StructRows`` works out the column-to-field mapping once per query and result
shape (keyed by the columns' type OIDs) and compiles a maker that calls the
Struct's constructor directly: positionally when the columns line up with the
fields, else with literal keywords. No dict is built per row. With
``strict=True`` each row is instead validated by ``msgspec.convert`` (slower;
the test suite uses it so a wrong nullability shows up as a failing test).
"""

from __future__ import annotations

import inspect
import keyword
import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import msgspec
from msgspec import inspect as mi
from psycopg import Cursor
from psycopg.abc import Buffer

from yeko_sql.errors import RowDecodeError
from yeko_sql.pagination import TOTAL_COLUMN

__all__ = [
    "StructRows",
    "column_python_type",
    "derive_struct",
    "describe_type",
    "fits",
    "pg_type_name",
    "strip_none",
]

RowMaker = Callable[[Sequence[Any]], Any]

# PostgreSQL type OIDs (pg_type.oid, stable across versions) -> what psycopg returns.
_TEXT = {25, 1043, 1042, 19, 18}  # text, varchar, bpchar, name, "char"
_INT = {20, 21, 23, 26}  # int8, int2, int4, oid
_SCALARS: dict[int, tuple[type[mi.Type], ...]] = {
    **dict.fromkeys(_TEXT, (mi.StrType, mi.LiteralType)),
    **dict.fromkeys(_INT, (mi.IntType, mi.LiteralType)),
    1700: (mi.DecimalType,),  # numeric
    700: (mi.FloatType,),  # float4
    701: (mi.FloatType,),  # float8
    16: (mi.BoolType,),
    1184: (mi.DateTimeType,),  # timestamptz
    1114: (mi.DateTimeType,),  # timestamp
    1082: (mi.DateType,),
    1083: (mi.TimeType,),
    1266: (mi.TimeType,),  # timetz
    1186: (mi.TimeDeltaType,),  # interval
    2950: (mi.UUIDType,),
    17: (mi.BytesType, mi.ByteArrayType, mi.MemoryViewType),
    114: (
        mi.DictType,
        mi.ListType,
        mi.StructType,
        mi.StrType,
        mi.IntType,
        mi.FloatType,
        mi.BoolType,
        mi.TypedDictType,
        mi.DataclassType,
    ),  # json
}
_SCALARS[3802] = _SCALARS[114]  # jsonb
# array OID -> element OID, for the types above
_ARRAYS = {
    1009: 25,
    1015: 1043,
    1014: 1042,
    1016: 20,
    1005: 21,
    1007: 23,
    1231: 1700,
    1021: 700,
    1022: 701,
    1000: 16,
    1185: 1184,
    1115: 1114,
    1182: 1082,
    2951: 2950,
    3807: 3802,
    199: 114,
}
_PYTHON = {
    mi.StrType: "str",
    mi.IntType: "int",
    mi.DecimalType: "Decimal",
    mi.FloatType: "float",
    mi.BoolType: "bool",
    mi.DateTimeType: "datetime",
    mi.DateType: "date",
    mi.TimeType: "time",
    mi.TimeDeltaType: "timedelta",
    mi.UUIDType: "UUID",
    mi.BytesType: "bytes",
    mi.DictType: "dict",
}
_NEEDS_CONVERT = (mi.StructType, mi.TypedDictType, mi.DataclassType)


def strip_none(t: mi.Type) -> tuple[mi.Type, bool]:
    """Split ``T | None`` into ``(T, True)``; anything else into ``(t, False)``."""
    if isinstance(t, mi.UnionType):
        rest = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if len(rest) == 1:
            return rest[0], len(rest) != len(t.types)
        return t, len(rest) != len(t.types)
    return t, False


def fits(oid: int, t: mi.Type) -> bool:
    """Whether psycopg's value for a column of type *oid* can be a field of type *t*."""
    t, _ = strip_none(t)
    if isinstance(t, mi.AnyType):
        return True
    if isinstance(t, mi.UnionType):
        return any(fits(oid, m) for m in t.types if not isinstance(m, mi.NoneType))
    if oid in _ARRAYS:
        if not isinstance(t, mi.ListType | mi.TupleType | mi.VarTupleType):
            return False
        item = (
            t.item_type
            if isinstance(t, mi.ListType | mi.VarTupleType)
            else mi.AnyType()
        )
        return fits(_ARRAYS[oid], item)
    accepted = _SCALARS.get(oid)
    return accepted is None or isinstance(t, accepted)  # unknown OIDs: trust the Struct


def _needs_convert(oid: int, t: mi.Type) -> bool:
    """Whether psycopg's value must go through msgspec.convert (jsonb -> Struct)."""
    if oid not in (114, 3802, 199, 3807):
        return False
    t, _ = strip_none(t)
    if isinstance(t, _NEEDS_CONVERT):
        return True
    if isinstance(t, mi.ListType | mi.DictType):
        inner = t.item_type if isinstance(t, mi.ListType) else t.value_type
        return _needs_convert(114, inner)
    return isinstance(t, mi.UnionType)


def describe_type(t: mi.Type) -> str:
    """A field type as users write it: ``datetime | None``, ``Literal['a']``."""
    t, optional = strip_none(t)
    name = _PYTHON.get(type(t), type(t).__name__.removesuffix("Type").lower())
    if isinstance(t, mi.StructType):
        name = t.cls.__name__
    elif isinstance(t, mi.LiteralType):
        name = "Literal[" + ", ".join(map(repr, t.values)) + "]"
    return f"{name} | None" if optional else name


def column_python_type(oid: int) -> Any:
    """The Python type psycopg returns for *oid* (``object`` when unknown)."""
    from datetime import date, datetime, time, timedelta  # noqa: PLC0415
    from decimal import Decimal  # noqa: PLC0415
    from uuid import UUID  # noqa: PLC0415

    simple: dict[int, Any] = {
        **dict.fromkeys(_TEXT, str),
        **dict.fromkeys(_INT, int),
        1700: Decimal,
        700: float,
        701: float,
        16: bool,
        1184: datetime,
        1114: datetime,
        1082: date,
        1083: time,
        1266: time,
        1186: timedelta,
        2950: UUID,
        17: bytes,
        114: Any,
        3802: Any,
    }
    if oid in _ARRAYS:
        return list[simple.get(_ARRAYS[oid], object)]  # type: ignore[misc]
    return simple.get(oid, object)


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


def _compile_maker(
    struct: type[msgspec.Struct],
    mapping: list[tuple[int, str, Callable[[Any], Any] | None]],
    positional: bool,
    ncolumns: int,
) -> RowMaker:
    if (
        positional
        and len(mapping) == ncolumns
        and all(c is None for _, _, c in mapping)
    ):
        return lambda values: struct(*values)
    env: dict[str, Any] = {"S": struct}
    args = []
    for index, field, conv in mapping:
        value = f"v[{index}]"
        if conv is not None:
            env[f"c{index}"] = conv
            value = f"c{index}({value})"
        args.append(value if positional else f"{field}={value}")
    # A generated lambda calls the constructor with literal keywords: the only
    # way to reach kw_only Structs without a dict per row (measured 4x faster).
    maker: RowMaker = eval(f"lambda v: S({', '.join(args)})", env)  # noqa: S307
    return maker


class StructRows:
    """A psycopg row factory decoding one query's rows into *struct*.

    *struct* None derives a Struct from the first result's columns. Makers are
    cached per result shape, so the mapping is worked out once.
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
        self._cache: dict[tuple[int, ...], RowMaker] = {}

    def __call__(self, cursor: Cursor[Any]) -> RowMaker:
        """Return the row maker for *cursor*'s current result (psycopg's protocol)."""
        res = cursor.pgresult
        if res is None or not res.nfields:
            return _no_row
        key = tuple(res.ftype(i) for i in range(res.nfields))
        maker = self._cache.get(key)
        if maker is None:
            names = [_decode(res.fname(i)) for i in range(res.nfields)]
            maker = self._cache[key] = self._build(names, list(key))
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
        mapping: list[tuple[int, str, Callable[[Any], Any] | None]] = []
        for i in keep:
            column, oid = names[i], oids[i]
            field = fields.get(column)
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
                    f"make the field '{_python_type_label(oid)}'",
                )
            conv = None
            if _needs_convert(oid, field.type):
                conv = self._converter(struct, field.name)
            mapping.append((i, field.name, conv))
        present = {name for _, name, _ in mapping}
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
            return self._strict_maker(struct, info, mapping, names)
        positional = self._positional(struct, mapping)
        return _compile_maker(struct, mapping, positional, len(names))

    @staticmethod
    def _converter(struct: type[msgspec.Struct], field: str) -> Callable[[Any], Any]:
        hints = msgspec.structs.fields(struct)
        target = next(f.type for f in hints if f.name == field)
        return partial(msgspec.convert, type=target)

    @staticmethod
    def _positional(
        struct: type[msgspec.Struct], mapping: list[tuple[int, str, Any]]
    ) -> bool:
        params = list(inspect.signature(struct).parameters.values())
        if any(p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params):
            return False
        order = [name for _, name, _ in mapping]
        indexes = [i for i, _, _ in mapping]
        return order == [p.name for p in params[: len(order)]] and indexes == list(
            range(len(indexes))
        )

    def _strict_maker(
        self,
        struct: type[msgspec.Struct],
        info: mi.StructType,
        mapping: list[tuple[int, str, Any]],
        names: list[str],
    ) -> RowMaker:
        encode = {f.name: f.encode_name for f in info.fields}
        pairs = [(i, encode[field], field) for i, field, _ in mapping]
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


_PG_NAMES = {
    25: "text",
    1043: "varchar",
    1042: "bpchar",
    19: "name",
    20: "int8",
    21: "int2",
    23: "int4",
    26: "oid",
    1700: "numeric",
    700: "float4",
    701: "float8",
    16: "bool",
    1184: "timestamptz",
    1114: "timestamp",
    1082: "date",
    1083: "time",
    1186: "interval",
    2950: "uuid",
    17: "bytea",
    114: "json",
    3802: "jsonb",
}


def pg_type_name(oid: int) -> str:
    """The short PostgreSQL name of a type OID (``timestamptz``, ``text[]``)."""
    if oid in _ARRAYS:
        return _PG_NAMES.get(_ARRAYS[oid], str(_ARRAYS[oid])) + "[]"
    return _PG_NAMES.get(oid, f"oid {oid}")


def _python_type_label(oid: int) -> str:
    t = column_python_type(oid)
    return getattr(t, "__name__", str(t)) if t is not Any else "Any"
