"""Optional filters: ``[[ … ]]`` blocks, each combination its own statement.

A block starts with ``[[`` at the start of a line and ends at the matching
``]]``; it holds one or more ``:name`` parameters::

    SELECT s.id, s.name
    FROM students AS s
    WHERE s.school_id = :school_id
      [[ AND s.status = :status ]]
      [[ AND s.class_id = :class_id ]]
    ORDER BY s.name, s.id

A call includes a block when every parameter in it is given and not ``None``,
and leaves it out otherwise, so ``status=None`` reads "any status". Each
combination of blocks is compiled into its own statement, prepared once with
its own plan: no ``(:status IS NULL OR s.status = :status)`` that one generic
plan must serve for both cases.

Rules, each a load error with the file line:

- ``[[`` opens a block only as the first thing on its line; ``ARRAY[[1, 2]]``
  and ``a[b[1]]`` are SQL.
- Blocks do not nest, and each is closed.
- A block holds at least one ``:name`` parameter, and a parameter inside a
  block is not also used outside every block (it would be required there).
- ``limit``, ``offset`` and ``sort`` are not optional; ``$1`` placeholders do
  not mix with blocks.
- At most ``MAX_BLOCKS`` blocks: every combination is a statement that
  ``check``, ``describe`` and the guardrails judge.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from yeko_sql.errors import PlaceholderError
from yeko_sql.query._lexer import LineIndex, Placeholder, Token, tokenize

__all__ = ["MAX_BLOCKS", "Block", "Template", "find_blocks"]

MAX_BLOCKS = 6
"""At most this many optional blocks (64 statements) in one query."""

_OPEN, _CLOSE = "ASCII_91", "ASCII_93"
_REQUIRED = frozenset({"limit", "offset", "sort"})
_HINT = "write each optional filter as '[[ AND column = :name ]]' on its own line"


@dataclass(frozen=True, slots=True)
class Block:
    """One ``[[ … ]]`` block: its span in the body and the parameters in it."""

    start: int  # the first '['
    end: int  # after the last ']'
    line: int  # file line of the '[['
    params: frozenset[str]


def find_blocks(body: str, *, path: str, line: int) -> list[Block]:
    """The ``[[ … ]]`` blocks of *body*, their parameters not yet known.

    *line* is the file line of the body's first line.

    Raises:
        PlaceholderError: a block opened in a block, or never closed.
        QueryFileError: the lexer refused the body.
    """
    tokens = [t for t in tokenize(body, path=path, line=line) if not t.is_comment]
    lines = LineIndex(body)
    blocks: list[Block] = []
    opened: Token | None = None
    depth = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        pair = _pair(tokens, i)
        if tok.name == _OPEN and pair and _first_on_line(body, tok.start):
            if opened is not None:
                raise PlaceholderError(
                    path,
                    line - 1 + lines.line(tok.start),
                    "an optional block opens inside another one",
                    "close the first with ']]' before opening the next; blocks "
                    "do not nest",
                )
            opened, depth = tok, 0
            i += 2
            continue
        if opened is not None and tok.name == _OPEN:
            depth += 1
        elif opened is not None and tok.name == _CLOSE:
            if depth == 0 and pair:
                block_line = line - 1 + lines.line(opened.start)
                blocks.append(Block(opened.start, tokens[i + 1].end, block_line, _NONE))
                opened = None
                i += 2
                continue
            depth -= 1
        i += 1
    if opened is not None:
        raise PlaceholderError(
            path,
            line - 1 + lines.line(opened.start),
            "an optional block is never closed",
            "end it with ']]'",
        )
    return blocks


_NONE: frozenset[str] = frozenset()


def _pair(tokens: list[Token], i: int) -> bool:
    """Whether tokens *i* and *i + 1* are the same bracket, touching."""
    if i + 1 >= len(tokens):
        return False
    tok, nxt = tokens[i], tokens[i + 1]
    return nxt.name == tok.name and nxt.start == tok.end


def _first_on_line(text: str, offset: int) -> bool:
    return not text[text.rfind("\n", 0, offset) + 1 : offset].strip()


def masked(body: str, blocks: list[Block]) -> str:
    """*body* with each block's ``[[`` and ``]]`` turned to spaces."""
    chars = list(body)
    for block in blocks:
        chars[block.start : block.start + 2] = "  "
        chars[block.end - 2 : block.end] = "  "
    return "".join(chars)


