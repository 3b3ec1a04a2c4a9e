"""The public surface: what users import, kept sorted, complete and twinned."""

import inspect
import pickle
import subprocess
import sys

import pytest

import yeko_sql
import yeko_sql.errors
from yeko_sql import AsyncDatabase, AsyncTransaction, Database, Transaction


def test_dunder_all_is_sorted_and_complete() -> None:
    assert yeko_sql.__all__ == sorted(yeko_sql.__all__)
    public = {name for name in dir(yeko_sql) if not name.startswith("_")}
    modules = {name for name in public if inspect.ismodule(getattr(yeko_sql, name))}
    assert set(yeko_sql.__all__) == public - modules


def test_public_names_load_on_first_use() -> None:
    """``import yeko_sql`` is cheap: each name's module loads when first used."""
    code = (
        "import sys, yeko_sql\n"
        "before = 'psycopg' in sys.modules\n"
        "from yeko_sql import Database\n"
        "print(before, 'psycopg' in sys.modules, Database.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True", "yeko_sql.runtime.database"]
    for name in yeko_sql.__all__:
        assert getattr(yeko_sql, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Databse'"):
        yeko_sql.Databse  # noqa: B018


def test_the_issue_contract_names_are_importable() -> None:
    for name in (
        "AsyncDatabase",
        "Database",
        "Page",
        "Settings",
        "load_queries",
        "YekoSqlError",
        "QueryFileError",
        "ParameterError",
        "NoRowError",
        "RowDecodeError",
    ):
        assert name in yeko_sql.__all__


def test_every_error_is_exported_and_descends_from_yeko_sql_error() -> None:
    for name in yeko_sql.errors.__all__:
        error = getattr(yeko_sql.errors, name)
        assert issubclass(error, yeko_sql.YekoSqlError)
        assert name in yeko_sql.__all__


def _surface(cls: type) -> dict[str, bool]:
    return {
        name: inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member)
        for name, member in vars(cls).items()
        if not name.startswith("_")
    }


def test_database_and_async_database_have_the_same_methods() -> None:
    assert _surface(AsyncDatabase).keys() == _surface(Database).keys()
    assert _surface(AsyncTransaction).keys() == _surface(Transaction).keys()


def test_errors_pickle_with_their_fields() -> None:
    error = yeko_sql.RowDecodeError("schools.get_school", "closed_at", "closed_at", "x")
    again = pickle.loads(pickle.dumps(error))  # noqa: S301  (our own bytes)
    assert (again.query, again.column, again.field, str(again)) == (
        error.query,
        error.column,
        error.field,
        str(error),
    )


def test_new_id_is_a_21_character_url_safe_nanoid() -> None:
    ids = {yeko_sql.new_id() for _ in range(2000)}
    assert len(ids) == 2000
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    assert all(len(i) == 21 and set(i) <= alphabet for i in ids)
