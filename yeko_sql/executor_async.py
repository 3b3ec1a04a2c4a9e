"""The asyncio twin of ``Runner.run``.

``Runner.call`` is one generator of libpq steps for both twins; only the
awaits differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

from yeko_sql.executor import Runner

__all__ = ["run_async"]


async def run_async(
    runner: Runner, conn: psycopg.AsyncConnection[Any], kwargs: Mapping[str, object]
) -> Any:
    """Run *runner*'s query on *conn* and return its shaped result."""
    async with conn.lock:
        return await conn.wait(runner.call(conn, kwargs))
