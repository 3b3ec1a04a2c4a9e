"""Old module paths, from before the layers became subpackages, still import.

``import yeko_sql.migrate`` (or ``from yeko_sql.lifo import …``) loads the
module's new home and warns once with ``DeprecationWarning``; docs/layout.md
lists every move. Names exported by ``yeko_sql`` itself never moved.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["MOVED", "install"]

if TYPE_CHECKING:
    from importlib.abc import Loader as _Loader
else:  # importlib.abc costs 18 ms of every start (it imports importlib.resources)
    _Loader = object

MOVED = {
    "adapters": "yeko_sql.runtime.adapters",
    "check": "yeko_sql.verify.check",
    "chunks": "yeko_sql.bulk.chunks",
    "cliquery": "yeko_sql.cli.query",
    "commands": "yeko_sql.cli.commands",
    "compiler": "yeko_sql.query.compiler",
    "database": "yeko_sql.runtime.database",
    "database_async": "yeko_sql.runtime.database_async",
    "demo": "yeko_sql.yeko.demo",
    "describe": "yeko_sql.verify.describe",
    "devserver": "yeko_sql.ops.devserver",
    "domain": "yeko_sql.yeko.domain",
    "executor": "yeko_sql.runtime._executor",
    "kinds": "yeko_sql.query.kinds",
    "lifo": "yeko_sql.runtime._pool",
    "loader": "yeko_sql.query.loader",
    "migrate": "yeko_sql.ops.migrate",
    "notnull": "yeko_sql.verify._notnull",
    "nullability": "yeko_sql.verify.nullability",
    "pagination": "yeko_sql.runtime.pagination",
    "parser": "yeko_sql.query.parser",
    "pgbench": "yeko_sql.ops.pgbench",
    "pgcatalog": "yeko_sql.verify._catalog",
    "pgtypes": "yeko_sql.runtime.types",
    "plans": "yeko_sql.verify.plans",
    "registry": "yeko_sql.query.registry",
    "resources": "yeko_sql.yeko.resources",
    "retry": "yeko_sql.runtime.retry",
    "rowcount": "yeko_sql.verify.cardinality",
    "rows": "yeko_sql.runtime.rows",
    "rules": "yeko_sql.verify.rules",
    "scope": "yeko_sql.runtime._scope",
    "seed": "yeko_sql.yeko.seed.run",
    "seeddata": "yeko_sql.yeko.seed.data",
    "seedplan": "yeko_sql.yeko.seed.plan",
    "seedrows": "yeko_sql.yeko.seed.rows",
    "seedschool": "yeko_sql.yeko.seed.school",
    "serverurl": "yeko_sql.ops.serverurl",
    "sorting": "yeko_sql.query.sorting",
    "sqlast": "yeko_sql.verify._tree",
    "sqltext": "yeko_sql.query._lexer",
    "statements": "yeko_sql.runtime._libpq",
    "stats": "yeko_sql.ops.stats",
    "streams": "yeko_sql.runtime.streams",
    "stubrender": "yeko_sql.stubs._render",
    "stubtypes": "yeko_sql.stubs._types",
    "typed": "yeko_sql.yeko.typed",
    "worker": "yeko_sql.bulk.worker",
}
"""Old ``yeko_sql.<name>`` -> its module now."""


class _Alias(_Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.new}; import it from there "
            "(docs/layout.md lists every move)",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(self.new)

    def exec_module(self, module: ModuleType) -> None:
        """The new module ran when it was imported; nothing is left to run."""


class _Finder:  # a meta path finder (importlib.abc.MetaPathFinder)
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.partition(".")
        first, dot, rest = name.partition(".")
        if package != "yeko_sql" or first not in MOVED:
            return None
        new = MOVED[first] + dot + rest
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        # First: a path finder would otherwise load yeko_sql.domain.schools a
        # second time, from the moved package's folder, with its own classes.
        sys.meta_path.insert(0, _Finder())