@dataclass(frozen=True, slots=True)
class Template:
    """A body with optional blocks, rendered per combination of given parameters.

    ``text`` is the body with the block markers blanked; ``placeholders`` its
    ``:name`` parameters in order; ``sorts`` the ``ORDER BY`` of each sort
    variant (empty: the query has none).
    """

    text: str
    placeholders: tuple[Placeholder, ...]
    blocks: tuple[Block, ...]
    sorts: Mapping[str, str]
    tag: str

    @classmethod
    def build(
        cls,
        body: str,
        named: list[Placeholder],
        blocks: list[Block],
        sorts: Mapping[str, str],
        *,
        tag: str,
        name: str,
        path: str,
    ) -> Template:
        """Check the blocks against the placeholders and keep them.

        *named* are the placeholders of the masked body.

        Raises:
            PlaceholderError: a block without a parameter, a parameter used
                inside and outside blocks, a required one made optional, or too
                many blocks.
        """
        if len(blocks) > MAX_BLOCKS:
            raise PlaceholderError(
                path,
                blocks[MAX_BLOCKS].line,
                f"query {name!r} has {len(blocks)} optional blocks; at most "
                f"{MAX_BLOCKS} (each combination is a statement to check and plan)",
                "split the query by purpose, or make some filters required",
            )
        filled = []
        for block in blocks:
            inside = [p for p in named if block.start <= p.start < block.end]
            if not inside:
                raise PlaceholderError(
                    path,
                    block.line,
                    f"an optional block of query {name!r} holds no parameter, so "
                    "nothing could ever include it",
                    _HINT,
                )
            required = sorted({p.name for p in inside} & _REQUIRED)
            if required:
                raise PlaceholderError(
                    path,
                    block.line,
                    f"':{required[0]}' cannot be optional in query {name!r}",
                    "keep it outside the '[[ ]]' blocks",
                )
            filled.append(
                Block(
                    block.start,
                    block.end,
                    block.line,
                    frozenset(p.name for p in inside),
                )
            )
        optional = frozenset().union(*(b.params for b in filled))
        for placeholder in named:
            outside = not any(b.start <= placeholder.start < b.end for b in filled)
            if outside and placeholder.name in optional:
                raise PlaceholderError(
                    path,
                    placeholder.line,
                    f"':{placeholder.name}' is used inside an optional block and "
                    f"outside one in query {name!r}",
                    "a parameter is either optional (only in blocks) or required "
                    "(only outside them)",
                )
        return cls(masked(body, filled), tuple(named), tuple(filled), sorts, tag)

    @property
    def optional(self) -> tuple[str, ...]:
        """The optional parameters, in the order they first appear."""
        inside = {name for block in self.blocks for name in block.params}
        return tuple(
            dict.fromkeys(p.name for p in self.placeholders if p.name in inside)
        )

    def included(self, given: frozenset[str]) -> frozenset[int]:
        """The blocks a call that gives the optional parameters *given* keeps."""
        return frozenset(
            i for i, block in enumerate(self.blocks) if block.params <= given
        )

    def kept_params(self, kept: frozenset[int]) -> frozenset[str]:
        """The parameters the blocks numbered *kept* use."""
        return frozenset().union(*(self.blocks[i].params for i in kept))

    def render(
        self, given: frozenset[str], sort: str | None = None
    ) -> tuple[str, tuple[str, ...]]:
        """The tagged SQL with ``$n`` placeholders, and the parameters ``$n`` bind.

        A left-out block becomes its line breaks only, so the statement keeps
        the body's line numbers for error positions.
        """
        keep = self.included(given)
        dropped = [b for i, b in enumerate(self.blocks) if i not in keep]
        numbers: dict[str, int] = {}
        pieces: list[str] = []
        done = 0
        for placeholder in self.placeholders:
            if any(b.start <= placeholder.start < b.end for b in dropped):
                continue
            pieces.append(_drop(self.text, done, placeholder.start, dropped))
            if placeholder.name == "sort" and self.sorts:
                order_by = self.sorts[sort or next(iter(self.sorts))]
                pieces.append(order_by)
            else:
                number = numbers.setdefault(placeholder.name, len(numbers) + 1)
                pieces.append(f"${number}")
            done = placeholder.end
        pieces.append(_drop(self.text, done, len(self.text), dropped))
        return self.tag + "".join(pieces), tuple(numbers)

    def source(self, given: frozenset[str]) -> str:
        """The body as written, left-out blocks dropped and markers blanked."""
        keep = self.included(given)
        dropped = [b for i, b in enumerate(self.blocks) if i not in keep]
        return _drop(self.text, 0, len(self.text), dropped)

    def combinations(self) -> Iterator[frozenset[str]]:
        """The fewest optional parameters that keep each distinct set of blocks.

        The first keeps every block, the last none (the empty set).
        """
        seen: set[frozenset[int]] = set()
        indexes = range(len(self.blocks))
        for size in range(len(self.blocks), -1, -1):
            for chosen in itertools.combinations(indexes, size):
                given = frozenset().union(*(self.blocks[i].params for i in chosen))
                keep = self.included(given)
                if keep not in seen:
                    seen.add(keep)
                    yield given


def _drop(text: str, start: int, end: int, dropped: list[Block]) -> str:
    """``text[start:end]`` without the dropped blocks in it, their newlines kept."""
    out: list[str] = []
    at = start
    for block in dropped:
        if block.end <= start or block.start >= end:
            continue
        out.append(text[at : max(at, block.start)])
        out.append("\n" * text.count("\n", block.start, block.end))
        at = block.end
    out.append(text[at:end])
    return "".join(out)
