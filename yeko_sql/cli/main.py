"""The ``yeko-sql`` command line: one function per subcommand.

Server, migrations and the demo live here; the query tools (list, show,
check, describe, generate, explain, guardrails, stats) in ``cliquery``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from yeko_sql.cli import query as cliquery
from yeko_sql.errors import YekoSqlError
from yeko_sql.ops.devserver import OWNER_USER, DevServer
from yeko_sql.ops.migrate import (
    apply_migrations,
    break_lock,
    invalid_indexes,
    list_migrations,
    lock_holder,
    mark_migrations,
    migration_status,
    reconcile_migrations,
    rehash_migrations,
    rollback_migrations,
)
from yeko_sql.ops.serverurl import APP_ROLE, database_beside, resolve_url
from yeko_sql.yeko.demo import run_demo
from yeko_sql.yeko.seed.run import seed_database

__all__ = ["main", "resolve_url"]

Handler = Callable[[argparse.Namespace], int]
Option = tuple[tuple[str, ...], dict[str, Any]]


def _server(args: argparse.Namespace) -> int:
    server = DevServer()
    match args.action:
        case "start":
            print(server.start())
        case "stop":
            print("stopped" if server.stop() else "not running")
        case "status":
            status = server.status()
            state = "running" if status.running else "stopped"
            print(
                f"{state}  data={status.data_dir}  port={status.port}  pid={status.pid}"
            )
            return 0 if status.running else 3
        case "url":
            user = OWNER_USER if args.owner else APP_ROLE
            print(server.url(args.dbname, user=user))
            if (hint := _missing_on(server, args.dbname, user)) is not None:
                print(f"yeko-sql: {hint}", file=sys.stderr)
        case "destroy":
            removed = server.destroy()
            print(f"removed {server.root}" if removed else f"nothing in {server.root}")
    return 0


def _missing_on(server: DevServer, dbname: str, user: str) -> str | None:
    """What a URL for *user* on *dbname* still waits for, on a running server."""
    if not server.status().running:
        return None
    with psycopg.connect(server.url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %s),"
            " EXISTS (SELECT FROM pg_database WHERE datname = %s)",
            [user, dbname],
        ).fetchone()
    if row is None or all(row):
        return None
    missing = f"role {user!r}" if not row[0] else f"database {dbname!r}"
    return (
        f"{missing} does not exist yet; run 'yeko-sql migrate' (make migrate), "
        "then ask for this URL again: that gives the role its password"
    )


def _migrate(args: argparse.Namespace) -> int:
    if args.action == "list":
        for migration_id, message in list_migrations():
            print(f"{migration_id}  {message}")
        return 0
    url = resolve_url(args.database_url)
    match args.action:
        case "apply":
            applied = apply_migrations(url, lock_timeout=args.lock_timeout, say=print)
            print(
                f"applied {len(applied)} migration(s)"
                + "".join(f"\n  {m}" for m in applied)
            )
        case "rollback":
            count = None if args.all else args.count
            undone = rollback_migrations(
                url, count=count, lock_timeout=args.lock_timeout
            )
            print(
                f"rolled back {len(undone)} migration(s)"
                + "".join(f"\n  {m}" for m in undone)
            )
        case "status":
            return _migrate_status(url)
        case "reconcile":
            return _migrate_reconcile(url, args)
        case "mark" | "unmark":
            marked = mark_migrations(
                url,
                args.ids,
                applied=args.action == "mark",
                lock_timeout=args.lock_timeout,
            )
            done = "recorded" if args.action == "mark" else "un-recorded"
            print(
                f"{done} {len(marked)} migration(s)"
                + "".join(f"\n  {m}" for m in marked)
            )
        case "break-lock":
            _migrate_break_lock(url)
        case "rehash":
            report = rehash_migrations(url, lock_timeout=args.lock_timeout)
            for label, ids in (
                ("newly recorded", report.recorded),
                ("changed", report.changed),
                ("forgotten (not applied)", report.forgotten),
            ):
                print(f"{label}: {len(ids)}" + "".join(f"\n  {m}" for m in ids))
            print(f"unchanged: {len(report.unchanged)}")
    return 0


def _migrate_reconcile(url: str, args: argparse.Namespace) -> int:
    actions = reconcile_migrations(
        url, dry_run=args.dry_run, lock_timeout=args.lock_timeout
    )
    would = {"record": "would record", "unrecord": "would un-record"}
    for a in actions:
        said = would.get(a.action, a.action) if args.dry_run else a.action
        print(f"{said:<16} {a.id}  {a.reason}")
    if not actions:
        print("records and schema agree; nothing to do")
    return 1 if any(a.action == "leave" for a in actions) else 0


def _migrate_break_lock(url: str) -> None:
    removed = break_lock(url)
    print(
        "removed a legacy yoyo_lock row"
        if removed
        else "no legacy yoyo_lock row; nothing to break"
    )
    print(
        "yeko-sql locks with a PostgreSQL advisory lock that ends with the "
        "run's session, so a killed run needs no break-lock"
    )
    if (holder := lock_holder(url)) is not None:
        print(f"the lock is held now by {holder}")


def _migrate_status(url: str) -> int:
    states = migration_status(url)
    holder = lock_holder(url)
    problem = False
    for state in states:
        mark = "applied" if state.applied else "pending"
        if state.unverified:
            mark, problem = "UNVERIFIED", True
        if state.edited:
            mark, problem = "EDITED", True
        print(f"{mark:<10}  {state.id}  {state.message}")
        for index in state.invalid_indexes:
            print(
                f"  INVALID index {index}: run 'yeko-sql migrate apply' (it drops it "
                f"and runs {state.id} again), or DROP INDEX CONCURRENTLY {index}; then "
                "'yeko-sql migrate apply'"
                + (f" (a run is in progress: {holder})" if holder else "")
            )
            problem = problem or holder is None
    known = {i for s in states for i in s.invalid_indexes}
    for index, _owner in invalid_indexes(url):
        if index not in known:
            print(
                f"  INVALID index {index} (no migration builds it): "
                f"DROP INDEX CONCURRENTLY {index}"
            )
            problem = True
    if any(s.unverified for s in states):
        print(
            "UNVERIFIED: applied, but no checksum was recorded; check the files match "
            "what ran, then 'yeko-sql migrate rehash'"
        )
    if holder is not None:
        print(f"a migration run holds the lock: {holder}")
    return 1 if problem else 0


def _demo(args: argparse.Namespace) -> int:
    explicit = args.database_url or os.environ.get("DATABASE_URL")
    if explicit:
        url = database_beside(explicit, "yeko_demo")
    else:
        url = DevServer().create_database("yeko_demo")
    return run_demo(url, out=sys.stdout, seed=args.seed)


def _seed(args: argparse.Namespace) -> int:
    url = resolve_url(args.database_url)
    apply_migrations(url)
    report = seed_database(url, size=args.size, seed=args.seed, reset=args.reset)
    for table, count in report.counts.items():
        print(f"{table:<28} {count:>10,}")
    print(f"seeded {report.size} (seed {report.seed}) in {report.seconds:.1f} s")
    return 0


def _opt(*flags: str, **kwargs: Any) -> Option:
    return flags, kwargs


URL = _opt("--database-url", help="default: DATABASE_URL, else the local server")
PATHS = _opt("paths", nargs="*", help="folders or .sql files (default: Yeko's own)")
MODELS = _opt(
    "--models",
    action="append",
    default=[],
    help="module of Structs '-- returns:' may name (repeatable)",
)
QUERY = _opt("query", help="<namespace>.<query>, e.g. schools.get_school")
RUNS = _opt("--runs", type=int, default=5, help="EXPLAIN ANALYZE runs per query")

COMMANDS: list[tuple[str, Handler, str, list[Option]]] = [
    (
        "server",
        _server,
        "the local throwaway PostgreSQL",
        [
            _opt("action", choices=["start", "stop", "status", "url", "destroy"]),
            _opt("--dbname", default="yeko", help="database for 'url'"),
            _opt(
                "--owner",
                action="store_true",
                help="'url': the superuser's URL (migrations, seeding), not yeko_app's",
            ),
        ],
    ),
    (
        "migrate",
        _migrate,
        "apply or inspect yoyo migrations",
        [
            _opt(
                "action",
                nargs="?",
                default="apply",
                choices=[
                    "apply",
                    "status",
                    "rollback",
                    "list",
                    "reconcile",
                    "mark",
                    "unmark",
                    "rehash",
                    "break-lock",
                ],
            ),
            _opt("ids", nargs="*", help="mark, unmark: migration ids"),
            URL,
            _opt("--count", type=int, default=1, help="rollback: how many"),
            _opt("--all", action="store_true", help="rollback: every migration"),
            _opt(
                "--dry-run",
                action="store_true",
                help="reconcile: show what would be recorded or un-recorded",
            ),
            _opt(
                "--lock-timeout",
                type=float,
                default=60.0,
                help="seconds to wait for another run's lock",
            ),
        ],
    ),
    (
        "list",
        cliquery.list_queries,
        "namespaces, queries, kinds, one-line docs",
        [PATHS, MODELS],
    ),
    (
        "show",
        cliquery.show,
        "one query: doc, parameters, returns, SQL",
        [QUERY, PATHS, MODELS],
    ),
    (
        "check",
        cliquery.check,
        "verify every query against the migrated schema",
        [
            PATHS,
            MODELS,
            URL,
            _opt(
                "--app-role",
                help="check queries with no '-- role:' as run by this role",
            ),
        ],
    ),
    (
        "describe",
        cliquery.describe,
        "what every query takes and returns",
        [
            PATHS,
            MODELS,
            URL,
            _opt("--json", action="store_true", help="versioned JSON"),
        ],
    ),
    (
        "generate",
        cliquery.generate,
        "write the typed stub (yeko_sql/yeko/typed.pyi)",
        [
            PATHS,
            MODELS,
            URL,
            _opt("--out", help="the .pyi to write (default: yeko_sql/yeko/typed.pyi)"),
            _opt(
                "--check",
                action="store_true",
                help="write nothing; exit 1 with a diff when stale",
            ),
        ],
    ),
    (
        "explain",
        cliquery.explain,
        "one query's plan under EXPLAIN ANALYZE, judged",
        [
            QUERY,
            PATHS,
            MODELS,
            URL,
            RUNS,
            _opt(
                "-p",
                "--param",
                action="append",
                default=[],
                help="key=value (JSON values parse: 3, [1,2], null)",
            ),
        ],
    ),
    (
        "guardrails",
        cliquery.guardrails,
        "every budgeted query's plan, judged",
        [
            PATHS,
            MODELS,
            URL,
            RUNS,
            _opt(
                "--write-plans",
                action="store_true",
                help="store each plan's shape beside the SQL",
            ),
            _opt(
                "--check-plans",
                action="store_true",
                help="fail when a stored plan shape is stale",
            ),
            _opt("--plans-dir", help="default: sql/plans"),
        ],
    ),
    (
        "plans",
        cliquery.plans,
        "store or compare plan shapes beside the SQL",
        [
            PATHS,
            MODELS,
            URL,
            _opt("--write", action="store_true", help="store the shapes in sql/plans/"),
            _opt("--plans-dir", help="default: sql/plans"),
        ],
    ),
    (
        "stats",
        cliquery.stats,
        "database health against the guardrails",
        [
            URL,
            _opt("--json", action="store_true", help="machine-readable output"),
            _opt("--strict", action="store_true", help="exit 1 when a guardrail fails"),
            _opt("--top", type=int, default=20, help="how many statements to list"),
        ],
    ),
    (
        "seed",
        _seed,
        "load deterministic, realistic data (migrating first)",
        [
            URL,
            _opt("--size", choices=["tiny", "demo", "scale"], default="demo"),
            _opt(
                "--seed", type=int, default=0, help="the same seed gives the same rows"
            ),
            _opt("--reset", action="store_true", help="empty the domain tables first"),
        ],
    ),
    (
        "demo",
        _demo,
        "seed the yeko_demo database and tour it",
        [
            _opt(
                "--database-url",
                help="an owner's URL of a server to create yeko_demo on "
                "(default: the local server)",
            ),
            _opt(
                "--seed", type=int, default=0, help="the same seed gives the same rows"
            ),
        ],
    ),
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yeko-sql", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler, text, options in COMMANDS:
        sub = commands.add_parser(name, help=text, description=text)
        for flags, kwargs in options:
            sub.add_argument(*flags, **kwargs)
        sub.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``yeko-sql`` command line; return the exit code."""
    args = _parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except YekoSqlError as exc:
        print(f"yeko-sql: {exc}", file=sys.stderr)
        return 2
