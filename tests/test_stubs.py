"""The typed stub: generated from the queries, checked in, complete, and true."""

from __future__ import annotations

import ast
import asyncio
import inspect
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.fix_domain import World
from tests.fix_sqlfiles import SqlDir
from yeko_sql.cli.commands import generate_command
from yeko_sql.query.loader import load_queries
from yeko_sql.runtime.database import Database, Transaction
from yeko_sql.runtime.database_async import AsyncDatabase, AsyncTransaction
from yeko_sql.runtime.pagination import Page
from yeko_sql.settings import Settings
from yeko_sql.stubs.generate import companion_module, generate_stub
from yeko_sql.yeko.domain.schools import School
from yeko_sql.yeko.resources import load_yeko_queries
from yeko_sql.yeko.typed import (
    AsyncYekoDatabase,
    AsyncYekoTransaction,
    YekoDatabase,
    YekoTransaction,
)

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_STUB = ROOT / "yeko_sql" / "yeko" / "typed.pyi"
FACADES = {
    "YekoDatabase": (YekoDatabase, Database),
    "YekoTransaction": (YekoTransaction, Transaction),
    "AsyncYekoDatabase": (AsyncYekoDatabase, AsyncDatabase),
    "AsyncYekoTransaction": (AsyncYekoTransaction, AsyncTransaction),
}


