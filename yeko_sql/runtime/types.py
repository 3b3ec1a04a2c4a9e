"""PostgreSQL types as psycopg returns them, and which Struct fields they fit.

One table of type OIDs (stable across PostgreSQL versions) serves the row
decoder (``rows``), the schema check (``check``) and ``describe``, so the
three agree on what a ``timestamptz`` or a ``text[]`` may become.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from msgspec import inspect as mi

__all__ = [
    "column_python_type",
    "describe_type",
    "fits",
    "needs_convert",
    "pg_type_name",
    "python_type_label",
    "strip_none",
]

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


def needs_convert(oid: int, t: mi.Type) -> bool:
    """Whether psycopg's value must go through msgspec.convert (jsonb -> Struct)."""
    if oid not in (114, 3802, 199, 3807):
        return False
    t, _ = strip_none(t)
    if isinstance(t, _NEEDS_CONVERT):
        return True
    if isinstance(t, mi.ListType | mi.DictType):
        inner = t.item_type if isinstance(t, mi.ListType) else t.value_type
        return needs_convert(114, inner)
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


def python_type_label(oid: int) -> str:
    """The Python type a column of *oid* decodes to, as a field annotation."""
    t = column_python_type(oid)
    return getattr(t, "__name__", str(t)) if t is not Any else "Any"
