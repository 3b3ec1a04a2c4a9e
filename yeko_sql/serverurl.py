"""Which database a command uses: explicit, DATABASE_URL, or the local server."""

from __future__ import annotations

import os

from yeko_sql.devserver import DevServer

__all__ = ["resolve_url"]


def resolve_url(explicit: str | None, *, dbname: str = "yeko") -> str:
    """Return *explicit*, else ``DATABASE_URL``, else a database on the local server.

    The local server is started when needed and *dbname* created on it.
    """
    if explicit:
        return explicit
    if env := os.environ.get("DATABASE_URL"):
        return env
    return DevServer().create_database(dbname)
