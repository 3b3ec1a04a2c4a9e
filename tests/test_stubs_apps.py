"""Stubs for any app: its own class names, ``for_school`` only with a tenant, and
the rest of the app's code still visible to type checkers.

The app here is a small blog: ``blog/models.py`` (its Struct), ``blog/db.py``
(helpers of its own), ``sql/posts.sql``, and the generated pair
``blog/queries.pyi`` + ``blog/queries.py``.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest
from mypy import api

from tests.fix_sqlfiles import SqlDir
from yeko_sql.cli.commands import generate_command
from yeko_sql.cli.main import main
from yeko_sql.errors import ConfigError
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.runtime.database import Database, Transaction
from yeko_sql.runtime.database_async import AsyncDatabase, AsyncTransaction
from yeko_sql.settings import Settings
from yeko_sql.stubs.generate import companion_module, generate_stub

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).parent / "ruff"
SCHEMA = "CREATE TABLE posts (id text PRIMARY KEY, title text NOT NULL, body text)"
QUERIES = """
    -- name: get_post :one
    -- returns: Post
    -- One post.
    SELECT id, title, body FROM posts WHERE id = :id;

    -- name: count_posts :scalar
    -- How many posts.
    SELECT count(*) FROM posts;

    -- name: create_post :one
    -- returns: Post
    -- Write one post.
    INSERT INTO posts (id, title, body) VALUES (:id, :title, :body)
    RETURNING id, title, body;
"""
MODELS = '''
    """The blog's rows."""

    import msgspec


    class Post(msgspec.Struct, frozen=True, kw_only=True):
        """A row of ``posts``."""

        id: str
        title: str
        body: str | None
'''
HELPERS = '''
    """The blog's own helpers, beside its generated queries module."""

    from blog.queries import BlogDatabase


    def slugify(title: str) -> str:
        """``Hello World`` -> ``hello-world``."""
        return "-".join(title.lower().split())


    def open_blog(url: str) -> BlogDatabase:
        """The blog's database, not yet opened."""
        return BlogDatabase(url)
