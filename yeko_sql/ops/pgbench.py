"""Drive a server with pgbench, using the very queries of our ``.sql`` files.

``:name`` is pgbench's variable syntax too, so a query body goes into a
pgbench script as written (``Query.sql``, not the compiled ``$n`` text). Each
parameter gets its value from a mapping of representative values:

- numbers and booleans become ``\\set name <value>`` lines of the script;
- text, arrays (``{a,b}``), dates, decimals and JSON cannot be written as a
  pgbench expression, so they are passed as ``-D name=value`` definitions.

Scripts run with ``-M prepared``: pgbench then sends every variable as a
server-side parameter, the way yeko-sql does, so no value is quoted into SQL.

pgbench finds variables by a plain scan for ``:`` followed by name
characters; it does not know strings, comments or dollar quotes. A body where
that scan and our lexer disagree (``':x'`` in a literal, ``-- see :x`` in a
comment, an ``arr[lo:hi]`` slice) is refused rather than sent wrong.
"""

from __future__ import annotations

import datetime
import decimal
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from yeko_sql.errors import YekoSqlError
from yeko_sql.ops.devserver import find_bindir
from yeko_sql.query._lexer import find_placeholders, line_of
from yeko_sql.query.compiler import Query
from yeko_sql.query.sorting import SORT_PARAM, parse_sort_header

__all__ = [
    "PgbenchResult",
    "PgbenchScript",
    "build_script",
    "pgbench_variables",
    "run_pgbench",
]

_NAME_CHARS = re.compile(r"[A-Za-z0-9_\x80-\U0010ffff]+")
_SERVICE_USER = "postgres"
_COUNT = re.compile(r"^number of transactions actually processed: (\d+)", re.M)
_FAILED = re.compile(r"^number of failed transactions: (\d+)", re.M)
_TPS = re.compile(r"^tps = ([\d.]+)", re.M)
_LATENCY = re.compile(r"^latency average = ([\d.]+) ms", re.M)
_ARRAY_SPECIAL = re.compile(r'[\s{},"\\]')


class PgbenchScript(msgspec.Struct, frozen=True, kw_only=True):
    """A pgbench script and the ``-D`` definitions it needs."""

    text: str
    defines: dict[str, str]
    """Variables \\set cannot express (text, arrays, dates): ``-D name=value``."""
    queries: tuple[str, ...]
    """Qualified names of the queries, in script order."""

    def args(self) -> list[str]:
        """pgbench options for this script: ``-M prepared`` and the ``-D`` pairs."""
        args = ["-M", "prepared"]
        for name, value in self.defines.items():
            args += ["-D", f"{name}={value}"]
        return args


class PgbenchResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one pgbench run reported."""

    returncode: int
    transactions: int
    failed: int
    tps: float
    latency_ms: float | None
    clients: int
    output: str
    """pgbench's stdout and stderr, for a failure message."""

    @property
    def ok(self) -> bool:
        """Every client ran to the end, with transactions and no failures."""
        return self.returncode == 0 and self.transactions > 0 and self.failed == 0


def pgbench_variables(sql: str) -> list[tuple[str, int]]:
    """The ``(name, offset)`` of every ``:name`` pgbench's own scan would bind.

    pgbench (``parseQuery`` with ``-M prepared``) takes any ``:`` followed by
    letters, digits, ``_`` or non-ASCII characters as a variable and skips a
    run of ``:`` followed by none (``::text``), whatever the context.
    """
    found: list[tuple[str, int]] = []
    i = sql.find(":")
    while i >= 0:
        name = _NAME_CHARS.match(sql, i + 1)
        if name is None:
            while i < len(sql) and sql[i] == ":":
                i += 1
        else:
            found.append((name.group(), i))
            i = name.end()
        i = sql.find(":", i)
    return found


def _format(name: str, value: object, query: str) -> tuple[str, str]:  # noqa: PLR0911
    """Return ``("set", expr)`` or ``("define", text)`` for one value."""
    if value is None:
        raise YekoSqlError(
            f"pgbench: {query}: parameter {name!r} is None; pgbench cannot bind "
            "NULL, give a representative non-NULL value"
        )
    if isinstance(value, bool):
        return "set", "true" if value else "false"
    if isinstance(value, int):
        return "set", str(value)
    if isinstance(value, float) and math.isfinite(value):
        return "set", repr(value)
    if isinstance(value, list | tuple):
        return "define", _array(name, value, query)
    if isinstance(value, dict | msgspec.Struct):
        return "define", msgspec.json.encode(value).decode()
    if isinstance(value, datetime.date | datetime.time):
        return "define", value.isoformat()
    if isinstance(value, str | decimal.Decimal | float):
        return "define", str(value)
    raise YekoSqlError(
        f"pgbench: {query}: parameter {name!r} has a {type(value).__name__}, "
        "which a pgbench variable cannot hold; pass text, a number or a list"
    )


def _array(name: str, items: Sequence[object], query: str) -> str:
    parts: list[str] = []
    for item in items:
        if isinstance(item, list | tuple):
            parts.append(_array(name, item, query))
            continue
        text = "NULL" if item is None else _format(name, item, query)[1]
        if item is not None and (
            not text or text.upper() == "NULL" or _ARRAY_SPECIAL.search(text)
        ):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(text)
    return "{" + ",".join(parts) + "}"


