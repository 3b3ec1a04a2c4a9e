"""Property tests of the placeholder lexer: decoys never count, real ones always do.

SQL is assembled from generated fragments whose kind we know: string
constants (``'…''…'``, ``E'…\\'…'``, ``U&'…'``), ``--`` and nested ``/* */``
comments, quoted identifiers, dollar-quoted bodies, casts, ``:=``, slices,
all stuffed with ``:name``-looking decoys, and between them real
placeholders at known offsets. ``find_placeholders`` must report exactly the
real ones, and the compiled SQL must equal the source everywhere else.
"""

from __future__ import annotations

import keyword
import os
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from yeko_sql.query._lexer import find_placeholders
from yeko_sql.query.compiler import compile_query
from yeko_sql.query.parser import parse_file

# 150 keeps the run to a few seconds; YEKO_PROPERTY_EXAMPLES=3000 digs deeper.
EXAMPLES = settings(
    max_examples=int(os.environ.get("YEKO_PROPERTY_EXAMPLES", "150")), deadline=None
)

DECOYS = [
    ":x",
    ":school_id",
    ":limit::int",
    "::text",
    ":=",
    "=>",
    "$1",
    "$$",
    "$a$",
    "--",
    "/*",
    "*/",
    "'",
    "''",
    '"',
    "\\",
    "\\'",
    ";",
    "\n",
    "é",
    "🎓",
    "日本",
]

TEXT = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"),
    max_size=12,
)


def pieces(forbidden: str, extra: list[str] | None = None) -> st.SearchStrategy[str]:
    """Text and decoys with none of the *forbidden* characters, joined."""
    allowed = [d for d in DECOYS if not any(c in d for c in forbidden)]
    part = st.one_of(
        TEXT.map(lambda t: "".join(c for c in t if c not in forbidden)),
        st.sampled_from(allowed + (extra or [])),
    )
    return st.lists(part, max_size=6).map("".join)


def line_comment_text(text: str) -> bool:
    # A comment reading "-- name: …" would start a new query in a file.
    return not text.lstrip().lower().startswith("name")


STRING = pieces("'", ["''"]).map(lambda c: f"'{c}'")
# A string followed by a newline and another string continues it, in its own
# mode (E'' then '\' is one unterminated E-string): the cast ends them here.
E_STRING = pieces("'\\", ["\\'", "\\\\", "''", "\\n"]).map(lambda c: f"E'{c}'::text")
U_STRING = pieces("'\\", ["''"]).map(lambda c: f"U&'{c}'::text")
QUOTED_NAME = (
    pieces('"', ['""'])
    .filter(lambda c: 0 < len(c.replace('""', '"').encode()) <= 63)  # NAMEDATALEN
    .map(lambda c: f'"{c}"')
)
LINE_COMMENT = pieces("\n\r").filter(line_comment_text).map(lambda c: f"--{c}\n")
DOLLAR = st.tuples(st.sampled_from(["", "fn", "body", "_x1"]), pieces("$")).map(
    lambda t: f"${t[0]}${t[1]}${t[0]}$"
)
BLOCK_COMMENT = st.recursive(
    pieces("*/").map(lambda c: f"/*{c}*/"),
    lambda inner: st.tuples(pieces("*/"), inner, pieces("*/")).map(
        lambda t: f"/*{t[0]}{t[1]}{t[2]}*/"
    ),
    max_leaves=4,
)
CODE = st.sampled_from([
    "a", "b_1", "1", "2.5", "+", "=", "<>", ",", "||", "*", "AND", "NULL",
    "a::int", "(b)::text[]", "'x'::text", "f(a := 1)", "f(a => 1)",
    "arr[1:2]", "arr[lo:hi]", "arr[:2]", "arr[lo:]", "ARRAY[1, 2]", "c.d",
])  # fmt: skip
DECOY_FRAGMENT = st.one_of(
    STRING, E_STRING, U_STRING, QUOTED_NAME, LINE_COMMENT, DOLLAR, BLOCK_COMMENT, CODE
)

NAME = st.one_of(
    st.sampled_from(["a", "school_id", "limit", "sort", "x1", "_"]),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
).filter(lambda n: not keyword.iskeyword(n))
# How a real placeholder sits in SQL: "{}" is where ":name" goes.
WRAPPER = st.sampled_from(
    ["{}", "({})", "{}::int", "{}::text[]", "ARRAY[{}]", "x[({})]", "= {}"]
)
SEPARATOR = st.sampled_from([" ", "\n", "\t", "  \n  "])


@dataclass(frozen=True)
class Real:
    """A real placeholder in a fragment: its name and offset in the fragment."""

    name: str
    offset: int


Fragment = tuple[str, Real | None]

REAL_FRAGMENT = st.tuples(NAME, WRAPPER).map(
    lambda t: (t[1].format(":" + t[0]), Real(t[0], t[1].index("{}")))
)
FRAGMENTS = st.lists(
    st.one_of(DECOY_FRAGMENT.map(lambda f: (f, None)), REAL_FRAGMENT),
    max_size=12,
)


@dataclass(frozen=True)
class Built:
    """Generated SQL and where its real placeholders are."""

    sql: str
    reals: list[tuple[str, int, int]]  # name, start, end (exclusive)


@st.composite
def built_sql(draw: st.DrawFn) -> Built:
    fragments: list[Fragment] = draw(FRAGMENTS)
    sql = "SELECT"
    reals: list[tuple[str, int, int]] = []
    for text, real in fragments:
        sql += draw(SEPARATOR)
        if real is not None:
            start = len(sql) + real.offset
            reals.append((real.name, start, start + 1 + len(real.name)))
        sql += text
    return Built(sql + " AS tail", reals)


@EXAMPLES
@given(built_sql())
def test_only_the_real_placeholders_are_found_at_their_offsets(built: Built) -> None:
    found = [(p.name, p.start, p.end) for p in find_placeholders(built.sql)]
    assert found == built.reals


@EXAMPLES
@given(built_sql())
def test_the_compiled_sql_is_the_source_except_where_placeholders_were(
    built: Built,
) -> None:
    text = f"-- name: list_things :many\n-- Generated.\n{built.sql};\n"
    (spec,) = parse_file(text, "gen.sql")
    query = compile_query(spec)
    assert query.sql == built.sql + ";"
    numbers: dict[str, int] = {}
    expected, done = [], 0
    for name, start, end in built.reals:
        number = numbers.setdefault(name, len(numbers) + 1)
        expected += [built.sql[done:start], f"${number}"]
        done = end
    expected.append(built.sql[done:] + ";")
    assert query.compiled == "/* yeko:gen.list_things */ " + "".join(expected)
    assert query.params == tuple(numbers)


@EXAMPLES
@given(st.lists(DECOY_FRAGMENT, max_size=10), SEPARATOR)
def test_decoys_alone_hold_no_placeholder(fragments: list[str], sep: str) -> None:
    sql = "SELECT " + sep.join(fragments) + " AS tail"
    assert find_placeholders(sql) == []
