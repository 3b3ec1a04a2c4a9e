"""Load ``.sql`` files and model modules into a ``Registry``, checking everything.

Each file is a namespace named after its stem. ``-- returns: Name`` is looked up
among the msgspec Structs of the *models* modules (a package's submodules
included); ``-- returns: pkg.mod.Name`` is imported directly. Every error names
the file and line it comes from.
"""

from __future__ import annotations

import difflib
import importlib
import os
import pkgutil
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TypeGuard

import msgspec

from yeko_sql.config import load_config
from yeko_sql.errors import ModelImportError, QueryFileError, UnknownStructError
from yeko_sql.query.compiler import Query, compile_query
from yeko_sql.query.parser import QuerySpec, parse_file
from yeko_sql.query.registry import Registry

__all__ = ["load_queries"]

StrPath = str | os.PathLike[str]


def load_queries(
    sql_dir: StrPath | Sequence[StrPath] | None = None,
    *,
    models: Sequence[str | ModuleType] = (),
) -> Registry:
    """Load every ``*.sql`` file under *sql_dir* into a registry.

    *sql_dir* is a folder (searched recursively, in sorted order), a single
    ``.sql`` file, or a sequence of those; None means the folders the app's
    ``[tool.yeko-sql]`` declares (``sql``), whose Structs then come from its
    ``models`` when *models* is empty.
    *models* are modules, or names of modules to import, whose msgspec
    Structs ``-- returns:`` may name. Queries are parsed, checked and compiled
    here, once, so a call never re-reads SQL.

    Raises:
        QueryFileError: a file or query could not be loaded; the subclass says
            why (``HeaderError``, ``UnknownKindError``, ``DuplicateQueryError``,
            ``UnknownStructError``, ``EmptyQueryError``, ``PlaceholderError``).
        FileNotFoundError: a path in *sql_dir* does not exist.
        ConfigError: *sql_dir* is None and no ``[tool.yeko-sql]`` declares
            ``sql``.
    """
    if sql_dir is None:
        config = load_config()
        paths: Sequence[StrPath] = config.require_sql()
        models = models or config.models
    elif isinstance(sql_dir, str | os.PathLike):
        paths = [sql_dir]
    else:
        paths = sql_dir
    structs = _StructIndex(models)
    queries: list[Query[object]] = []
    stems: dict[str, Path] = {}
    for file in _sql_files(paths):
        first = stems.setdefault(file.stem, file)
        if first != file:
            raise QueryFileError(
                str(file),
                1,
                f"namespace {file.stem!r} is already loaded from {first}",
                "a file's stem is its namespace; rename one file",
            )
        for spec in parse_file(_read(file), str(file)):
            returns = structs.resolve(spec) if spec.returns_name else None
            queries.append(compile_query(spec, returns))
    return Registry(queries)


def _sql_files(paths: Sequence[StrPath]) -> list[Path]:
    files: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.sql") if p.is_file())
        elif path.is_file():
            if path.suffix != ".sql":
                raise ValueError(f"{path}: not a .sql file")
            found = [path]
        else:
            raise FileNotFoundError(f"{path}: no such file or folder of .sql files")
        files += [p for p in found if p not in seen]
        seen.update(found)
    return files


def _read(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QueryFileError(
            str(path),
            data.count(b"\n", 0, exc.start) + 1,
            "the file is not UTF-8",
            "save it as UTF-8",
        ) from None


class _StructIndex:
    """The msgspec Structs of the model modules, by the names they are bound to."""

    def __init__(self, models: Sequence[str | ModuleType]) -> None:
        self._models = models
        self._names: dict[str, list[type[msgspec.Struct]]] | None = None

    def _index(self) -> dict[str, list[type[msgspec.Struct]]]:
        if self._names is None:  # imported on first use: files without returns
            self._names = {}
            for module in _walk(self._models):
                for name, value in vars(module).items():
                    if _is_struct(value) and value not in self._names.get(name, []):
                        self._names.setdefault(name, []).append(value)
        return self._names

    def resolve(self, spec: QuerySpec) -> type[msgspec.Struct]:
        """Return the Struct that *spec*'s ``-- returns:`` names."""
        name = spec.returns_name or ""
        line = spec.header_lines.get("returns", spec.line)
        if "." in name:
            return _import_struct(name, spec.path, line)
        found = self._index().get(name, [])
        if len(found) > 1:
            where = ", ".join(f"{s.__module__}.{s.__qualname__}" for s in found)
            raise UnknownStructError(
                spec.path,
                line,
                f"'-- returns: {name}' is ambiguous: {where}",
                "write the dotted path of the one you mean",
            )
        if found:
            return found[0]
        close = difflib.get_close_matches(name, list(self._index()), n=3)
        if close:
            hint = f"did you mean {', '.join(repr(c) for c in close)}?"
        elif not self._models:
            hint = "pass models= to load_queries, or write a dotted path"
        else:
            hint = "define it in a model module, or write a dotted path"
        raise UnknownStructError(
            spec.path, line, f"'-- returns: {name}' names no known Struct", hint
        )


def _walk(models: Sequence[str | ModuleType]) -> list[ModuleType]:
    modules: list[ModuleType] = []
    for model in models:
        module = _import_models(model) if isinstance(model, str) else model
        modules.append(module)
        package_path = getattr(module, "__path__", None)
        if package_path is not None:
            walked = pkgutil.walk_packages(package_path, f"{module.__name__}.")
            modules.extend(importlib.import_module(info.name) for info in walked)
    return modules


def _import_models(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ModelImportError(name, str(exc)) from exc


def _is_struct(value: object) -> TypeGuard[type[msgspec.Struct]]:
    return (
        isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and value is not msgspec.Struct
    )


def _import_struct(dotted: str, path: str, line: int) -> type[msgspec.Struct]:
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            value: object = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if not f"{module_name}.".startswith(f"{exc.name}."):
                raise  # the module exists but one of its own imports failed
            continue
        for attribute in parts[cut:]:
            value = getattr(value, attribute, None)
        if value is None:
            raise UnknownStructError(
                path,
                line,
                f"'-- returns: {dotted}': module {module_name!r}"
                f" has no {'.'.join(parts[cut:])!r}",
                "check the name",
            )
        if not _is_struct(value):
            raise UnknownStructError(
                path,
                line,
                f"'-- returns: {dotted}' is not a msgspec Struct",
                "rows decode into msgspec.Struct subclasses",
            )
        return value
    raise UnknownStructError(
        path,
        line,
        f"'-- returns: {dotted}': no module {parts[0]!r} to import",
        "check the dotted path",
    )
