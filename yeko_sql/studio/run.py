"""Running a named query from the studio's form: values, roles, scope, writes.

Form values arrive as text; ``parse_value`` turns each into what psycopg
takes for the parameter's type (from ``describe``). A query runs through the
real runtime (``Database``) as the role it declares, else as the app's role,
inside a transaction: ``for_school`` when it takes the tenant column, so
row-level security sees the school. A query that writes runs only where writes
are allowed (``WritePolicy``) and is rolled back unless the caller asked to
commit.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import psycopg
from pglast import ast

from yeko_sql.errors import RowDecodeError, RowSecurityError, YekoSqlError
from yeko_sql.query.compiler import Query
from yeko_sql.query.kinds import Kind
from yeko_sql.runtime.database import Database
from yeko_sql.runtime.pagination import KeysetPage, Page
from yeko_sql.settings import Settings
from yeko_sql.verify._tree import parse_query, walk
from yeko_sql.verify.describe import ColumnInfo, QueryDescription

__all__ = [
    "Outcome",
    "WritePolicy",
    "call_values",
    "explain_values",
    "parse_value",
    "rows_as_csv",
    "rows_as_json",
    "run_query",
    "writes",
]

_DEV_NAME = re.compile(r"(^|[_-])(dev|develop|test|testing|demo|local|scratch)($|[_-])")
MAX_ROWS = 500
"""Rows shown (and exported) from a ``:many`` or ``:stream`` run."""


class RolledBack(Exception):  # noqa: N818  (a control-flow signal, not an error)
    """Raised inside the transaction to roll a run back on purpose."""


@dataclass(frozen=True, slots=True)
class WritePolicy:
    """Where a query that writes may run, and whether it may commit.

    Writes run on a database whose name says it is a development one
    (``yeko_dev``, ``app_test``, ``yeko_demo``, …), or on any database when
    the studio was started with ``--allow-writes``.
    """

    dbname: str
    allow_writes: bool = False

    @property
    def dev(self) -> bool:
        """Whether the database's name marks it as a development database."""
        return bool(_DEV_NAME.search(self.dbname.lower()))

    def refusal(self) -> str | None:
        """Why a write may not run here, or None."""
        if self.dev or self.allow_writes:
            return None
        return (
            f"{self.dbname!r} is not named as a development database (dev, test,"
            " demo, local): writes are refused; start the studio with"
            " --allow-writes to run them"
        )


@dataclass(slots=True)
class Outcome:
    """One run: the rows as columns and cells, or the value, and what happened."""

    columns: list[str] = field(default_factory=list)
    rows: list[list[object]] = field(default_factory=list)
    value: object = None
    has_value: bool = False
    total: int | None = None  # a :page query's total
    page: int | None = None
    pages: int | None = None
    has_more: bool | None = None
    truncated: bool = False
    next_seek: dict[str, str] = field(default_factory=dict)  # a :keyset next page
    committed: bool = False
    rolled_back: bool = False
    error: str | None = None
    mismatch: str | None = None  # the column that does not fit its Struct field
    elapsed_ms: float = 0.0


def writes(query: Query[object]) -> bool:
    """Whether *query* changes data: an INSERT, UPDATE, DELETE or MERGE anywhere."""
    if query.kind in (Kind.EXEC, Kind.EXECROWS):
        return True
    stmt = parse_query(query)
    modifying = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)
    return stmt is not None and any(isinstance(n, modifying) for n in walk(stmt))