'''
FACADES = (
    "AsyncBlogDatabase",
    "AsyncBlogTransaction",
    "BlogDatabase",
    "BlogTransaction",
)


@pytest.fixture
def blog(
    tmp_path: Path,
    sql_dir: SqlDir,
    pg: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> Registry:
    """The blog's files under *tmp_path* (importable), its table, its queries."""
    pg.execute(SCHEMA)
    sql_dir.write("posts.sql", QUERIES)
    package = tmp_path / "blog"
    package.mkdir()
    (package / "__init__.py").write_text('"""The blog."""\n', encoding="utf-8")
    (package / "models.py").write_text(textwrap.dedent(MODELS).lstrip(), "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "blog" or m.startswith("blog.")]:
        monkeypatch.delitem(sys.modules, name)
    return load_queries(sql_dir.path, models=["blog.models"])


def _classes(text: str) -> list[str]:
    return re.findall(r"^class (\w+)\(", text, flags=re.MULTILINE)


def test_a_blog_stub_names_its_classes_after_the_prefix(
    blog: Registry, pg: psycopg.Connection
) -> None:
    text = generate_stub(blog, pg, class_prefix="Blog")
    assert sorted(_classes(text)) == sorted(FACADES)
    assert "Yeko" not in text
    assert "def for_school(" not in text
    assert "``BlogDatabase`` and its twins" in text
    assert "from blog.models import Post" in text.splitlines()


def test_for_school_is_declared_only_for_an_app_with_a_tenant_column(
    blog: Registry, pg: psycopg.Connection
) -> None:
    without = generate_stub(blog, pg, class_prefix="Blog")
    scoped = generate_stub(blog, pg, class_prefix="Blog", tenant_column="blog_id")
    assert without.count("def for_school(") == 0
    assert scoped.count("def for_school(") == 2  # BlogDatabase and its async twin
    signature = "def for_school(self, school_id: str) -> Generator[BlogTransaction]:"
    assert f"    {signature} ..." in scoped.splitlines()


@pytest.mark.parametrize(
    ("prefix", "says"),
    [
        (None, "declares no 'class_prefix'"),
        ("blog", "class prefix 'blog' must start with a capital letter"),
        ("Blog-Db", "class prefix 'Blog-Db' must start with a capital letter"),
    ],
)
def test_generate_stub_without_a_usable_class_prefix_is_a_config_error(
    blog: Registry, pg: psycopg.Connection, prefix: str | None, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        generate_stub(blog, pg, class_prefix=prefix)
    assert says in str(caught.value)


def test_generate_writes_the_module_the_stub_types_and_the_app_stays_typed(
    blog: Registry,
    tmp_path: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stub = tmp_path / "blog" / "queries.pyi"
    (tmp_path / "blog" / "db.py").write_text(textwrap.dedent(HELPERS).lstrip(), "utf-8")
    code = generate_command(
        blog, database_url, out=stub, check=False, class_prefix="Blog"
    )
    assert code == 0
    module = stub.with_suffix(".py")
    assert module.is_file()
    assert "wrote blog/queries.py" in capsys.readouterr().out.replace(
        str(tmp_path) + "/", ""
    )
    assert (
        generate_command(blog, database_url, out=stub, check=True, class_prefix="Blog")
        == 0
    )

    # At runtime the generated classes are the real ones, and queries run.
    generated = importlib.import_module("blog.queries")
    assert sorted(generated.__all__) == sorted(FACADES)
    assert issubclass(generated.BlogDatabase, Database)
    assert issubclass(generated.AsyncBlogDatabase, AsyncDatabase)
    assert generated.BlogTransaction is Transaction
    assert generated.AsyncBlogTransaction is AsyncTransaction
    settings = Settings(strict_rows=True, min_size=1)
    with generated.BlogDatabase(database_url, queries=blog, settings=settings) as db:
        db.posts.create_post(id="p1", title="Hello", body=None)
        assert db.posts.count_posts() == 1

    # mypy sees the queries through the stub and the helpers beside it.
    app = tmp_path / "app.py"
    app.write_text(
        textwrap.dedent(
            """
            from blog.db import open_blog, slugify
            from blog.queries import BlogDatabase

            db = BlogDatabase("postgresql://")
            reveal_type(db.posts.get_post(id="p"))
            reveal_type(db.posts.count_posts())
            reveal_type(slugify("Hello World"))
            reveal_type(open_blog("postgresql://"))
            with db.transaction() as tx:
                reveal_type(tx)
            db.posts.get_post(post_id="p")
            """
        ).lstrip(),
        encoding="utf-8",
    )
    copy = tmp_path / "generated" / "generated_blog_queries.py"
    copy.parent.mkdir()
    copy.write_text(module.read_text(encoding="utf-8"), encoding="utf-8")
    stdout, stderr, _ = api.run(
        [
            str(app),
            str(copy),  # the generated module itself passes mypy --strict
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
    lines = [line.split(": ", 1)[1] for line in stdout.splitlines() if ": " in line]
    assert lines == [
        'note: Revealed type is "blog.models.Post"',
        'note: Revealed type is "int"',
        'note: Revealed type is "str"',
        'note: Revealed type is "blog.queries.BlogDatabase"',
        'note: Revealed type is "blog.queries.BlogTransaction"',
        'error: Unexpected keyword argument "post_id" for "get_post" of '
        '"PostsQueries"  [call-arg]',
        'note: "get_post" defined in "blog.queries"',
    ], stdout


@pytest.mark.skipif(not RUFF.exists(), reason="ruff not installed")
def test_the_generated_pair_is_as_ruff_formats_and_lints_it(
    blog: Registry, tmp_path: Path, database_url: str
) -> None:
    stub = tmp_path / "blog" / "queries.pyi"
    generate_command(blog, database_url, out=stub, check=False, class_prefix="Blog")
    for args in (["format", "--check", "--diff"], ["check"]):
        done = subprocess.run(
            [
                str(RUFF),
                *args,
                "--config",
                str(ROOT / "pyproject.toml"),
                str(stub),
                str(stub.with_suffix(".py")),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_stub_beside_a_module_with_helpers_is_refused_and_nothing_is_written(
    blog: Registry, tmp_path: Path, database_url: str
) -> None:
    module = tmp_path / "blog" / "db.py"
    module.write_text(
        textwrap.dedent(
            """
            from yeko_sql.runtime.database import Database, Transaction

            class BlogDatabase(Database): ...
            BlogTransaction = Transaction

            def slugify(title: str) -> str:
                return title.lower()

            DEFAULT_PAGE = 20
            """
        ).lstrip(),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        generate_command(
            blog,
            database_url,
            out=module.with_suffix(".pyi"),
            check=False,
            class_prefix="Blog",
        )
    assert caught.value.path == f"{module}:6"
    assert "defines 'slugify', 'DEFAULT_PAGE', which db.pyi would hide" in str(
        caught.value
    )
    assert not module.with_suffix(".pyi").exists()


def test_a_hand_written_module_of_only_the_facades_is_kept(tmp_path: Path) -> None:
    """Yeko's ``typed.py`` is one: its queries default to the bundled ones."""
    module = tmp_path / "typed.py"
    module.write_text(
        textwrap.dedent(
            '''
            """Facades with a default registry of their own."""
            from yeko_sql.runtime.database import Database, Transaction
            from yeko_sql.runtime.database_async import AsyncDatabase, AsyncTransaction

            __all__ = ["AsyncBlogDatabase", "AsyncBlogTransaction", "BlogDatabase",
                       "BlogTransaction"]
            _CACHE: dict[str, int] = {}

            class BlogDatabase(Database):
                def __init__(self) -> None: ...

            class AsyncBlogDatabase(AsyncDatabase): ...

            BlogTransaction = Transaction
            AsyncBlogTransaction = AsyncTransaction
            '''
        ),
        encoding="utf-8",
    )
    stub = module.with_suffix(".pyi")
    assert companion_module(stub, class_prefix="Blog") is None
    with pytest.raises(ConfigError) as caught:
        companion_module(stub, class_prefix="Shop")
    assert "defines 'AsyncBlogDatabase', 'AsyncBlogTransaction', 'BlogDatabase'" in (
        str(caught.value)
    )
    module.write_text(
        module.read_text() + "from typing import Any as Any\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        companion_module(stub, class_prefix="Blog")
    assert "defines 'Any', which typed.pyi would hide" in str(caught.value)


def test_a_hand_written_module_missing_a_facade_is_refused(tmp_path: Path) -> None:
    module = tmp_path / "db.py"
    module.write_text(
        "from yeko_sql.runtime.database import Database\n\n"
        f"__all__ = {list(FACADES)!r}\n"  # listing a name does not define it
        "class BlogDatabase(Database): ...\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        companion_module(module.with_suffix(".pyi"), class_prefix="Blog")
    assert str(caught.value) == (
        f"{module}: defines no 'AsyncBlogDatabase', 'AsyncBlogTransaction', "
        "'BlogTransaction', which db.pyi declares; add them, or delete the "
        "module so that yeko-sql generate writes it"
    )
    module.write_text("class BlogDatabase(\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"db\.py:1: not valid Python"):
        companion_module(module.with_suffix(".pyi"), class_prefix="Blog")


def test_generate_check_fails_on_a_missing_or_edited_module(
    blog: Registry,
    tmp_path: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stub = tmp_path / "blog" / "queries.pyi"
    module = stub.with_suffix(".py")

    def generate(*, check: bool) -> int:
        return generate_command(
            blog, database_url, out=stub, check=check, class_prefix="Blog"
        )

    assert generate(check=False) == 0
    module.write_text(
        module.read_text().replace("BlogDatabase(Database)", "BlogDatabase(object)")
    )
    capsys.readouterr()
    assert generate(check=True) == 1
    shown = capsys.readouterr().out
    assert "-class BlogDatabase(object):" in shown
    assert "queries.py is stale" in shown
    assert "queries.pyi is stale" not in shown
    module.unlink()
    assert generate(check=True) == 1
    assert generate(check=False) == 0
    assert generate(check=True) == 0


def _pyproject(tmp_path: Path, **keys: str) -> Path:
    table = "".join(f'{key} = "{value}"\n' for key, value in keys.items())
    path = tmp_path / "pyproject.toml"
    path.write_text(
        '[tool.yeko-sql]\nsql = "sql"\nmodels = "blog.models"\n'
        f'stub = "blog/queries.pyi"\n{table}',
        encoding="utf-8",
    )
    return path


def test_the_command_takes_the_prefix_from_config_or_the_option(
    blog: Registry,
    tmp_path: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # main adds the app's root
    config = _pyproject(tmp_path, class_prefix="Blog")
    args = ["--config", str(config), "generate", "--database-url", database_url]
    assert main(args) == 0
    stub = tmp_path / "blog" / "queries.pyi"
    assert "class BlogDatabase(Database):" in stub.read_text()
    assert "class BlogDatabase(Database):" in stub.with_suffix(".py").read_text()
    assert main([*args, "--class-prefix", "Shop"]) == 0
    assert "class ShopDatabase(Database):" in stub.read_text()
    assert "class ShopDatabase(Database):" in stub.with_suffix(".py").read_text()
    capsys.readouterr()


def test_the_command_without_a_class_prefix_names_the_key_and_the_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # main adds the app's root
    config = _pyproject(tmp_path).resolve()
    url = "postgresql://nowhere"
    assert main(["--config", str(config), "generate", "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"yeko-sql: {config}: [tool.yeko-sql] declares no 'class_prefix'"
    )
    assert "--class-prefix NAME" in err
    assert not (tmp_path / "blog").exists()
