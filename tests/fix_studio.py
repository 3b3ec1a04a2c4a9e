"""A seeded copy of Yeko's migrated template, for the studio's test modules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from yeko_sql.yeko.seed.run import seed_database


@contextmanager
def seeded_copy(server: Any, template: str, name: str) -> Iterator[str]:
    """Database *name* cloned from *template*, seeded tiny; dropped after."""
    ident = sql.Identifier(name)
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident)
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(drop)
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                ident, sql.Identifier(template)
            )
        )
    url: str = server.url(name)
    seed_database(url, size="tiny", progress=False)
    try:
        yield url
    finally:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(drop)
