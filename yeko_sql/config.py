"""An app's ``[tool.yeko-sql]`` table: its queries, Structs, migrations and server.

Found as pytest and ruff find theirs: the first ``pyproject.toml`` holding a
``[tool.yeko-sql]`` table, from the working directory upward. Folders and files
in it are relative to that ``pyproject.toml``::

    [tool.yeko-sql]
    sql = ["sql"]                  # query folders, loaded in this order
    models = "blog.models"         # module (or list) of the Structs queries return
    migrations = "migrations"      # the app's yoyo migrations
    database = "blog"              # the local server's database for this app
    stub = "blog/queries.pyi"      # where `yeko-sql generate` writes the typed stub
    class_prefix = "Blog"          # BlogDatabase, AsyncBlogDatabase, ...
    tenant_column = "school_id"    # optional: the column scoping every tenant row
    app_role = "yeko_app"          # optional: the role the app connects as

Command-line options override a key; a key that neither gives is an error that
says which key and where to put it, never a fallback to another app's files.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path

import msgspec

from yeko_sql.errors import ConfigError

__all__ = ["CONFIG_ENV", "Config", "find_config", "load_config"]

CONFIG_ENV = "YEKO_SQL_CONFIG"
"""Names a ``pyproject.toml`` to use instead of searching upward."""

_TABLE = "yeko-sql"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CLASS_PREFIX = re.compile(r"[A-Z][A-Za-z0-9]*")


class _Table(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sql: list[str] | str | None = None
    models: list[str] | str | None = None
    migrations: str | None = None
    database: str | None = None
    stub: str | None = None
    class_prefix: str | None = None
    tenant_column: str | None = None
    app_role: str | None = None


class Config(msgspec.Struct, frozen=True, kw_only=True):
    """What an app declares in ``[tool.yeko-sql]``, its paths made absolute.

    ``path`` is the ``pyproject.toml`` it came from (``None`` when built by hand
    or when no file declares the table); every other field is ``None`` (or
    empty) when not declared.
    """

    path: Path | None = None
    sql: tuple[Path, ...] = ()
    models: tuple[str, ...] = ()
    migrations: Path | None = None
    database: str | None = None
    stub: Path | None = None
    class_prefix: str | None = None
    tenant_column: str | None = None
    app_role: str | None = None

    @property
    def where(self) -> str:
        """Where a missing key should go, for error messages."""
        return f"{self.path}" if self.path else "pyproject.toml"

    def require_sql(self) -> tuple[Path, ...]:
        """The query folders.

        Raises:
            ConfigError: none are declared.
        """
        if not self.sql:
            raise self._missing("sql", "pass query folders as arguments")
        return self.sql

    def require_migrations(self) -> Path:
        """The migrations folder.

        Raises:
            ConfigError: none is declared.
        """
        if self.migrations is None:
            raise self._missing("migrations", "pass --source DIR")
        return self.migrations

    def require_database(self) -> str:
        """The local server's database name.

        Raises:
            ConfigError: none is declared.
        """
        if self.database is None:
            raise self._missing("database", "pass --dbname NAME")
        return self.database

    def require_stub(self) -> Path:
        """The path of the generated stub.

        Raises:
            ConfigError: none is declared.
        """
        if self.stub is None:
            raise self._missing("stub", "pass --output PATH")
        return self.stub

    def _missing(self, key: str, hint: str) -> ConfigError:
        return ConfigError(
            str(self.where),
            f"[tool.{_TABLE}] declares no {key!r}; add {key} = ... there, or {hint}",
        )


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The ``pyproject.toml`` that declares ``[tool.yeko-sql]``, or ``None``.

    ``YEKO_SQL_CONFIG`` names one directly; otherwise the search goes from
    *start* (the working directory) upward and stops at the first match.
    """
    if env := os.environ.get(CONFIG_ENV):
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and _declares(candidate):
            return candidate
    return None


def _declares(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(data.get("tool"), dict) and _TABLE in data["tool"]


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    start: str | os.PathLike[str] | None = None,
) -> Config:
    """Read ``[tool.yeko-sql]`` from *path*, else from :func:`find_config`'s find.

    Returns an empty :class:`Config` when no ``pyproject.toml`` declares the
    table: each command then asks for what it needs.

    Raises:
        ConfigError: the file cannot be read, or the table has an unknown key
            or a value of the wrong type.
    """
    found = Path(path).resolve() if path is not None else find_config(start)
    if found is None:
        return Config()
    try:
        data = tomllib.loads(found.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(found), f"cannot read it ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(found), f"not valid TOML ({exc})") from exc
    raw = data.get("tool", {}).get(_TABLE)
    if raw is None:
        raise ConfigError(str(found), f"it has no [tool.{_TABLE}] table")
    try:
        table = msgspec.convert(raw, _Table)
    except msgspec.ValidationError as exc:
        raise ConfigError(str(found), f"[tool.{_TABLE}]: {exc}") from exc
    return _resolve(found, table)


def _resolve(path: Path, table: _Table) -> Config:
    root = path.parent
    for key, value in (
        ("tenant_column", table.tenant_column),
        ("app_role", table.app_role),
    ):
        if value is not None and not _IDENTIFIER.fullmatch(value):
            raise ConfigError(
                str(path), f"[tool.{_TABLE}] {key} = {value!r} is not an identifier"
            )
    if table.class_prefix is not None and not _CLASS_PREFIX.fullmatch(
        table.class_prefix
    ):
        raise ConfigError(
            str(path),
            f"[tool.{_TABLE}] class_prefix = {table.class_prefix!r} must start "
            "with a capital letter and hold only letters and digits",
        )
    return Config(
        path=path,
        sql=tuple(root / p for p in _many(table.sql)),
        models=_many(table.models),
        migrations=root / table.migrations if table.migrations else None,
        database=table.database,
        stub=root / table.stub if table.stub else None,
        class_prefix=table.class_prefix,
        tenant_column=table.tenant_column,
        app_role=table.app_role,
    )


def _many(value: Sequence[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)
