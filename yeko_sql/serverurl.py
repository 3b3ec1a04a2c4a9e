"""Which database a command uses: explicit, DATABASE_URL, or the local server."""

from __future__ import annotations

import os

import psycopg
from psycopg import sql

from yeko_sql.devserver import DevServer

__all__ = ["database_beside", "resolve_url"]


def resolve_url(explicit: str | None, *, dbname: str = "yeko") -> str:
    """Return *explicit*, else ``DATABASE_URL``, else a database on the local server.

    The local server is started when needed and *dbname* created on it.
    """
    if explicit:
        return explicit
    if env := os.environ.get("DATABASE_URL"):
        return env
    return DevServer().create_database(dbname)


def database_beside(url: str, dbname: str) -> str:
    """Create *dbname* on the server of *url* unless it exists; return its URL."""
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [dbname]
        ).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    params = psycopg.conninfo.conninfo_to_dict(url)
    params["dbname"] = dbname
    return psycopg.conninfo.make_conninfo("", **params)
