"""Engine benchmark: yeko-sql against raw psycopg, same SQL, same server, one run.

Cases are interleaved over several rounds and the median of each is compared
with its floor, so machine noise hits every case alike:

- fetch N rows: raw ``fetchall()`` of tuples (the floor), psycopg's
  ``args_row`` and ``class_row`` into the same Struct, and a yeko-sql ``:many``
  query through the pool into that Struct;
- primary-key lookup: a prepared ``execute`` + ``fetchone`` on one held
  connection (the floor) against a pooled yeko-sql ``:opt`` query.

Run ``python -m benchmarks.engine`` (``make bench``); ``--rows`` and
``--rounds`` shrink it (``make test`` runs it tiny, only to prove it works).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import msgspec
import psycopg
from psycopg.rows import args_row, class_row

from yeko_sql import Database, Settings, load_queries
from yeko_sql.devserver import DevServer

RESULTS = Path(__file__).parent / "results"

QUERIES = """
-- name: list_bench_rows :many
-- returns: benchmarks.engine.BenchRow
SELECT id, name, code, status, n, amount, created_at
FROM bench_rows
ORDER BY id
LIMIT :limit;

-- name: list_bench_rows_positional :many
-- returns: benchmarks.engine.BenchRowPositional
SELECT id, name, code, status, n, amount, created_at
FROM bench_rows
ORDER BY id
LIMIT :limit;

-- name: find_bench_row :opt
-- returns: benchmarks.engine.BenchRow
SELECT id, name, code, status, n, amount, created_at
FROM bench_rows
WHERE id = :id;
"""
FETCH_SQL = (
    "SELECT id, name, code, status, n, amount, created_at FROM bench_rows"
    " ORDER BY id LIMIT $1"
)
LOOKUP_SQL = (
    "SELECT id, name, code, status, n, amount, created_at FROM bench_rows WHERE id = $1"
)


class BenchRow(msgspec.Struct, frozen=True, kw_only=True):
    """The row every case decodes into."""

    id: str
    name: str
    code: str
    status: Literal["active", "suspended", "archived"]
    n: int
    amount: Decimal
    created_at: datetime


class BenchRowPositional(msgspec.Struct, frozen=True):
    """The same row as a positional Struct, which psycopg's ``args_row`` needs."""

    id: str
    name: str
    code: str
    status: Literal["active", "suspended", "archived"]
    n: int
    amount: Decimal
    created_at: datetime


def _setup(url: str, rows: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_rows")
        conn.execute(
            "CREATE TABLE bench_rows (id text PRIMARY KEY, name text NOT NULL,"
            " code text NOT NULL, status text NOT NULL, n int NOT NULL,"
            " amount numeric(14, 2) NOT NULL, created_at timestamptz NOT NULL)"
        )
        conn.execute(
            "INSERT INTO bench_rows SELECT lpad(g::text, 21, '0'), 'Lycée n° ' || g,"
            " 'C' || g, (ARRAY['active', 'suspended', 'archived'])[1 + g %% 3], g,"
            " (g * 1.25)::numeric(14, 2), now() - g * interval '1 minute'"
            " FROM generate_series(1, %s) AS g",
            [rows],
        )
        conn.execute("VACUUM ANALYZE bench_rows")


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(
    url: str, *, rows: int, lookups: int, rounds: int
) -> dict[str, dict[str, float]]:
    """Run every case *rounds* times, interleaved; return medians in seconds."""
    _setup(url, rows)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "bench.sql").write_text(QUERIES)
        queries = load_queries(folder, models=["benchmarks.engine"])
    settings = Settings(min_size=1, max_size=2)
    ids = [str(i).rjust(21, "0") for i in range(1, lookups + 1)]
    with (
        Database(url, queries=queries, settings=settings) as db,
        psycopg.connect(url, autocommit=True, cursor_factory=psycopg.RawCursor) as conn,
    ):
        fetch: dict[str, Callable[[], object]] = {
            "tuples (floor)": lambda: conn.execute(FETCH_SQL, [rows]).fetchall(),
            "psycopg args_row (positional Struct)": lambda: (
                conn.cursor(row_factory=args_row(BenchRowPositional))
                .execute(FETCH_SQL, [rows])
                .fetchall()
            ),
            "psycopg class_row (kw_only Struct)": lambda: (
                conn.cursor(row_factory=class_row(BenchRow))
                .execute(FETCH_SQL, [rows])
                .fetchall()
            ),
            "yeko-sql :many (kw_only Struct)": lambda: db.bench.list_bench_rows(
                limit=rows
            ),
            "yeko-sql :many (positional Struct)": lambda: (
                db.bench.list_bench_rows_positional(limit=rows)
            ),
        }

        def held() -> None:
            for key in ids:
                conn.execute(LOOKUP_SQL, [key], prepare=True).fetchone()

        def pooled() -> None:
            find = db.bench.find_bench_row
            for key in ids:
                find(id=key)

        lookup: dict[str, Callable[[], object]] = {
            "prepared execute, held connection (floor)": held,
            "yeko-sql :opt through the pool": pooled,
        }
        for case in (*fetch.values(), *lookup.values()):
            case()  # warm up: prepare statements, fill caches
        samples: dict[str, list[float]] = {name: [] for name in (*fetch, *lookup)}
        for _ in range(rounds):
            for name, case in (*fetch.items(), *lookup.items()):
                samples[name].append(_timed(case))
    medians = {name: statistics.median(times) for name, times in samples.items()}
    return {
        "fetch": {name: medians[name] for name in fetch},
        "lookup": {name: medians[name] / lookups for name in lookup},
    }


def report(results: dict[str, dict[str, float]], *, rows: int, lookups: int) -> str:
    """Format results as a markdown table with ratios to each group's floor."""
    lines = [
        f"# yeko-sql engine benchmark ({datetime.now():%Y-%m-%d %H:%M})",
        "",
        f"Machine: {platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, psycopg {psycopg.__version__}, "
        f"libpq {psycopg.pq.version()}, msgspec {msgspec.__version__}",
        "",
        "| case | median | ratio to floor |",
        "|---|---:|---:|",
    ]
    for group, unit, scale, title in (
        ("fetch", "ms", 1e3, f"fetch {rows:,} rows"),
        ("lookup", "µs", 1e6, f"primary-key lookup (per call, {lookups:,} calls)"),
    ):
        cases = results[group]
        floor = next(iter(cases.values()))
        lines.append(f"| **{title}** | | |")
        for name, seconds in cases.items():
            lines.append(
                f"| {name} | {seconds * scale:.1f} {unit} | {seconds / floor:.3f}× |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Start a throwaway server, run the cases, print and store the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--url", help="an existing database (default: a throwaway server)"
    )
    parser.add_argument("--no-write", action="store_true", help="don't write results/")
    args = parser.parse_args(argv)
    server = None
    url = args.url
    if url is None:
        server = DevServer(
            tempfile.mkdtemp(prefix="yeko-bench-", dir="/dev/shm"), fsync=False
        )
        url = server.start()
    try:
        results = run(url, rows=args.rows, lookups=args.lookups, rounds=args.rounds)
    finally:
        if server is not None:
            server.destroy()
    table = report(results, rows=args.rows, lookups=args.lookups)
    sys.stdout.write(table)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "engine.md").write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
