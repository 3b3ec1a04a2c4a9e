"""``python -m benchmarks``: yeko-sql against its peers, one run, ratios to floors.

Starts a throwaway PostgreSQL on tmpfs (or uses ``--url``), migrates it and
fills it (``benchmarks.data``), runs every workload interleaved over several
rounds (``benchmarks.harness``), then writes ``results/benchmarks.md``,
``.json`` and ``.png``. ``--tiny`` runs every case once on a few hundred rows,
only to prove the harness works (``make test`` does).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import msgspec
import psycopg

from benchmarks.data import Sizes, build
from benchmarks.harness import Group, run_groups
from benchmarks.memory import memory_groups
from benchmarks.paging import paging_group
from benchmarks.peers import Bench
from benchmarks.reads import fetch_group, lookup_groups, throughput_group
from benchmarks.replicas import replica_groups
from benchmarks.report import Target, chart, check_targets, environment, markdown
from benchmarks.startup import startup_group
from benchmarks.writes import bulk_insert_group, update_group, upsert_group
from yeko_sql.ops.devserver import DevServer

RESULTS = Path(__file__).parent / "results"

_YEKO_FETCH = "yeko-sql :many → Struct"


def targets(sizes: Sizes) -> list[Target]:
    """The ratios yeko-sql must stay within (issues 6 and 12)."""
    fetch = f"fetch_{max(sizes.fetch)}"
    rows = f"{max(sizes.fetch):,}"
    peers = (
        "psycopg class_row → Struct",
        "aiosql (psycopg) record_class → Struct",
        "SQLAlchemy ORM → mapped objects",
        "asyncpg → Record → Struct",
    )
    return [
        Target(
            what=f"fetch {rows} into Structs vs psycopg tuples",
            group=fetch,
            case=_YEKO_FETCH,
            against="psycopg tuples (floor)",
            limit=1.10,  # issue 12: with every row checked (NULLs, Literals)
        ),
        *(
            Target(
                what=f"fetch {rows}: faster than {peer}",
                group=fetch,
                case=_YEKO_FETCH,
                against=peer,
                limit=1.0,
            )
            for peer in peers
        ),
        Target(
            what="pooled lookup vs prepared execute on a held connection",
            group="lookup",
            case="yeko-sql :one through the pool",
            against="psycopg prepared execute, held connection (floor)",
            limit=1.15,
        ),
        Target(
            what="async pooled lookup vs asyncpg prepared fetchrow (held)",
            group="lookup_async",
            case="yeko-sql AsyncDatabase :one through the pool",
            against="asyncpg prepared fetchrow, held connection (floor)",
            limit=1.2,
        ),
        Target(
            what="yeko-sql --help starts faster than Python importing psycopg",
            group="startup",
            case="yeko-sql --help",
            against="python -c 'import psycopg'",
            limit=1.0,  # issue 16: --help in at most 0.15 s
        ),
        Target(
            what=f"bulk insert {sizes.bulk:,}: copy_structs vs binary COPY",
            group="bulk_insert",
            case="yeko-sql copy_structs",
            against="psycopg binary COPY of tuples (floor)",
            limit=1.05,
        ),
        Target(
            what=f"batch upsert {sizes.upsert:,} vs COPY of as many rows",
            group="upsert",
            case="yeko-sql upsert_students(**columns_of(rows))",
            against=f"psycopg binary COPY of {sizes.upsert:,} new rows (floor)",
            limit=1.3,
        ),
        Target(
            what=f"keyset page {sizes.deep_page:,} vs page 1",
            group="paging",
            case=f"keyset, page {sizes.deep_page:,}",
            against="keyset, page 1 (floor)",
            limit=1.5,
        ),
        Target(
            what=f"peak memory of the {rows} fetch vs tuples",
            group="memory_fetch",
            case=_YEKO_FETCH,
            against="psycopg tuples (floor)",
            limit=1.2,
        ),
        Target(
            what=(
                f"streaming {sizes.enrollments:,} rows: peak memory vs"
                " holding them in a list (constant memory)"
            ),
            group="stream",
            case="yeko-sql :stream → Struct",
            against="yeko-sql :many, every row in one list",
            limit=0.01,
        ),
    ]


def _server(stack: ExitStack) -> DevServer:
    root = tempfile.mkdtemp(prefix="yeko-bench-", dir="/dev/shm")
    os.chmod(root, 0o755)  # noqa: S103  (the postgres user must enter it when root)
    server = DevServer(root, fsync=False)
    stack.callback(server.destroy)
    server.start()
    return server


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--url", help="an existing database (default: a new server)")
    parser.add_argument("--tiny", action="store_true", help="a few rows, one round")
    parser.add_argument("--rounds", type=int, help="rounds (default 5; tiny 1)")
    parser.add_argument("--only", help="run only groups whose key starts so (a,b)")
    parser.add_argument("--no-write", action="store_true", help="don't write results/")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Start a server, build the data, run every workload, report."""
    args = _parser().parse_args(argv)
    sizes = Sizes.tiny() if args.tiny else Sizes()
    rounds = args.rounds or sizes.rounds
    start = time.perf_counter()
    load = [f"{os.getloadavg()[0]:.2f}"]

    def log(text: str) -> None:
        sys.stderr.write(f"[{time.perf_counter() - start:5.0f} s] {text}\n")

    with ExitStack() as stack:
        server = None if args.url else _server(stack)
        url = args.url or server.create_database("yeko_bench")  # type: ignore[union-attr]
        log("building the data")
        build(url, sizes)
        with psycopg.connect(url) as conn:
            server_version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        b = stack.enter_context(Bench(url))
        groups: list[Group] = [
            *(fetch_group(b, rows) for rows in sizes.fetch),
            *lookup_groups(b, sizes),
            *(stack.enter_context(throughput_group(b, sizes, n)) for n in (8, 32)),
            paging_group(b, sizes),
            bulk_insert_group(b, sizes),
            upsert_group(b, sizes),
            update_group(b, sizes),
            startup_group(),
            # A standby of the server this run started (not of a --url one).
            *(
                stack.enter_context(replica_groups(server, url, sizes))
                if server is not None
                else []
            ),
            *memory_groups(
                url,
                fetch_rows=max(sizes.fetch),
                stream_rows=sizes.enrollments,
                quick=args.tiny,
            ),
        ]
        if args.only:
            groups = [
                g for g in groups if g.key.startswith(tuple(args.only.split(",")))
            ]
        results = run_groups(groups, rounds=rounds, warm=not args.tiny, log=log)
    load.append(f"{os.getloadavg()[0]:.2f}")
    log("done")
    checked = check_targets([t for t in targets(sizes) if t.group in results], results)
    header = environment(server_version, " and ".join(load))
    table = markdown(groups, results, checked, header=header, rounds=rounds)
    sys.stdout.write(table)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "benchmarks.md").write_text(table)
        (RESULTS / "benchmarks.json").write_bytes(
            msgspec.json.format(
                msgspec.json.encode(
                    {
                        "header": header,
                        "titles": {g.key: g.title for g in groups},
                        "results": results,
                        "targets": checked,
                    }
                )
            )
        )
        title = "yeko-sql against its peers: × floor, lower is better. " + " ".join(
            header
        )
        chart(groups, results, RESULTS / "benchmarks.png", title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
