"""Where the bundled query files and migrations are, installed or in a checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry

__all__ = ["DOMAIN", "load_yeko_queries", "migrations_dir", "sql_dir"]

DOMAIN = "yeko_sql.yeko.domain"
"""The module of Yeko's Structs, which its queries return."""

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parents[1]


def _bundled(name: str) -> Path:
    # A wheel carries the folder inside Yeko's package (hatch force-include); a
    # checkout or an editable install keeps it at the top of the repository.
    inside = _PACKAGE / name
    return inside if inside.is_dir() else _CHECKOUT / name


def sql_dir() -> Path:
    """Return the folder of Yeko's bundled ``.sql`` query files."""
    return _bundled("sql")


def migrations_dir() -> Path:
    """Return the folder of Yeko's bundled yoyo migrations."""
    return _bundled("migrations")


@cache
def load_yeko_queries() -> Registry:
    """Yeko's bundled queries with its Structs, loaded once per process.

    Works installed from a wheel as well as in a checkout: it needs no
    ``[tool.yeko-sql]``. A ``Registry`` is immutable, so sharing it is safe.
    """
    return load_queries(sql_dir(), models=[DOMAIN])
