"""Find ``:name`` and ``$1`` placeholders in SQL with PostgreSQL's own lexer.

pglast's scanner (the server's lexer, from libpg_query) already knows string
constants (``'it''s'``, ``E'\\''``, ``$tag$…$tag$``), quoted identifiers,
``--`` and nested ``/* */`` comments and ``::`` casts, so none of those can be
mistaken for a parameter. What it cannot know is psql's ``:name`` syntax, which
it reads as a ``:`` token followed by a name. This module decides which of
those are parameters:

- a ``:`` followed, with nothing in between, by a name (``[A-Za-z_][A-Za-z0-9_]*``,
  keywords such as ``:limit`` included) is a parameter;
- inside a subscript's square brackets a ``:`` that follows an operand
  (``arr[lo:hi]``, ``arr[1:2]``, ``arr[(:lo):(:hi)]``) or touches no name
  (``arr[:2]``, ``arr[: hi]``, ``arr[lo:]``) is the slice colon;
- ``arr[:n]`` could be either and is refused; ``ARRAY[:a, :b]`` is a
  constructor, not a subscript, so its ``:`` are parameters;
- any other ``:`` (``:1``, ``: x``, psql's ``:'v'`` and ``:"v"``) is an error.

Offsets are indexes into the Python string (pglast maps the lexer's UTF-8 byte
offsets back to characters), so SQL with ``'é'`` or emoji works unchanged.
"""

from __future__ import annotations

import bisect
import keyword
import re
from dataclasses import dataclass

from pglast import parser as pg

from yeko_sql.errors import PlaceholderError, QueryFileError

__all__ = [
    "LineIndex",
    "Placeholder",
    "Token",
    "find_placeholders",
    "line_of",
    "tokenize",
]

COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_AT_OR_NEAR = re.compile(r" at or near .*", re.DOTALL)
# Tokens after which a ':' in a subscript separates slice bounds.
_OPERANDS = frozenset({
    "IDENT", "ICONST", "FCONST", "SCONST", "USCONST", "BCONST", "XCONST",
    "PARAM", "ASCII_41", "ASCII_93", "END_P", "NULL_P", "TRUE_P", "FALSE_P",
})  # fmt: skip
_NAME_KEYWORDS = frozenset({
    "UNRESERVED_KEYWORD", "COL_NAME_KEYWORD", "TYPE_FUNC_NAME_KEYWORD",
})  # fmt: skip
_COLON, _LPAREN, _RPAREN, _LBRACKET, _RBRACKET = (
    "ASCII_58", "ASCII_40", "ASCII_41", "ASCII_91", "ASCII_93",
)  # fmt: skip
_PARAM_HINT = "a parameter is ':' then a name, such as ':school_id'"


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token: its lexer name (``IDENT``, ``SCONST``, …) and span."""

    name: str
    kind: str  # keyword category: NO_KEYWORD, RESERVED_KEYWORD, …
    start: int
    end: int  # exclusive
    text: str

    @property
    def is_comment(self) -> bool:
        """Whether the token is a ``--`` or ``/* */`` comment."""
        return self.name in COMMENTS


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A parameter in SQL text: ``:name``, or ``$n`` (named ``pn``)."""

    name: str
    start: int
    end: int  # exclusive; sql[start:end] is the placeholder as written
    line: int  # line of the file, counting from the *line* given to the scanner
    number: int | None = None  # n for a positional ``$n``, None for ``:name``


def line_of(text: str, offset: int, first_line: int = 1) -> int:
    """Return the line of *offset* in *text*, whose first line is *first_line*.

    It counts from the start: for many offsets into one long text, use a
    ``LineIndex``.
    """
    return first_line + text.count("\n", 0, offset)


_NEWLINE = re.compile("\n")


class LineIndex:
    """The line of any offset into one text, by bisection: O(log lines) each."""

    __slots__ = ("_breaks",)

    def __init__(self, text: str) -> None:
        self._breaks = [match.start() for match in _NEWLINE.finditer(text)]

    def line(self, offset: int) -> int:
        """The 1-based line of *offset*, as ``line_of(text, offset)`` gives it."""
        return 1 + bisect.bisect_left(self._breaks, offset)