def parse_value(text: str, python_type: str) -> object:
    """Form text as the Python value psycopg binds for *python_type*.

    Raises:
        ValueError: the text is not a value of that type.
    """
    kind = python_type.removesuffix(" | None")
    if kind.startswith("list["):
        inner = kind[5:-1]
        stripped = text.strip()
        items = (
            json.loads(stripped)
            if stripped.startswith("[")
            else [p.strip() for p in stripped.split(",") if p.strip()]
        )
        if not isinstance(items, list):
            raise ValueError(f"{text!r} is not a list")
        return [
            parse_value(i if isinstance(i, str) else json.dumps(i), inner)
            for i in items
        ]
    converters: dict[str, Any] = {
        "int": int,
        "float": float,
        "Decimal": decimal.Decimal,
        "bool": _boolean,
        "date": dt.date.fromisoformat,
        "datetime": dt.datetime.fromisoformat,
        "time": dt.time.fromisoformat,
        "timedelta": _interval,
        "UUID": uuid.UUID,
        "Jsonb": json.loads,
        "Json": json.loads,
        "dict[str, Any]": json.loads,
        "Any": json.loads,
    }
    convert = converters.get(kind)
    if convert is None:
        return text
    try:
        return convert(text.strip())
    except (ValueError, decimal.InvalidOperation, json.JSONDecodeError) as exc:
        raise ValueError(f"{text!r} is not a {kind}: {exc}") from exc


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in {"true", "t", "yes", "on", "1"}:
        return True
    if lowered in {"false", "f", "no", "off", "0"}:
        return False
    raise ValueError("expected true or false")


def _interval(text: str) -> dt.timedelta:
    return dt.timedelta(seconds=float(text))


def call_values(
    query: Query[object],
    described: QueryDescription | None,
    form: Mapping[str, str],
) -> dict[str, object]:
    """The keyword arguments of a call, from the form's ``p:<name>`` fields.

    A parameter whose ``null:<name>`` box is ticked is None; a ``:page``
    query takes ``page``/``page_size`` instead of ``limit``/``offset``; a
    sort variant is ``sort``.

    Raises:
        ValueError: a value does not parse; the message names the parameter.
    """
    types = {p.name: p.python_type for p in described.params} if described else {}
    skip = {"limit", "offset"} if query.kind == Kind.PAGE else set()
    values: dict[str, object] = {}
    for name in query.params:
        if name in skip:
            continue
        if form.get(f"null:{name}"):
            values[name] = None
            continue
        text = form.get(f"p:{name}", "")
        if text == "" and name in query.optional:
            continue
        try:
            values[name] = parse_value(text, types.get(name, "str"))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from exc
    if query.kind == Kind.PAGE:
        values["page"] = int(form.get("page") or 1)
        values["page_size"] = int(form.get("page_size") or 20)
    if form.get("sort"):
        values["sort"] = form["sort"]
    return values


def explain_values(
    query: Query[object], values: Mapping[str, object]
) -> dict[str, object]:
    """The statement's own parameters for EXPLAIN: ``limit``/``offset`` of a page."""
    given = {k: v for k, v in values.items() if k not in {"page", "page_size", "sort"}}
    if query.kind == Kind.PAGE:
        size = int(values.get("page_size") or 20)  # type: ignore[call-overload]
        given["limit"] = size
        given["offset"] = (int(values.get("page") or 1) - 1) * size  # type: ignore[call-overload]
    return given


def run_query(
    db: Database,
    query: Query[object],
    values: Mapping[str, object],
    *,
    school: str | None,
    commit: bool,
) -> Outcome:
    """Call *query* on *db* in a transaction; roll back unless *commit*."""
    outcome = Outcome()
    started = dt.datetime.now(dt.UTC)
    try:
        with _Scope(db, school) as tx:
            call = getattr(getattr(tx, query.namespace), query.name)
            result = call(**values)
            _collect(outcome, query, result)
            if not commit:
                raise RolledBack  # noqa: TRY301  (rolls the transaction back)
        outcome.committed = True
    except RolledBack:
        outcome.rolled_back = True
    except RowDecodeError as exc:
        outcome.mismatch = exc.column
        outcome.error = str(exc)
    except (psycopg.Error, YekoSqlError, ValueError, TypeError) as exc:
        outcome.error = f"{type(exc).__name__}: {exc}".strip()
    elapsed = dt.datetime.now(dt.UTC) - started
    outcome.elapsed_ms = elapsed.total_seconds() * 1000
    return outcome


