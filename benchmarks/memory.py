"""Peak memory, measured in a fresh subprocess per sample.

``tracemalloc`` sees only Python's allocator, not libpq's result buffers, so
each sample runs in its own interpreter: connect, warm up (imports, prepared
statements, row makers) on a 10-row fetch, reset the kernel's peak-RSS mark
(``/proc/self/clear_refs``), do the work with the rows kept alive, then read
the peak (``VmHWM``) minus the RSS before. ``python -m benchmarks.memory URL
CASE ROWS`` prints one JSON line: ``{"peak": bytes, "seconds": float}``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from benchmarks.data import SCHOOL_ID
from benchmarks.harness import Group, Outcome

__all__ = ["FETCH_CASES", "STREAM_CASES", "memory_groups"]

S = SCHOOL_ID
FETCH_CASES = {
    "psycopg tuples (floor)": "tuples",
    "psycopg class_row → Struct": "class_row",
    "yeko-sql :many → Struct": "yeko",
    "aiosql (psycopg) record_class → Struct": "aiosql",
    "SQLAlchemy Core text() → Row": "core",
    "SQLAlchemy ORM → mapped objects": "orm",
    "asyncpg → Record": "asyncpg",
    "asyncpg → Record → Struct": "asyncpg_struct",
}
STREAM_CASES = {
    "psycopg cursor.stream → tuples (floor)": "stream_tuples",
    "yeko-sql :stream → Struct": "stream_yeko",
    "psycopg server-side cursor → class_row Struct": "stream_named",
    "SQLAlchemy Core yield_per(1000) → Row": "stream_core",
    "asyncpg cursor(prefetch=1000) → Record": "stream_asyncpg",
    "aiosql (psycopg) generator → Struct (not streamed)": "stream_aiosql",
    "yeko-sql :many, every row in one list": "stream_all",
}
_CHUNK = 1000


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _count(rows: Iterable[object]) -> int:
    return sum(1 for _ in rows)


def _maker(url: str, case: str) -> Callable[[int | None], Any]:  # noqa: PLR0915
    """Return work(rows): fetch *rows* (None: stream them all) the *case* way."""
    import psycopg  # noqa: PLC0415  (each case imports only what it needs)
    from psycopg.rows import class_row, tuple_row  # noqa: PLC0415

    from benchmarks.peers import registry  # noqa: PLC0415
    from yeko_sql.yeko.domain.enrollments import Enrollment  # noqa: PLC0415

    queries = registry()
    fetch_sql = queries["bench.list_enrollments"].compiled
    stream_sql = queries["bench.stream_enrollments"].compiled
    source = queries["bench.list_enrollments"].sql
    if case in {"tuples", "class_row", "stream_tuples", "stream_named"}:
        conn = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.RawCursor)
        factory: Any = class_row(Enrollment) if case != "tuples" else tuple_row

        def raw(rows: int | None) -> Any:
            if rows is None and case == "stream_named":
                named = psycopg.RawServerCursor(conn, "all", row_factory=factory)
                with conn.transaction(), named as server:
                    server.itersize = _CHUNK
                    return _count(server.execute(stream_sql, [S]))
            if rows is None:
                return _count(conn.cursor().stream(stream_sql, [S], size=_CHUNK))
            cur = psycopg.RawCursor(conn, row_factory=factory)
            return cur.execute(fetch_sql, [S, rows]).fetchall()

        return raw
    if case in {"yeko", "stream_yeko", "stream_all"}:
        from yeko_sql import Database, Settings  # noqa: PLC0415

        db = Database(url, queries=queries, settings=Settings(min_size=1, max_size=1))
        db.open()

        def yeko(rows: int | None) -> Any:
            if rows is None and case == "stream_yeko":
                return _count(db.bench.stream_enrollments(school_id=S))
            return db.bench.list_enrollments(school_id=S, limit=rows or 10**9)

        return yeko
    if case in {"aiosql", "stream_aiosql"}:
        import aiosql  # noqa: PLC0415

        from benchmarks.peers import aiosql_text  # noqa: PLC0415

        aq: Any = aiosql.from_str(
            aiosql_text(queries), "psycopg", record_classes={"Enrollment": Enrollment}
        )
        plain = psycopg.connect(url, autocommit=True)

        def with_aiosql(rows: int | None) -> Any:
            found = aq.list_enrollments(plain, school_id=S, limit=rows or 10**9)
            return _count(found) if rows is None else list(found)

        return with_aiosql
    if case in {"core", "orm", "stream_core"}:
        import sqlalchemy as sa  # noqa: PLC0415
        from sqlalchemy import orm  # noqa: PLC0415

        from benchmarks.peers import EnrollmentModel, sqlalchemy_url  # noqa: PLC0415

        engine = sa.create_engine(sqlalchemy_url(url))  # yield_per needs a transaction
        text = sa.text(source)

        def with_sqlalchemy(rows: int | None) -> Any:
            if rows is None:
                with engine.connect() as conn:
                    opts = conn.execution_options(yield_per=_CHUNK)
                    return _count(opts.execute(text, {"school_id": S, "limit": 10**9}))
            if case == "orm":
                query = (
                    sa.select(EnrollmentModel)
                    .where(EnrollmentModel.school_id == S)
                    .order_by(EnrollmentModel.id)
                    .limit(rows)
                )
                with orm.Session(engine) as session:
                    return list(session.scalars(query).all())
            with engine.connect() as conn:
                return list(conn.execute(text, {"school_id": S, "limit": rows}).all())

        return with_sqlalchemy
    import asyncpg  # type: ignore[import-untyped]  # noqa: PLC0415

    from benchmarks.peers import asyncpg_url  # noqa: PLC0415

    loop = asyncio.new_event_loop()
    apg = loop.run_until_complete(asyncpg.connect(asyncpg_url(url)))

    async def with_asyncpg(rows: int | None) -> Any:
        if rows is None:
            async with apg.transaction():
                cursor = apg.cursor(stream_sql, S, prefetch=_CHUNK)
                return sum([1 async for _ in cursor])
        records = await apg.fetch(fetch_sql, S, rows)
        if case == "asyncpg_struct":
            return [Enrollment(**r) for r in records]
        return records

    return lambda rows: loop.run_until_complete(with_asyncpg(rows))


def measure(url: str, case: str, rows: int | None) -> dict[str, float]:
    """Warm *case* up, then run it once and return its peak RSS growth and time."""
    work = _maker(url, case)
    kept = work(10)
    del kept
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    before = _status("VmRSS")
    start = time.perf_counter()
    kept = work(rows)
    seconds = time.perf_counter() - start
    peak = _status("VmHWM") - before
    del kept  # held until the peak was read
    return {"peak": peak, "seconds": seconds}


def _in_subprocess(url: str, case: str, rows: int | None) -> Outcome:
    done = subprocess.run(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-m", "benchmarks.memory", url, case, str(rows or 0)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory case {case!r} failed:\n{done.stderr}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return Outcome(value=found["peak"], seconds=found["seconds"])


def memory_groups(
    url: str, *, fetch_rows: int, stream_rows: int, quick: bool = False
) -> list[Group]:
    """Peak memory of a *fetch_rows* fetch and of streaming *stream_rows* rows.

    *quick* keeps only the floor and yeko-sql's cases (a subprocess each).
    """

    def case(name: str, rows: int | None) -> Callable[[], Outcome]:
        return lambda: _in_subprocess(url, name, rows)

    def chosen(cases: dict[str, str]) -> dict[str, str]:
        keep = ("floor", "yeko-sql")
        return {
            k: v for k, v in cases.items() if not quick or any(w in k for w in keep)
        }

    return [
        Group(
            key="memory_fetch",
            title=f"peak memory of a {fetch_rows:,}-row fetch (MB above baseline)",
            unit="MB",
            scale=1 / 2**20,
            measures="peak RSS",
            max_rounds=2,
            cases={n: case(c, fetch_rows) for n, c in chosen(FETCH_CASES).items()},
        ),
        Group(
            key="stream",
            title=f"reading all {stream_rows:,} rows (MB above baseline)",
            unit="MB",
            scale=1 / 2**20,
            measures="peak RSS",
            max_rounds=1,
            cases={n: case(c, None) for n, c in chosen(STREAM_CASES).items()},
        ),
    ]


def main(argv: list[str]) -> int:
    """Child entry point: measure one case, print JSON."""
    url, case, rows = argv
    result = measure(url, case, int(rows) or None)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
