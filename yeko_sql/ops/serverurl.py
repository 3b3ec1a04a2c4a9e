"""URLs for each role: the owner's, the application's, and to show them.

Commands that change the schema or load data (``migrate``, ``seed``, the
demo's setup) run as the owner: an explicit URL, else ``DATABASE_URL``, else
the superuser of the local server (``yeko_sql.cli.url_of``). The application
runs as its own role
(``[tool.yeko-sql] app_role``; Yeko's ``yeko_app`` is scoped to one school at
a time by Row-Level Security): ``yeko-sql server url`` hands out that role's
URL, and ``role_url`` turns an owner's URL into any role's, with the role's own
password when the URL is the local server's.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from yeko_sql.ops.devserver import server_for

__all__ = [
    "OWNER",
    "database_beside",
    "masked",
    "role_url",
]

OWNER = "owner"
"""The ``-- role:`` value naming the schema owner (whoever migrates)."""


def role_url(url: str, role: str) -> str:
    """*url* with *role* as its user; *url* itself for ``owner``.

    The owner's password is not the role's, so it is dropped. On a local
    server this process knows (``devserver.server_for``) the URL carries the
    role's own password instead, which the server makes and sets on the role
    when it exists. Elsewhere the migrations leave the roles without one: set
    it with ``ALTER ROLE`` and give it through a ``.pgpass`` (``PGPASSFILE``).
    """
    if role == OWNER:
        return url
    params = psycopg.conninfo.conninfo_to_dict(url)
    params.pop("password", None)
    params["user"] = role
    if (server := server_for(url)) is not None:
        params["password"] = server.password(role)
    return psycopg.conninfo.make_conninfo("", **params)


def masked(url: str) -> str:
    """*url* to show: its password, if any, replaced by ``***``."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "<database url>"
    if "password" not in params:
        return url
    params["password"] = "***"  # noqa: S105  (the mask, not a secret)
    return psycopg.conninfo.make_conninfo("", **params)


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
