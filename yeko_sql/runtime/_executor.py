"""Run one compiled query on a psycopg connection and shape its result by kind.

``Runner`` holds what a query needs at call time, worked out once: its
compiled SQL, parameter order and cached row factory. ``Runner.call`` is the
whole call as one generator of libpq steps (``statements.execute``), which
``run`` drives with ``Connection.wait`` and ``run_async`` with
``AsyncConnection.wait``. Streams go through psycopg cursors (``streams``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import abc
from psycopg.abc import PQGen
from psycopg.pq import ExecStatus
from psycopg.pq.abc import PGresult

from yeko_sql.errors import NoRowError, ParameterError, RowDecodeError, TooManyRowsError
from yeko_sql.query.compiler import PAGE_ARGS, Query
from yeko_sql.query.kinds import Kind
from yeko_sql.query.optional import Template
from yeko_sql.query.parser import parse_duration
from yeko_sql.query.sorting import SORT_PARAM
from yeko_sql.runtime._libpq import AnyConnection, execute
from yeko_sql.runtime.pagination import (
    MAX_KEYSET_LIMIT,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    TOTAL_COLUMN,
    KeysetPage,
    Page,
    limit_offset,
)
from yeko_sql.runtime.rows import StructRows

__all__ = ["Runner", "add_note"]

_TUPLES_OK = ExecStatus.TUPLES_OK

_IDLE = psycopg.pq.TransactionStatus.IDLE

# ``-- timeout:``: the statement runs under its own statement_timeout, SET
# LOCAL in the caller's transaction (one is opened around a single call), and
# the caller's value is put back after it.
_TIMEOUT_SET = (
    "/* yeko:timeout */ SELECT current_setting('statement_timeout'), "
    "set_config('statement_timeout', $1, true)"
)
_TIMEOUT_RESTORE = (
    "/* yeko:timeout.restore */ SELECT set_config('statement_timeout', $1, true)"
)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Row"


def add_note(exc: BaseException, query: Query[Any], sql: str | None = None) -> None:
    """Note on a PostgreSQL error which named query raised it, and where.

    When the server reports a position, the note points at that line of the
    ``.sql`` file; otherwise at the query's header.
    """
    line = query.line
    diag = getattr(exc, "diag", None)
    position = diag.statement_position if diag is not None else None
    if position:
        line = query.source_line(position, sql)
    exc.add_note(f"while running yeko:{query.qualname} ({query.path}:{line})")


class Runner:
    """One query, ready to run: compiled SQL, parameter order, row factory."""

    __slots__ = (
        "_picked",
        "call_params",
        "chooses",
        "kind",
        "optional",
        "params",
        "qualname",
        "query",
        "rows",
        "sql",
        "timeout_ms",
        "variants",
    )

    def __init__(self, query: Query[Any], *, strict: bool = False) -> None:
        self.query = query
        self.qualname = query.qualname
        self.kind = query.kind
        self.sql = query.compiled
        self.params = query.params
        self.rows = StructRows(
            query.qualname,
            query.returns if isinstance(query.returns, type) else None,
            derived_name=_camel(query.name),
            skip_total=query.kind is Kind.PAGE,
            strict=strict,
        )
        self.call_params = query.call_params
        self.variants = query.variants
        self.optional = query.optional
        # A sort variant or an optional block: each call picks its statement.
        self.chooses = bool(self.variants or self.optional)
        self._picked: dict[tuple[str | None, frozenset[int]], Runner] = {}
        timeout = query.headers.get("timeout")
        self.timeout_ms = (
            None
            if timeout is None
            else max(1, round(parse_duration(timeout).total_seconds() * 1000))
        )

    # -- binding (pure) ------------------------------------------------------

    def pick(self, kwargs: Mapping[str, object]) -> tuple[Runner, dict[str, object]]:
        """The runner of the statement *kwargs* ask for, and what it binds.

        ``sort`` names a sort variant (default: the first); an optional
        parameter that is missing or None leaves its ``[[ … ]]`` block out and
        is not bound. Each statement's runner is made once, on first use.

        Raises:
            ParameterError: ``sort`` names no declared variant.
        """
        rest = dict(kwargs)
        sort = rest.pop(SORT_PARAM, None) if self.variants else None
        if sort is not None and (
            not isinstance(sort, str) or sort not in self.variants
        ):
            raise ParameterError(
                self.qualname,
                f"unknown sort {sort!r}",
                f"sort is one of {', '.join(map(repr, self.variants))}",
            )
        kept: frozenset[int] = frozenset()
        if (template := self.query.template) is not None:
            for name in self.optional:
                if name in rest and rest[name] is None:
                    del rest[name]
            given = frozenset(name for name in self.optional if name in rest)
            kept = template.included(given)
            if unused := given - template.kept_params(kept):
                raise self._partial_block(template, sorted(unused)[0], given)
        runner = self._picked.get((sort, kept))
        if runner is None:
            runner = self._picked[sort, kept] = self._variant(sort, rest)
        return runner, rest

    def _partial_block(
        self, template: Template, name: str, given: frozenset[str]
    ) -> ParameterError:
        """A given optional parameter whose block misses another parameter."""
        block = next(b for b in template.blocks if name in b.params)
        missing = ", ".join(repr(p) for p in sorted(block.params - given))
        return ParameterError(
            self.qualname,
            f"{name!r} is given but its optional block also needs {missing}",
            f"pass {missing} too, or leave {name!r} out (the block at "
            f"{self.query.path}:{block.line} takes all or none)",
        )

    def _variant(self, sort: str | None, rest: Mapping[str, object]) -> Runner:
        """A runner of one statement: this query's, with its own SQL and order."""
        runner = copy.copy(self)
        runner.chooses, runner._picked = False, {}
        template = self.query.template
        if template is not None:
            given = frozenset(n for n in self.optional if n in rest)
            runner.sql, runner.params = template.render(given, sort)
        elif sort is not None:
            runner.sql = self.variants[sort]
        return runner

    def bind(self, kwargs: Mapping[str, object]) -> list[object]:
        """Order *kwargs* as ``$1..$n``; fail before sending on a missing or extra one.

        Raises:
            ParameterError: a parameter is missing or unexpected.
        """
        if len(kwargs) == len(self.params):
            try:
                return [kwargs[name] for name in self.params]
            except KeyError:
                pass
        raise self._parameter_error(kwargs)

    def _parameter_error(self, kwargs: Mapping[str, object]) -> ParameterError:
        expected = self.call_params
        takes = (
            f"it takes {', '.join(expected)}" if expected else "it takes no parameters"
        )
        defaults = {*self.optional}  # what a call may leave out
        if self.variants:
            defaults.add(SORT_PARAM)
        if self.kind is Kind.PAGE:
            defaults.update(PAGE_ARGS)
        missing = [p for p in expected if p not in kwargs and p not in defaults]
        extra = [k for k in kwargs if k not in expected]
        problems = [
            f"{label} parameter{'s' if len(names) > 1 else ''} "
            + ", ".join(map(repr, names))
            for label, names in (("missing", missing), ("unexpected", extra))
            if names
        ]
        if self.optional:
            takes += f" (optional: {', '.join(self.optional)})"
        if self.kind is Kind.PAGE and {"limit", "offset"} & set(extra):
            takes += "; pass page and page_size, not limit and offset"
        return ParameterError(self.qualname, ", ".join(problems), takes)

    def bind_page(self, kwargs: Mapping[str, object]) -> tuple[list[object], int, int]:
        """Bind a ``:page`` call: *page* and *page_size* become limit and offset."""
        args = dict(kwargs)
        page, page_size = args.pop("page", 1), args.pop("page_size", 20)
        if "limit" in args or "offset" in args:
            raise self._parameter_error(kwargs)
        if (
            not isinstance(page, int)
            or not isinstance(page_size, int)
            or isinstance(page, bool)
            or isinstance(page_size, bool)
        ):
            raise ParameterError(
                self.qualname,
                "page and page_size must be integers (not bool)",
                f"got page={page!r}, page_size={page_size!r}",
            )
        try:
            args["limit"], args["offset"] = limit_offset(page, page_size)
        except ValueError as exc:
            raise ParameterError(
                self.qualname,
                str(exc),
                f"page is 1..{MAX_PAGE:,}, page_size 1..{MAX_PAGE_SIZE}; "
                "use a :keyset query to go deeper",
            ) from None
        return self.bind(args), page, page_size

    def bind_keyset(self, kwargs: Mapping[str, object]) -> tuple[list[object], int]:
        """Bind a ``:keyset`` call, asking for one row more than *limit*.

        Raises:
            ParameterError: *limit* is not an integer in ``1..MAX_KEYSET_LIMIT``.
        """
        limit = kwargs.get("limit")
        if (
            not isinstance(limit, int)
            or isinstance(limit, bool)
            or not 1 <= limit <= MAX_KEYSET_LIMIT
        ):
            raise ParameterError(
                self.qualname,
                f"limit must be an integer within 1..{MAX_KEYSET_LIMIT}, "
                f"got {limit!r}",
                "fetch more pages rather than one larger page",
            )
        return self.bind({**kwargs, "limit": limit + 1}), limit

    # -- shaping (pure) ------------------------------------------------------

    def total(self, res: PGresult) -> int:
        """Read the window-function total of a ``:page`` result (0 rows: 0)."""
        if res.ntuples == 0:
            return 0
        wanted = TOTAL_COLUMN.encode()
        index = next((i for i in range(res.nfields) if res.fname(i) == wanted), -1)
        if index < 0:
            raise RowDecodeError(
                self.qualname,
                TOTAL_COLUMN,
                "",
                f"a :page query must select 'count(*) OVER () AS {TOTAL_COLUMN}'",
            )
        value = res.get_value(0, index)
        return int(bytes(value)) if value is not None else 0

    # -- running: one generator, driven by ``conn.wait`` (sync or asyncio) ---

    def run(self, conn: psycopg.Connection[Any], kwargs: Mapping[str, object]) -> Any:
        """Run the query on *conn* with *kwargs* and return its shaped result."""
        with conn.lock:
            return conn.wait(self.call(conn, kwargs))

    async def run_async(
        self, conn: psycopg.AsyncConnection[Any], kwargs: Mapping[str, object]
    ) -> Any:
        """The asyncio twin of ``run``."""
        async with conn.lock:
            return await conn.wait(self.call(conn, kwargs))

    def call(self, conn: AnyConnection, kwargs: Mapping[str, object]) -> PQGen[Any]:
        """The whole call as libpq steps: bind, execute, shape (see ``statements``)."""
        runner = self
        try:
            if self.chooses:
                runner, kwargs = self.pick(kwargs)
            if runner.timeout_ms is not None:
                return (yield from runner._timed(conn, runner.sql, kwargs))
            return (yield from runner._call(conn, runner.sql, kwargs))
        except (psycopg.Error, UnicodeEncodeError) as exc:
            add_note(exc, self.query, runner.sql)
            raise

    def _timed(
        self, conn: AnyConnection, sql: str, kwargs: Mapping[str, object]
    ) -> PQGen[Any]:
        """Run the call under its ``-- timeout:`` (``SET LOCAL statement_timeout``).

        Outside a transaction the call gets one of its own (BEGIN, the
        setting, the statement, COMMIT); inside, the caller's timeout is put
        back after the statement.
        """
        own = conn.pgconn.transaction_status == _IDLE
        if own:
            yield from execute(conn, "BEGIN", ())
        try:
            _, tx = yield from execute(conn, _TIMEOUT_SET, [str(self.timeout_ms)])
            previous = tx.load_row(0, tuple)[0]
            result = yield from self._call(conn, sql, kwargs)
            yield from execute(
                conn, "COMMIT" if own else _TIMEOUT_RESTORE, () if own else [previous]
            )
        except Exception:
            if own and conn.pgconn.transaction_status != _IDLE:
                yield from execute(conn, "ROLLBACK", ())
            raise
        return result

    def _call(  # noqa: PLR0911  (one return per kind reads best)
        self, conn: AnyConnection, sql: str, kwargs: Mapping[str, object]
    ) -> PQGen[Any]:
        kind = self.kind
        if kind is Kind.PAGE:
            return (yield from self._page(conn, sql, kwargs))
        if kind is Kind.KEYSET:
            params, limit = self.bind_keyset(kwargs)
            res, tx = yield from self._fetch(conn, sql, params)
            rows = tx.load_rows(0, res.ntuples, self.rows.for_result(res))
            return KeysetPage(
                items=rows[:limit], limit=limit, has_more=len(rows) > limit
            )
        params = self.bind(kwargs)
        if not kind.returns_rows:
            done, _ = yield from execute(conn, sql, params)
            if kind is Kind.EXECROWS:
                count = done.command_tuples
                return count if count is not None else -1
            return None
        res, tx = yield from self._fetch(conn, sql, params)
        if kind is Kind.SCALAR:
            return tx.load_row(0, tuple)[0] if res.ntuples else None
        if kind is Kind.MANY:
            return tx.load_rows(0, res.ntuples, self.rows.for_result(res))
        if not res.ntuples:
            if kind is Kind.ONE:
                raise NoRowError(self.qualname, "no row matched the parameters")
            return None
        if kind is Kind.ONE and res.ntuples > 1:
            raise TooManyRowsError(self.qualname, res.ntuples)
        return tx.load_row(0, self.rows.for_result(res))

    def _fetch(
        self, conn: AnyConnection, sql: str, params: list[object]
    ) -> PQGen[tuple[PGresult, abc.Transformer]]:
        """Execute a statement whose rows the call returns; refuse one without."""
        res, tx = yield from execute(conn, sql, params)
        if res.status != _TUPLES_OK:
            status = (res.command_status or b"").decode(errors="replace")
            raise psycopg.ProgrammingError(
                f"a :{self.kind.value} query must return rows, "
                f"and this statement returned none ({status}); "
                "use :exec or :execrows, or add RETURNING"
            )
        return res, tx

    def _page(
        self, conn: AnyConnection, sql: str, kwargs: Mapping[str, object]
    ) -> PQGen[Page[Any]]:
        params, page, page_size = self.bind_page(kwargs)
        res, tx = yield from self._fetch(conn, sql, params)
        items = tx.load_rows(0, res.ntuples, self.rows.for_result(res))
        total = self.total(res)
        if not items and page > 1:
            again, _ = yield from self._fetch(conn, sql, self.page_fallback(params))
            total = self.total(again)
        return Page(items=items, total=total, page=page, page_size=page_size)

    def page_fallback(self, params: list[object]) -> list[object]:
        """Parameters for page 1 of size 1, whose row carries the total."""
        again = list(params)
        again[self.params.index("limit")] = 1
        again[self.params.index("offset")] = 0
        return again

    def stream_args(self, kwargs: Mapping[str, object]) -> tuple[str, list[object]]:
        """Choose the SQL and bind a ``:stream`` call, eagerly (before iterating).

        Raises:
            ParameterError: a parameter is missing, unexpected, or an unknown sort.
        """
        if not self.chooses:
            return self.sql, self.bind(kwargs)
        runner, rest = self.pick(kwargs)
        return runner.sql, runner.bind(rest)