def tokenize(sql: str, *, path: str = "<sql>", line: int = 1) -> list[Token]:
    """Split *sql* into PostgreSQL tokens, comments included.

    *path* and *line* (the file line where *sql* starts) only place errors.

    Raises:
        QueryFileError: an unterminated string, quoted identifier or comment,
            or another text the lexer refuses.
    """
    try:
        raw = pg.scan(sql)
    except pg.ParseError as exc:
        location = exc.args[1] if len(exc.args) > 1 else None
        offset = location if isinstance(location, int) else len(sql)
        problem = _AT_OR_NEAR.sub("", str(exc.args[0]))
        hint = "close it" if problem.startswith("unterminated") else ""
        raise QueryFileError(path, line_of(sql, offset, line), problem, hint) from None
    return [
        Token(t.name, t.kind, t.start, t.end + 1, sql[t.start : t.end + 1]) for t in raw
    ]


def find_placeholders(
    sql: str, *, path: str = "<sql>", line: int = 1
) -> list[Placeholder]:
    """Return the placeholders of *sql* in order, ``:name`` and ``$n`` alike.

    *path* and *line* (the file line where *sql* starts) place the results and
    the errors.

    Raises:
        PlaceholderError: a ``:`` that starts no valid parameter name, an
            ambiguous ``arr[:n]``, or ``$0``.
        QueryFileError: the lexer refused the text (see ``tokenize``).
    """
    tokens = [t for t in tokenize(sql, path=path, line=line) if not t.is_comment]
    found: list[Placeholder] = []
    frames: list[str] = []  # "(", "[" (subscript), "array" (ARRAY[...] constructor)
    prev: Token | None = None
    after_operand = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        touching = nxt if nxt is not None and nxt.start == tok.end else None
        if tok.name == _COLON:
            here = line_of(sql, tok.start, line)
            if frames and frames[-1] == "[" and prev is not None:
                if prev.name == _LBRACKET and _is_name(touching):
                    name = _text(touching)
                    raise PlaceholderError(
                        path,
                        here,
                        f"'[:{name}]' is ambiguous: a slice up to {name!r}"
                        f" or an index by the parameter ':{name}'",
                        f"write [(:{name})] for a parameter or [: {name}] for a slice",
                    )
                if after_operand or not _is_name(touching):
                    prev, after_operand = tok, False  # the slice colon
                    i += 1
                    continue
            found.append(_parameter(tok, touching, path, here))
            prev, after_operand = touching, True
            i += 2
            continue
        if tok.name == "PARAM":
            found.append(_positional(tok, path, line_of(sql, tok.start, line)))
        elif tok.name == _LPAREN:
            frames.append("(")
        elif tok.name == _LBRACKET:
            constructor = prev is not None and (
                prev.name == "ARRAY"
                or (frames[-1:] == ["array"] and prev.name in {_LBRACKET, "ASCII_44"})
            )
            frames.append("array" if constructor else "[")
        elif tok.name in {_RPAREN, _RBRACKET} and frames:
            frames.pop()
        prev = tok
        after_operand = tok.name in _OPERANDS or tok.kind in _NAME_KEYWORDS
        i += 1
    return found


def _is_name(token: Token | None) -> bool:
    return token is not None and _NAME.fullmatch(token.text) is not None


def _text(token: Token | None) -> str:
    return "" if token is None else token.text


def _parameter(colon: Token, name: Token | None, path: str, line: int) -> Placeholder:
    if name is None:
        raise PlaceholderError(
            path, line, "':' is not followed by a parameter name", _PARAM_HINT
        )
    if name.text[:1] in {"'", '"'}:
        raise PlaceholderError(
            path,
            line,
            f"psql's :{name.text} interpolation is not a parameter",
            _PARAM_HINT,
        )
    if not _is_name(name):
        raise PlaceholderError(
            path,
            line,
            f"parameter name {name.text!r} is not an identifier",
            "a name is ASCII letters, digits and '_', not starting with a digit",
        )
    if keyword.iskeyword(name.text):
        raise PlaceholderError(
            path,
            line,
            f"parameter name {name.text!r} is a Python keyword",
            "callers pass parameters as keywords; rename it",
        )
    return Placeholder(name.text, colon.start, name.end, line)


def _positional(token: Token, path: str, line: int) -> Placeholder:
    number = int(token.text[1:])
    if number == 0:
        raise PlaceholderError(
            path, line, "'$0' is not a parameter", "positional parameters start at $1"
        )
    return Placeholder(f"p{number}", token.start, token.end, line, number)
