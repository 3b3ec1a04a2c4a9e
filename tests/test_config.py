"""``[tool.yeko-sql]``: found upward from the working directory, paths resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

from yeko_sql.config import CONFIG_ENV, Config, find_config, load_config
from yeko_sql.errors import ConfigError

BLOG = """
[project]
name = "blog"

[tool.yeko-sql]
sql = ["queries", "more"]
models = "blog.models"
migrations = "migrations"
database = "blog"
stub = "blog/queries.pyi"
class_prefix = "Blog"
"""


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)


def test_the_table_is_found_from_a_subfolder_and_paths_are_relative_to_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(BLOG)
    deep = tmp_path / "blog" / "web"
    deep.mkdir(parents=True)
    config = load_config(start=deep)
    assert config.path == tmp_path / "pyproject.toml"
    assert config.sql == (tmp_path / "queries", tmp_path / "more")
    assert config.models == ("blog.models",)
    assert config.migrations == tmp_path / "migrations"
    assert config.database == "blog"
    assert config.stub == tmp_path / "blog" / "queries.pyi"
    assert config.class_prefix == "Blog"
    assert config.tenant_column is None
    assert config.app_role is None


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(BLOG)
    inner = tmp_path / "vendored"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "other"\n')
    assert find_config(inner) == tmp_path / "pyproject.toml"


def test_no_table_anywhere_is_an_empty_config_whose_keys_say_where_to_go(
    tmp_path: Path,
) -> None:
    config = load_config(start=tmp_path)
    assert config == Config()
    with pytest.raises(ConfigError, match=r"declares no 'migrations'.*--source"):
        config.require_migrations()
    with pytest.raises(ConfigError, match=r"declares no 'sql'"):
        config.require_sql()
    with pytest.raises(ConfigError, match=r"declares no 'database'.*--dbname"):
        config.require_database()


def test_the_environment_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text(BLOG)
    monkeypatch.setenv(CONFIG_ENV, str(other))
    assert load_config(start="/").database == "blog"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('sqls = ["x"]', "sqls"),
        ("database = 3", "Expected `str | null`"),
        ('tenant_column = "school id"', "is not an identifier"),
        ('app_role = "x;drop"', "is not an identifier"),
        ('class_prefix = "blog"', "must start with a capital letter"),
    ],
)
def test_a_wrong_table_is_one_error_naming_the_file(
    tmp_path: Path, table: str, message: str
) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.yeko-sql]\n{table}\n")
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(start=tmp_path)
    assert str(caught.value).startswith(str(path))


def test_invalid_toml_is_reported_when_named(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.yeko-sql\n")
    assert find_config(tmp_path) is None
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_this_repository_declares_yeko() -> None:
    root = Path(__file__).resolve().parents[1]
    config = load_config(root / "pyproject.toml")
    assert config.sql == (root / "sql",)
    assert config.migrations == root / "migrations"
    assert config.tenant_column == "school_id"
    assert config.app_role == "yeko_app"
    assert config.class_prefix == "Yeko"
