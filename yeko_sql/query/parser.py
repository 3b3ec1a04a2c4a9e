"""Split the text of a ``.sql`` file into query specs; pure, no I/O.

A query starts at a ``-- name: <snake_case> :<kind>`` line. The ``--`` lines
right under it are its header: ``-- key: value`` lines for the known keys, and
documentation for the rest. A header line is a key when it reads
``-- <lowercase_word>: <value>`` (a colon right after one lowercase word, then a
space or the end of the line); ``-- Served by x_idx.`` and
``-- See https://…`` are documentation, ``-- note: x`` is an unknown key. The
SQL under the header, up to the next ``-- name:`` line, is the body; comment
lines after its last SQL line belong to the file, not to the query. Text before
the first ``-- name:`` line is the file's own documentation and may hold only
comments.

``-- name:`` lines are found among the comments PostgreSQL's lexer sees, so a
``-- name:`` inside a string, a ``$$`` body or a ``/* */`` comment is SQL.
"""

from __future__ import annotations

import bisect
import datetime
import difflib
import itertools
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from types import MappingProxyType

from yeko_sql.errors import (
    EmptyQueryError,
    HeaderError,
    QueryFileError,
    UnknownKindError,
)
from yeko_sql.query._lexer import LineIndex, Token, line_of, tokenize
from yeko_sql.query.kinds import SQLC_KINDS, Kind, sqlc_hint

__all__ = [
    "HEADER_KEYS",
    "OWNER_ROLE",
    "QuerySpec",
    "parse_duration",
    "parse_file",
]

HEADER_KEYS = frozenset(
    {
        "returns",
        "nullable",
        "notnull",
        "budget",
        "explain",
        "tenant",
        "timeout",
        "sort",
        "role",
        "replica",
    }
)
"""The ``-- key: value`` header lines a query may have, besides ``name``."""

OWNER_ROLE = "owner"
"""``-- role: owner``: the query runs as the schema owner (migrations, seeding)."""

_NAME_LINE = re.compile(r"--\s*name\s*:")
_KEY_LINE = re.compile(r"--\s*([a-z][a-z0-9_]*):(\s.*)?")
# A documentation line that starts like a header key: a word, maybe a colon.
_LOOSE_KEY_LINE = re.compile(r"--\s*([A-Za-z][A-Za-z0-9_]*)(\s*:)?(?:\s+(.*))?")
_QUERY_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
# An unquoted PostgreSQL role name: what CREATE ROLE takes without quotes.
_ROLE = re.compile(r"[a-z_][a-z0-9_$]{0,62}")
# Names PostgreSQL reserves: no query can run as one of them.
_NOT_ROLES = frozenset(
    {"public", "none", "current_role", "current_user", "session_user"}
)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(us|ms|s|min|h)")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}
_KINDS = ", ".join(kind.annotation for kind in Kind)
_SYNTAX = "write '-- name: <snake_case> :<kind>'"


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """One query as written: its header, read and checked, and its SQL body."""

    namespace: str
    name: str
    kind: Kind
    returns_name: str | None
    doc: str
    headers: Mapping[str, str]  # the keys other than name, raw values
    header_lines: Mapping[str, int]  # key -> file line, for load errors
    body: str
    path: str
    line: int  # the ``-- name:`` line
    body_line: int  # the body's first line