def _stub_classes() -> dict[str, ast.ClassDef]:
    tree = ast.parse(BUNDLED_STUB.read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _members(node: ast.ClassDef) -> tuple[set[str], set[str]]:
    """The methods and the annotated attributes a stub class declares."""
    methods = {
        n.name
        for n in node.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    attributes = {
        n.target.id
        for n in node.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    return methods, attributes


def test_the_checked_in_stub_matches_the_bundled_queries(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        text = generate_stub(
            load_yeko_queries(), conn, class_prefix="Yeko", tenant_column="school_id"
        )
    assert text == BUNDLED_STUB.read_text(encoding="utf-8"), (
        "yeko_sql/yeko/typed.pyi is stale: run 'yeko-sql generate'"
    )


@pytest.mark.skipif(
    not (Path(sys.executable).parent / "ruff").exists(), reason="ruff not installed"
)
def test_the_stub_is_as_ruff_formats_and_lints_it() -> None:
    ruff = str(Path(sys.executable).parent / "ruff")
    for args in (["format", "--check", "--diff"], ["check"]):
        done = subprocess.run(
            [ruff, *args, str(BUNDLED_STUB)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_stub_types_every_method_that_returns_its_own_kind() -> None:
    """A base method that returns the database or a transaction is re-declared.

    Every other public method is inherited from the real class, so the stub
    stays complete when ``Database`` grows.
    """
    classes = _stub_classes()
    for name, (runtime, base) in FACADES.items():
        methods, _ = _members(classes[name])
        own = {base.__name__, "Transaction", "AsyncTransaction"}
        self_typed = {
            member
            for member, value in vars(base).items()
            if callable(value)
            and (not member.startswith("_") or member in ("__enter__", "__aenter__"))
            and any(
                word in own
                for word in str(inspect.signature(value).return_annotation)
                .replace("[", " ")
                .replace("]", " ")
                .split()
            )
        }
        assert self_typed <= methods, f"{name} misses {self_typed - methods}"
        assert methods <= set(dir(runtime)), f"{name}: {methods - set(dir(runtime))}"
        stub_bases = [b.id for b in classes[name].bases if isinstance(b, ast.Name)]
        assert stub_bases == [base.__name__]
        assert issubclass(runtime, base)


def test_yeko_s_typed_module_defines_nothing_its_stub_would_hide() -> None:
    assert companion_module(BUNDLED_STUB, class_prefix="Yeko") is None


def test_every_namespace_and_query_of_the_stub_exists_at_runtime() -> None:
    classes = _stub_classes()
    db = YekoDatabase("postgresql://localhost/nowhere")  # the pool is not opened
    _, namespaces = _members(classes["YekoDatabase"])
    assert namespaces == set(db.runners)
    for namespace in namespaces:
        name = "".join(p.capitalize() for p in namespace.split("_")) + "Queries"
        for prefix in ("", "Async"):
            methods, _ = _members(classes[prefix + name])
            assert methods == set(db.runners[namespace]), namespace
    assert _members(classes["AsyncYekoDatabase"])[1] == namespaces
    assert _members(classes["YekoTransaction"])[1] == namespaces


def test_yeko_database_is_a_database_whose_queries_run(
    database_url: str, world: World
) -> None:
    settings = Settings(strict_rows=True, min_size=1)
    with YekoDatabase(database_url, settings=settings) as db:
        school = db.schools.get_school(school_id=world.first.school_id)
        assert isinstance(school, School)
        page = db.schools.list_schools(status="active", search=None, page_size=1)
        assert isinstance(page, Page)
        assert page.total == 2
        with db.transaction() as tx:
            assert isinstance(tx, YekoTransaction)
            assert tx.schools.get_school(school_id=school.id) == school


def test_async_yeko_database_is_an_async_database_whose_queries_run(
    database_url: str, world: World
) -> None:
    async def scenario() -> School:
        settings = Settings(strict_rows=True, min_size=1)
        async with (
            AsyncYekoDatabase(database_url, settings=settings) as adb,
            adb.transaction() as tx,
        ):
            assert isinstance(tx, AsyncYekoTransaction)
            return await tx.schools.get_school(school_id=world.first.school_id)

    assert asyncio.run(scenario()).id == world.first.school_id


OWN_QUERIES = """
    -- name: get_note :opt
    -- One note, or None.
    SELECT id, body FROM notes WHERE id = :id;

    -- name: stream_notes :stream
    -- Every note.
    SELECT id, body FROM notes ORDER BY id;

    -- name: count_notes :scalar
    -- How many notes.
    SELECT count(*) FROM notes WHERE body IS NOT DISTINCT FROM :body;

    -- name: first_note_id :scalar
    -- The first note's id.
    SELECT id FROM notes ORDER BY id LIMIT 1;

    -- name: add_notes :execrows
    -- Add notes, bodies may be None.
    INSERT INTO notes (id, body)
    SELECT * FROM unnest(:ids::text[], :bodies::text[]);

    -- name: set_note_body :exec
    -- Set one body, or clear it.
    UPDATE notes SET body = :body WHERE id = :id;

    -- name: create_note :one
    -- Create one note.
    INSERT INTO notes (id, body) VALUES (:id, :body) RETURNING id, body;

    -- name: import_notes :execrows
    -- Import notes; a None body becomes empty.
    INSERT INTO notes (id, body)
    SELECT u.id, coalesce(u.body, '')
    FROM unnest(:ids::text[], :bodies::text[]) AS u (id, body);

    -- name: find_note_by_self :opt
    -- A parameter named like the method's receiver.
    SELECT id, body FROM notes WHERE id = :self;
"""


def test_a_stub_of_own_queries_types_every_kind(
    sql_dir: SqlDir, pg: psycopg.Connection
) -> None:
    pg.execute("CREATE TABLE notes (id text PRIMARY KEY, body text)")
    sql_dir.write("notes.sql", OWN_QUERIES)
    text = generate_stub(load_queries(sql_dir.path), pg, class_prefix="Notes")
    ast.parse(text)
    for line in (
        "    def get_note(self, *, id: str) -> msgspec.Struct | None:",
        "    def create_note(self, *, id: str, body: str | None) -> msgspec.Struct:",
        "    def find_note_by_self(self_, /, *, self: str) -> msgspec.Struct | None:",
        "    def stream_notes(self) -> Iterator[msgspec.Struct]:",
        "    def stream_notes(self) -> AsyncIterator[msgspec.Struct]:",
        "    def count_notes(self, *, body: str | None) -> int:",
        "    def first_note_id(self) -> str | None:",
        "    def set_note_body(self, *, body: str | None, id: str) -> None:",
        "    async def set_note_body(self, *, body: str | None, id: str) -> None:",
    ):
        assert line in text.splitlines(), line
    assert text.count("ids: list[str], bodies: list[str] | list[str | None]") == 4


def test_generate_check_passes_when_fresh_and_fails_with_a_diff_when_stale(
    sql_dir: SqlDir,
    pg: psycopg.Connection,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pg.execute("CREATE TABLE notes (id text PRIMARY KEY, body text)")
    sql_dir.write("notes.sql", OWN_QUERIES)
    out = tmp_path / "notes.pyi"
    paths = [str(sql_dir.path)]

    def generate(*, check: bool) -> int:
        return generate_command(
            load_queries(paths),
            database_url,
            out=str(out),
            check=check,
            class_prefix="Notes",
        )

    assert generate(check=True) == 1  # no file yet
    assert generate(check=False) == 0
    assert generate(check=True) == 0
    out.write_text(out.read_text().replace("-> int:", "-> str:"))
    capsys.readouterr()
    assert generate(check=True) == 1
    shown = capsys.readouterr().out
    assert "-    def count_notes(self, *, body: str | None) -> str:" in shown
    assert "is stale" in shown


def test_generate_refuses_queries_the_server_cannot_prepare(
    sql_dir: SqlDir, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sql_dir.write("broken.sql", "-- name: get_x :one\nSELECT nope FROM nowhere;\n")
    code = generate_command(
        load_queries(sql_dir.path),
        database_url,
        out=None,
        check=False,
        class_prefix="Notes",
    )
    assert code == 1
    assert "broken.sql:2" in capsys.readouterr().err


def test_generate_writes_own_queries_to_standard_output_without_out(
    sql_dir: SqlDir,
    pg: psycopg.Connection,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pg.execute("CREATE TABLE notes (id text PRIMARY KEY, body text)")
    sql_dir.write("notes.sql", OWN_QUERIES)
    code = generate_command(
        load_queries(sql_dir.path),
        database_url,
        out=None,
        check=False,
        class_prefix="Notes",
    )
    assert code == 0
    assert "class NotesQueries:" in capsys.readouterr().out
