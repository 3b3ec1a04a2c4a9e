"""PostgreSQL enums end to end: binary COPY, stub typing, and ``check``'s labels.

Each test gets a scratch database with a small blog schema (no Yeko
migrations): ``posts.status`` is a ``post_status`` enum.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import msgspec
import psycopg
import pytest
from mypy import api

from tests.fix_sqlfiles import SqlDir
from yeko_sql.bulk.copy import copy_rows, copy_structs, copy_structs_async
from yeko_sql.query.loader import load_queries
from yeko_sql.stubs.generate import generate_stub
from yeko_sql.verify._catalog import enum_labels
from yeko_sql.verify.check import check_connection

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = """
CREATE TYPE post_status AS ENUM ('draft', 'published', 'archived');
CREATE DOMAIN live_status AS post_status CHECK (VALUE <> 'archived');
CREATE TABLE posts (
    id text PRIMARY KEY,
    format text NOT NULL DEFAULT 'markdown',
    status post_status NOT NULL,
    previous_status post_status,
    history post_status[] NOT NULL DEFAULT '{}',
    live live_status
);
"""
LABELS = "'draft', 'published', 'archived'"
LITERAL = 'Literal["draft", "published", "archived"]'

PostStatus = Literal["draft", "published", "archived"]


class Post(msgspec.Struct, frozen=True, kw_only=True):
    """A post as copied in."""

    id: str
    status: PostStatus
    previous_status: PostStatus | None = None
    history: list[PostStatus] = msgspec.field(default_factory=list)


def _read(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT id, status::text, previous_status::text, history::text[], live::text"
        " FROM posts ORDER BY id"
    ).fetchall()


@pytest.fixture
def blog_url(empty_database_url: str) -> str:
    """A scratch database holding the blog schema."""
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    return empty_database_url


@pytest.fixture
def blog(blog_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the blog database."""
    with psycopg.connect(blog_url, autocommit=True) as conn:
        yield conn


# -- binary COPY --------------------------------------------------------------

POSTS = [
    Post(id="a", status="draft"),
    Post(
        id="b",
        status="archived",
        previous_status="published",
        history=["draft", "published"],
    ),
]
READ_BACK = [
    ("a", "draft", None, [], None),
    ("b", "archived", "published", ["draft", "published"], None),
]


def test_copy_structs_sends_enum_fields_and_enum_arrays_as_labels(
    blog: psycopg.Connection,
) -> None:
    assert copy_structs(blog, "posts", POSTS) == 2
    assert _read(blog) == READ_BACK


def test_copy_structs_async_sends_enum_fields_as_labels(blog_url: str) -> None:
    async def load() -> int:
        async with await psycopg.AsyncConnection.connect(blog_url) as conn:
            return await copy_structs_async(conn, "posts", POSTS)

    assert asyncio.run(load()) == 2
    with psycopg.connect(blog_url) as conn:
        assert _read(conn) == READ_BACK


def test_copy_rows_fills_an_enum_column_behind_a_domain(
    blog: psycopg.Connection,
) -> None:
    rows = [("a", "draft", "published"), ("b", "published", None)]
    assert copy_rows(blog, "posts", ["id", "status", "live"], rows) == 2
    assert [row[-1] for row in _read(blog)] == ["published", None]


def test_copy_of_an_unknown_label_is_refused_by_the_server(
    blog: psycopg.Connection,
) -> None:
    with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="deleted"):
        copy_rows(blog, "posts", ["id", "status"], [("a", "deleted")])


def test_copy_leaves_the_connection_s_adapters_as_they_were(
    blog: psycopg.Connection,
) -> None:
    copy_structs(blog, "posts", POSTS[:1])
    assert blog.adapters.types.get("post_status") is None
    row = blog.execute("SELECT 'post_status'::regtype::int8").fetchone()
    oid = row[0] if row else 0
    with pytest.raises(psycopg.ProgrammingError, match="cannot find a dumper"):
        blog.adapters.get_dumper_by_oid(oid, psycopg.pq.Format.BINARY)


def test_enum_labels_come_in_sort_order_for_enums_domains_and_arrays(
    blog: psycopg.Connection,
) -> None:
    blog.execute("ALTER TYPE post_status ADD VALUE 'review' BEFORE 'published'")
    enums = enum_labels(blog)
    status, live, array = blog.execute(
        "SELECT 'post_status'::regtype::int8, 'live_status'::regtype::int8,"
        " 'post_status[]'::regtype::int8"
    ).fetchone() or (0, 0, 0)
    expected = ("draft", "review", "published", "archived")
    assert enums.scalars[status] == enums.scalars[live] == expected
    assert enums.arrays[array] == expected


# -- the typed stub -------------------------------------------------------------

BLOG_QUERIES = """
    -- name: set_post_status :execrows
    -- Move a post to a new status, remembering the old one (or None).
    UPDATE posts
    SET status = :status,
        previous_status = :previous
    WHERE id = :id;

    -- name: count_posts_in :scalar
    -- Posts in any of the statuses.
    SELECT count(*)
    FROM posts
    WHERE status = ANY(:statuses::post_status[]);

    -- name: get_post_status :scalar
    -- One post's status.
    SELECT status
    FROM posts
    WHERE id = :id;
"""
CALLS = """
    from blog_stub import YekoDatabase

    db = YekoDatabase("postgresql://")
    db.blog.set_post_status(id="p", status="published", previous=None)
    db.blog.set_post_status(id="p", status="draft", previous="archived")
    db.blog.count_posts_in(statuses=["draft", "archived"])
    reveal_type(db.blog.get_post_status(id="p"))
    db.blog.set_post_status(id="p", status=12345, previous=None)
    db.blog.set_post_status(id="p", status="deleted", previous=None)
    db.blog.count_posts_in(statuses=["deleted"])
"""


