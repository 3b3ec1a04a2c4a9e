"""Where the bundled query files and migrations are, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["migrations_dir", "sql_dir"]

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