def _body(query: Query[Any], values: Mapping[str, object]) -> str:
    """The query as written, with ``:sort`` replaced by a declared variant."""
    body = query.sql.rstrip()
    if "sort" in query.headers:
        line = query.body_line
        variants = parse_sort_header(query.headers["sort"], path=query.path, line=line)
        choice = values.get(SORT_PARAM, next(iter(variants)))
        if not isinstance(choice, str) or choice not in variants:
            raise YekoSqlError(
                f"pgbench: {query.qualname}: sort {choice!r} is not one of "
                f"{', '.join(map(repr, variants))}"
            )
        found = find_placeholders(body, path=query.path, line=line)
        mark = next(p for p in found if p.name == SORT_PARAM)
        body = body[: mark.start] + variants[choice] + body[mark.end :]
    return body if body.endswith(";") else body + ";"


def _check_scan(query: Query[Any], body: str) -> None:
    """Refuse a body where pgbench would bind a ``:name`` our lexer does not."""
    ours = {p.start for p in find_placeholders(body, path=query.path)}
    for name, offset in pgbench_variables(body):
        if offset not in ours:
            line = line_of(body, offset, query.body_line)
            raise YekoSqlError(
                f"pgbench: {query.path}:{line}: pgbench would read ':{name}' in "
                f"{query.qualname} as a variable, but it is inside a string, "
                "comment, quoted name or slice; leave this query out of the script"
            )


def build_script(
    queries: Iterable[Query[Any]],
    values: Mapping[str, object],
    *,
    transaction: bool = False,
) -> PgbenchScript:
    """A pgbench script running *queries* in order with parameters from *values*.

    With *transaction* the queries run inside one ``BEGIN`` … ``END``;
    otherwise each is its own (autocommit) statement, as ``db.<ns>.<q>()``.
    A query with ``-- sort:`` runs its first variant, or ``values["sort"]``;
    one with ``[[ … ]]`` blocks keeps those whose parameters *values* gives.

    Raises:
        YekoSqlError: a parameter has no value (the message lists them all),
            a value pgbench cannot hold (None, an object), or a body pgbench
            would read differently from yeko-sql.
    """
    sets: dict[str, str] = {}
    defines: dict[str, str] = {}
    commands: list[str] = []
    names: list[str] = []
    for written in queries:
        query = written.statement_for(values)  # the [[ … ]] blocks values keep
        params = [p for p in query.params if p != SORT_PARAM or not query.variants]
        if missing := [p for p in params if p not in values]:
            raise YekoSqlError(
                f"pgbench: {query.qualname} takes {', '.join(params)}; "
                f"no value for {', '.join(map(repr, missing))}"
            )
        for name in params:
            how, text = _format(name, values[name], query.qualname)
            (sets if how == "set" else defines)[name] = text
        body = _body(query, values)
        _check_scan(query, body)
        commands.append(
            f"-- {query.qualname} from {Path(query.path).name} line {query.line}\n"
            f"{body}\n"
        )
        names.append(query.qualname)
    if not commands:
        raise YekoSqlError("pgbench: no queries to put in the script")
    lines = [f"\\set {name} {expr}\n" for name, expr in sets.items()]
    body = "".join(commands)
    if transaction:
        body = f"BEGIN;\n{body}END;\n"
    return PgbenchScript(
        text="".join(lines) + body, defines=defines, queries=tuple(names)
    )


def _command(
    url: str,
    script: PgbenchScript,
    *,
    clients: int,
    length: list[str],
    jobs: int,
    bindir: Path,
) -> list[str]:
    args = [
        str(bindir / "pgbench"),
        "-n",  # no VACUUM of pgbench's own tables: there are none
        "-c",
        str(clients),
        "-j",
        str(jobs),
        *length,
        *script.args(),
        "-f",
        "-",  # the script comes on stdin: no file the service user must read
        url,
    ]
    if os.geteuid() == 0:
        # As root, run as the service user, as the dev server does.
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        args = [runuser, "-u", _SERVICE_USER, "--", *args]
    return args


def _number(pattern: re.Pattern[str], text: str) -> float | None:
    found = pattern.search(text)
    return float(found.group(1)) if found else None


def run_pgbench(
    url: str,
    script: PgbenchScript,
    *,
    clients: int = 4,
    seconds: float = 10,
    transactions: int | None = None,
    jobs: int | None = None,
    bindir: str | Path | None = None,
) -> PgbenchResult:
    """Run pgbench on *url* with *script* and parse what it reports.

    Each of *clients* runs the script for *seconds* (rounded up to whole
    seconds, pgbench's unit), or *transactions* times when that is given.
    pgbench comes from ``find_bindir()`` unless *bindir* is given; as root it
    runs as the ``postgres`` user. A failed run is returned, not raised: look
    at ``result.ok`` and ``result.output``.
    """
    whole = max(1, math.ceil(seconds))
    length = ["-T", str(whole)] if transactions is None else ["-t", str(transactions)]
    folder = Path(bindir) if bindir is not None else find_bindir()
    command = _command(
        url,
        script,
        clients=clients,
        length=length,
        jobs=jobs or min(clients, os.cpu_count() or 1),
        bindir=folder,
    )
    done = subprocess.run(  # noqa: S603  (our own argv, no shell)
        command,
        input=script.text,
        capture_output=True,
        text=True,
        check=False,
        cwd="/",  # the service user may not be able to enter the caller's cwd
        timeout=None if transactions is not None else whole + 60,
    )
    output = done.stdout + done.stderr
    failed = _number(_FAILED, output)
    latency = _number(_LATENCY, output)
    return PgbenchResult(
        returncode=done.returncode,
        transactions=int(_number(_COUNT, output) or 0),
        failed=int(failed or 0),
        tps=_number(_TPS, output) or 0.0,
        latency_ms=latency,
        clients=clients,
        output=output,
    )