def test_enum_parameters_and_results_are_typed_as_the_literal_of_their_labels(
    sql_dir: SqlDir, blog: psycopg.Connection, tmp_path: Path
) -> None:
    sql_dir.write("blog.sql", BLOG_QUERIES)
    text = generate_stub(load_queries(sql_dir.path), blog, class_prefix="Yeko")
    lines = text.splitlines()
    assert "from typing import Literal, Self, type_check_only" in lines
    assert f"        status: {LITERAL}," in lines
    assert f"        previous: {LITERAL} | None," in lines
    assert f"        self, *, statuses: list[{LITERAL}]" in lines
    assert f"    ) -> {LITERAL} | None:" in lines  # get_post_status

    (tmp_path / "blog_stub.pyi").write_text(text, encoding="utf-8")
    calls = tmp_path / "calls.py"
    calls.write_text(textwrap.dedent(CALLS).lstrip("\n"), encoding="utf-8")
    stdout, stderr, _ = api.run(
        [
            str(calls),
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "--no-error-summary",
            "--hide-error-context",
            "--no-pretty",
        ]
    )
    assert not stderr, stderr
    reported = {
        int(line.split(":")[1]): line.split(": ", 2)[-1]
        for line in stdout.splitlines()
        if line.startswith(str(calls))
    }
    assert set(reported) == {7, 8, 9, 10}, stdout  # the calls after reveal_type
    assert reported[7] == (
        "Revealed type is \"Literal['draft'] | Literal['published'] |"
        " Literal['archived'] | None\""
    )
    expected = f'expected "{LITERAL.replace(chr(34), chr(39))}"'
    assert 'incompatible type "Literal[12345]"; ' + expected in reported[8]
    assert "incompatible type \"Literal['deleted']\"; " + expected in reported[9]
    assert "List item 0 has incompatible type" in reported[10]


# -- check ------------------------------------------------------------------------


class PostRow(msgspec.Struct, frozen=True, kw_only=True):
    """Every label, and a Literal on a text column."""

    id: str
    format: Literal["markdown", "html"]
    status: PostStatus


class PostText(msgspec.Struct, frozen=True, kw_only=True):
    """The status as any str."""

    id: str
    status: str


class PostMissing(msgspec.Struct, frozen=True, kw_only=True):
    """A Literal that lacks a label."""

    id: str
    status: Literal["draft", "published"]


class PostExtra(msgspec.Struct, frozen=True, kw_only=True):
    """A nullable Literal with a value that is no label."""

    id: str
    previous_status: Literal["draft", "published", "archived", "deleted"] | None


class PostNumber(msgspec.Struct, frozen=True, kw_only=True):
    """A field that cannot hold a label at all."""

    id: str
    status: int


CHECKED = """
    -- name: get_post :one
    -- returns: tests.test_enums.PostRow
    SELECT id, format, status FROM posts WHERE id = :id;

    -- name: get_post_text :one
    -- returns: tests.test_enums.PostText
    SELECT id, status FROM posts WHERE id = :id;

    -- name: get_post_missing :one
    -- returns: tests.test_enums.PostMissing
    SELECT id,
           status
    FROM posts
    WHERE id = :id;

    -- name: get_post_extra :one
    -- returns: tests.test_enums.PostExtra
    SELECT id, previous_status FROM posts WHERE id = :id;

    -- name: get_post_number :one
    -- returns: tests.test_enums.PostNumber
    SELECT id, status FROM posts WHERE id = :id;
"""


def test_check_compares_literal_fields_with_the_enum_s_labels(
    sql_dir: SqlDir, blog: psycopg.Connection
) -> None:
    path = sql_dir.write("posts.sql", CHECKED)
    # The blog has no tenants (the suite runs in Yeko's project, whose
    # tenant_column would otherwise apply).
    report = check_connection(load_queries(sql_dir.path), blog, tenant_column=None)
    found = {p.query: p for p in report.problems}
    assert set(found) == {
        "posts.get_post_missing",
        "posts.get_post_extra",
        "posts.get_post_number",
    }, [str(p) for p in report.problems]

    missing = found["posts.get_post_missing"]
    assert (missing.check, missing.column, missing.field) == (
        "columns",
        "status",
        "status",
    )
    assert str(missing) == (
        f"{path}:12: column 'status' (post_status) has the labels {LABELS}, but"
        " PostMissing.status (Literal['draft', 'published']) lacks 'archived';"
        f" make the field 'Literal[{LABELS}]'"
    )

    extra = found["posts.get_post_extra"]
    assert (extra.path, extra.line, extra.column, extra.field) == (
        str(path),
        18,
        "previous_status",
        "previous_status",
    )
    assert "has 'deleted', which is not a label" in extra.message
    assert extra.message.endswith(f"make the field 'Literal[{LABELS}] | None'")

    number = found["posts.get_post_number"]
    assert number.message == (
        "column 'status' (post_status) is an enum, which does not fit"
        f" PostNumber.status (int); make the field 'Literal[{LABELS}]'"
    )