class _Scope:
    """``for_school`` when a school is given and row security applies."""

    def __init__(self, db: Database, school: str | None) -> None:
        self.db, self.school = db, school

    def __enter__(self) -> Any:
        if self.school:
            try:
                self._cm: Any = self.db.for_school(self.school)
                return self._cm.__enter__()
            except RowSecurityError:
                pass  # the owner or a superuser: the query's own filter scopes it
        self._cm = self.db.transaction()
        return self._cm.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self._cm.__exit__(*exc)


def _collect(outcome: Outcome, query: Query[object], result: object) -> None:
    if isinstance(result, Page):
        outcome.total, outcome.page = result.total, result.page
        outcome.pages = result.pages
        _rows(outcome, iter(result.items))
    elif isinstance(result, KeysetPage):
        outcome.has_more = result.has_more
        _rows(outcome, iter(result.items))
        if result.has_more and outcome.rows:
            outcome.next_seek = _next_seek(query, outcome)
    elif query.kind in (Kind.MANY, Kind.STREAM):
        _rows(outcome, iter(result))  # type: ignore[call-overload]
    elif query.kind in (Kind.ONE, Kind.OPT):
        _rows(outcome, iter([] if result is None else [result]))
    else:
        outcome.value, outcome.has_value = result, True


_SEEK_PREFIXES = ("after_", "before_", "last_")


def _next_seek(query: Query[object], outcome: Outcome) -> dict[str, str]:
    """The form fields of the next :keyset page: each seek parameter named
    after a column (``after_id`` for ``id``) takes the last row's value."""
    last = dict(zip(outcome.columns, outcome.rows[-1], strict=False))
    seek = {}
    for name in query.params:
        for prefix in _SEEK_PREFIXES:
            column = name.removeprefix(prefix)
            if name.startswith(prefix) and column in last:
                value = msgspec.to_builtins(last[column])
                seek[f"p:{name}"] = (
                    value if isinstance(value, str) else json.dumps(value)
                )
    return seek


def _rows(outcome: Outcome, rows: Iterator[object]) -> None:
    for row in rows:
        if len(outcome.rows) >= MAX_ROWS:
            outcome.truncated = True
            break
        if isinstance(row, msgspec.Struct):
            names = list(row.__struct_fields__)
            if not outcome.columns:
                outcome.columns = names
            outcome.rows.append([getattr(row, n) for n in names])
        elif isinstance(row, tuple):
            outcome.rows.append(list(row))
        else:
            outcome.rows.append([row])
            outcome.columns = outcome.columns or ["value"]


def _plain(value: object) -> object:
    return msgspec.to_builtins(value)


def rows_as_json(outcome: Outcome) -> bytes:
    """The rows as a JSON array of objects (or the value)."""
    if outcome.has_value:
        return msgspec.json.encode(_plain(outcome.value))
    return msgspec.json.encode(
        [
            dict(zip(outcome.columns, map(_plain, row), strict=False))
            for row in outcome.rows
        ]
    )


def rows_as_csv(outcome: Outcome) -> str:
    """The rows as CSV with a header line; NULL is an empty field."""
    out = io.StringIO()
    writer = csv.writer(out)
    if outcome.has_value:
        writer.writerow(["value"])
        writer.writerow([_cell(outcome.value)])
    else:
        writer.writerow(outcome.columns)
        writer.writerows([[_cell(v) for v in row] for row in outcome.rows])
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    plain = _plain(value)
    return plain if isinstance(plain, str) else json.dumps(plain)


def column_info(described: QueryDescription | None) -> dict[str, ColumnInfo]:
    """The described result columns by name."""
    return {c.name: c for c in described.columns} if described else {}


def default_settings() -> Settings:
    """Small pools: the studio is one person's tool."""
    return Settings(min_size=0, max_size=2)