def parse_duration(text: str) -> datetime.timedelta:
    """Read a positive duration such as ``250ms``, ``2s``, ``1.5 min``.

    Units: ``us``, ``ms``, ``s``, ``min``, ``h``; a unit is required.

    Raises:
        ValueError: *text* is not such a duration.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None or float(match[1]) <= 0:
        raise ValueError(f"{text!r} is not a positive duration such as 250ms or 2s")
    return datetime.timedelta(seconds=float(match[1]) * _UNITS[match[2]])


def parse_file(
    text: str, path: str, *, namespace: str | None = None
) -> list[QuerySpec]:
    """Read every query of one ``.sql`` file, in file order.

    The namespace is the file's stem unless *namespace* is given.

    Raises:
        QueryFileError: SQL outside a query, two statements in one body, a
            namespace that is not an identifier, or text the lexer refuses.
        HeaderError: a malformed ``-- name:`` line, an unknown, repeated or
            badly formed header key.
        UnknownKindError: a kind that does not exist or that only sqlc has.
        EmptyQueryError: a header with no SQL under it.
    """
    text = text.replace("\r\n", "\n")
    ns = PurePath(path).stem if namespace is None else namespace
    if _IDENT.fullmatch(ns) is None or keyword.iskeyword(ns):
        raise QueryFileError(
            path,
            1,
            f"namespace {ns!r} is not an identifier",
            "name the file like 'school_years.sql'",
        )
    tokens = tokenize(text, path=path)
    offsets = [t.start for t in tokens]
    heads = [
        t
        for t in tokens
        if t.name == "SQL_COMMENT"
        and _NAME_LINE.match(t.text)
        and not text[_line_start(text, t.start) : t.start].strip()
    ]
    first = _line_start(text, heads[0].start) if heads else len(text)
    stray = next((t for t in tokens if not t.is_comment and t.start < first), None)
    if stray is not None:
        raise HeaderError(
            path,
            line_of(text, stray.start),
            "SQL outside a query",
            f"{_SYNTAX} above it",
        )
    specs = []
    lines = LineIndex(text)
    for i, head in enumerate(heads):
        start = _line_start(text, head.start)
        end = _line_start(text, heads[i + 1].start) if i + 1 < len(heads) else len(text)
        body_tokens = tokens[
            bisect.bisect_left(offsets, start) : bisect.bisect_left(offsets, end)
        ]
        specs.append(
            _parse_query(
                text, body_tokens, start=start, end=end, ns=ns, path=path, lines=lines
            )
        )
    return specs


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _line_end(text: str, offset: int) -> int:
    end = text.find("\n", offset)
    return len(text) if end < 0 else end


def _parse_query(
    text: str,
    tokens: list[Token],
    *,
    start: int,
    end: int,
    ns: str,
    path: str,
    lines: LineIndex,
) -> QuerySpec:
    line = lines.line(start)
    header: list[tuple[int, str]] = []
    pos = start
    while pos < end and text[pos : _line_end(text, pos)].lstrip().startswith("--"):
        header.append((line + len(header), text[pos : _line_end(text, pos)].strip()))
        pos = min(_line_end(text, pos) + 1, end)
    name, kind = _parse_name_line(header[0][1], path, line)
    headers, header_lines, doc = _parse_header(header[1:], name, kind, path)
    code = [t for t in tokens if t.start >= pos and not t.is_comment]
    if not code:
        raise EmptyQueryError(
            path,
            line,
            f"query {name!r} has no SQL under its header",
            "write its statement below the header",
        )
    body_start = _line_start(text, next(t.start for t in tokens if t.start >= pos))
    cut = _line_end(text, code[-1].end)
    for token in tokens:  # a /* comment */ opened on the last line runs to its end
        if token.start < cut < token.end:
            cut = _line_end(text, token.end)
    _check_one_statement(text, code, name, path)
    return QuerySpec(
        namespace=ns,
        name=name,
        kind=kind,
        returns_name=headers.get("returns"),
        doc=doc,
        headers=MappingProxyType(headers),
        header_lines=MappingProxyType(header_lines),
        body=text[body_start:cut].rstrip(),
        path=path,
        line=line,
        body_line=lines.line(body_start),
    )


def _parse_name_line(text: str, path: str, line: int) -> tuple[str, Kind]:
    match = _NAME_LINE.match(text)
    parts = text[match.end() :].split() if match else []
    if not parts or parts[0].startswith(":"):
        raise HeaderError(path, line, "query has no name", _SYNTAX)
    name, *rest = parts
    if _QUERY_NAME.fullmatch(name) is None or keyword.iskeyword(name):
        snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().replace("-", "_")
        hint = f"rename it {snake!r}" if _QUERY_NAME.fullmatch(snake) else _SYNTAX
        raise HeaderError(path, line, f"query name {name!r} is not snake_case", hint)
    if not rest:
        raise HeaderError(
            path, line, f"query {name!r} has no kind", f"expected one of {_KINDS}"
        )
    annotation, *extra = rest
    if extra or not annotation.startswith(":"):
        raise HeaderError(
            path,
            line,
            f"unexpected {' '.join(rest)!r} after query {name!r}",
            _SYNTAX,
        )
    written = annotation[1:]
    if written in SQLC_KINDS:
        raise UnknownKindError(
            path,
            line,
            f"sqlc's ':{written}' is not supported for query {name!r}",
            sqlc_hint(written),
        )
    try:
        return name, Kind(written)
    except ValueError:
        raise UnknownKindError(
            path,
            line,
            f"unknown kind {annotation!r} for query {name!r}",
            f"expected one of {_KINDS}",
        ) from None


def _parse_header(
    lines: list[tuple[int, str]], name: str, kind: Kind, path: str
) -> tuple[dict[str, str], dict[str, int], str]:
    headers: dict[str, str] = {}
    where: dict[str, int] = {}
    doc: list[str] = []
    for line, text in lines:
        match = _KEY_LINE.fullmatch(text)
        if match is None:
            _not_a_mistyped_key(text, kind, path=path, line=line)
            doc.append(text[2:].removeprefix(" ").rstrip())
            continue
        key, value = match[1], (match[2] or "").strip()
        if key not in HEADER_KEYS:
            close = difflib.get_close_matches(key, HEADER_KEYS, n=1, cutoff=0.75)
            raise HeaderError(
                path,
                line,
                f"unknown header key {key!r}",
                f"did you mean '-- {close[0]}: {value}'?"
                if close
                else f"expected one of {', '.join(sorted(HEADER_KEYS))};"
                " documentation lines are sentences, not 'word: text'",
            )
        if key in headers:
            raise HeaderError(
                path,
                line,
                f"header key {key!r} repeated (first at line {where[key]})",
                "keep one",
            )
        if not value:
            raise HeaderError(path, line, f"header key {key!r} has no value")
        headers[key], where[key] = value, line
        _check_value(key, value, headers, kind, path=path, line=line)
    return headers, where, "\n".join(doc).strip("\n")


def _not_a_mistyped_key(text: str, kind: Kind, *, path: str, line: int) -> None:
    """Refuse a documentation line that reads as a header key written wrong.

    ``-- Returns: Student`` and ``-- returns : Student`` (a known key, or one
    letter off, in the wrong case or spacing) and ``-- budget 10ms`` (a known
    key without its colon, followed by a value that key would take) would
    otherwise be silently kept as documentation, and the header ignored.
    """
    match = _LOOSE_KEY_LINE.fullmatch(text)
    if match is None:
        return
    word, colon, value = match[1], match[2], (match[3] or "").strip()
    lowered = word.lower()
    if colon:
        close = difflib.get_close_matches(lowered, HEADER_KEYS, n=1, cutoff=0.8)
        if not close:
            return
        key = close[0]
    elif lowered in HEADER_KEYS and _takes(lowered, value, kind):
        key = lowered
    else:
        return
    raise HeaderError(
        path,
        line,
        f"{text!r} looks like the header key {key!r} written wrong, and would be"
        " kept as documentation",
        f"write '-- {key}: {value}' (lowercase, the colon right after the key),"
        " or reword the sentence",
    )


def _takes(key: str, value: str, kind: Kind) -> bool:
    """Whether *value* is a value header *key* would accept (free text: no)."""
    if not value or key in {"explain", "sort"}:
        return False
    if key == "tenant":
        return value.startswith("any:")
    try:
        _check_value(key, value, {}, kind, path="", line=0)
    except HeaderError:
        return False
    return True


def _check_value(
    key: str, value: str, headers: dict[str, str], kind: Kind, *, path: str, line: int
) -> None:
    problem, hint = "", ""
    if key in {"returns", "nullable", "notnull"} and not kind.returns_rows:
        problem = f"'-- {key}:' on a {kind.annotation} query, which returns no rows"
        hint = "remove it, or use :one or :many with RETURNING"
    elif key == "returns" and kind is Kind.SCALAR:
        problem = "'-- returns:' on a :scalar query, which returns one value"
        hint = "remove it, or use :one"
    elif key == "returns" and _DOTTED.fullmatch(value) is None:
        problem = f"'-- returns: {value}' is not a Struct name or a dotted path"
        hint = "write a name such as School or a path such as myapp.models.School"
    elif key in {"timeout", "budget"}:
        try:
            parse_duration(value)
        except ValueError as exc:
            problem, hint = f"'-- {key}:' {exc}", "units: us, ms, s, min, h"
    elif key == "tenant" and not re.fullmatch(r"any:\s*\S.*", value):
        problem = f"'-- tenant: {value}' gives no reason"
        hint = "write '-- tenant: any: <why this query is not scoped to a school>'"
    elif key in {"nullable", "notnull"}:
        problem, hint = _check_columns(key, value, headers)
    elif key == "role":
        problem, hint = _check_role(value)
    elif key == "replica" and value != "ok":
        problem = f"'-- replica: {value}' is not 'ok'"
        hint = "write '-- replica: ok' for a read a replica may serve, or remove it"
    elif key == "replica" and not kind.returns_rows:
        problem = f"'-- replica: ok' on a {kind.annotation} query: it returns no rows"
        hint = "only reads may run on a replica; remove it"
    if problem:
        raise HeaderError(path, line, problem, hint)


def _check_role(value: str) -> tuple[str, str]:
    hint = (
        f"write a PostgreSQL role name such as yeko_platform, or {OWNER_ROLE!r}"
        " for the schema owner"
    )
    if _ROLE.fullmatch(value) is None:
        return f"'-- role: {value}' is not a role name", hint
    if value in _NOT_ROLES or value.startswith("pg_"):
        return f"'-- role: {value}' names no role a query can run as", hint
    return "", ""


def _check_columns(key: str, value: str, headers: dict[str, str]) -> tuple[str, str]:
    columns = [column.strip() for column in value.split(",")]
    bad = [column for column in columns if _IDENT.fullmatch(column) is None]
    if bad:
        return (
            f"'-- {key}:' column {bad[0]!r} is not a column name",
            "write column names separated by commas",
        )
    if len(set(columns)) < len(columns):
        return f"'-- {key}:' names a column twice", "name each column once"
    other = "notnull" if key == "nullable" else "nullable"
    both = set(columns) & {c.strip() for c in headers.get(other, "").split(",")}
    if both:
        return (
            f"column {sorted(both)[0]!r} is both nullable and notnull",
            "keep it under one key",
        )
    return "", ""


def _check_one_statement(text: str, code: list[Token], name: str, path: str) -> None:
    if any(t.name == "ATOMIC" for t in code):
        return  # BEGIN ATOMIC … END bodies hold ';' of their own
    depth = 0
    for before, token in itertools.pairwise(code):
        depth += {"ASCII_40": 1, "ASCII_41": -1}.get(before.name, 0)
        if before.name == "ASCII_59" and depth <= 0:
            raise QueryFileError(
                path,
                line_of(text, token.start),
                f"query {name!r} holds a second statement",
                "one statement per query; give this one a '-- name:' header of its own",
            )
