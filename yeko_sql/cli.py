"""The ``yeko-sql`` command line: one function per subcommand."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import psycopg

from yeko_sql.commands import check_command, describe_command
from yeko_sql.devserver import DevServer
from yeko_sql.errors import YekoSqlError
from yeko_sql.executor import Runner
from yeko_sql.loader import load_queries
from yeko_sql.migrate import (
    apply_migrations,
    break_lock,
    list_migrations,
    migration_status,
    rehash_migrations,
    rollback_migrations,
)
from yeko_sql.plans import (
    explain_query,
    format_plan_table,
    guard_queries,
    sample_params,
    stale_plans,
    write_plans,
)
from yeko_sql.registry import Registry
from yeko_sql.resources import sql_dir
from yeko_sql.stats import collect_health, format_report
from yeko_sql.stubs import generate_command

__all__ = ["main", "resolve_url"]

Handler = Callable[[argparse.Namespace], int]


def resolve_url(explicit: str | None, *, dbname: str = "yeko") -> str:
    """Return *explicit*, else ``DATABASE_URL``, else a database on the local server.

    The local server is started when needed and *dbname* created on it.
    """
    if explicit:
        return explicit
    if env := os.environ.get("DATABASE_URL"):
        return env
    return DevServer().create_database(dbname)


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
            print(server.url(args.dbname))
        case "destroy":
            server.destroy()
            print(f"removed {server.root}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    if args.action == "list":
        for migration_id, message in list_migrations():
            print(f"{migration_id}  {message}")
        return 0
    url = resolve_url(args.database_url)
    match args.action:
        case "apply":
            applied = apply_migrations(url, lock_timeout=args.lock_timeout)
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
            states = migration_status(url)
            for state in states:
                mark = "applied" if state.applied else "pending"
                if state.edited:
                    mark = "EDITED "
                print(f"{mark}  {state.id}  {state.message}")
            return 1 if any(s.edited for s in states) else 0
        case "break-lock":
            print("lock removed" if break_lock(url) else "no lock was held")
        case "rehash":
            print(f"recorded checksums of {len(rehash_migrations(url))} migration(s)")
    return 0


def _load(args: argparse.Namespace) -> Registry:
    paths = args.paths or None
    models = args.models or (() if paths else ("yeko_sql.domain",))
    return load_queries(paths, models=models)


def _list(args: argparse.Namespace) -> int:
    registry = _load(args)
    for name, namespace in registry.namespaces.items():
        print(f"{name}  ({len(namespace)} queries)")
        for query in namespace.values():
            summary = query.doc.splitlines()[0] if query.doc else ""
            print(f"  {query.name:<40} {query.kind.annotation:<10} {summary}")
    return 0


def _show(args: argparse.Namespace) -> int:
    registry = _load(args)
    try:
        query = registry[args.query]
    except KeyError as exc:
        print(f"yeko-sql: {exc.args[0]}", file=sys.stderr)
        return 2
    takes = ", ".join(Runner(query).call_params) or "nothing"
    print(f"{query.qualname}  {query.kind.annotation}  ({query.path}:{query.line})")
    if query.doc:
        print("\n".join(f"  {line}" for line in query.doc.splitlines()))
    print(f"parameters: {takes}")
    print(f"returns:    {query.returns_name or 'a Struct derived from the columns'}")
    for key, value in query.headers.items():
        print(f"{key + ':':<11} {value}")
    print()
    print(query.sql)
    return 0


def _check(args: argparse.Namespace) -> int:
    url = resolve_url(args.database_url)
    return check_command(args.paths, url, models=args.models)


def _describe(args: argparse.Namespace) -> int:
    url = resolve_url(args.database_url)
    return describe_command(args.paths, url, models=args.models, as_json=args.json)


def _generate(args: argparse.Namespace) -> int:
    url = resolve_url(args.database_url)
    return generate_command(
        args.paths, url, models=args.models, out=args.out, check=args.check
    )


def _stats(args: argparse.Namespace) -> int:
    report = collect_health(resolve_url(args.database_url), top=args.top)
    if args.json:
        print(msgspec.json.encode(report).decode())
    else:
        print(format_report(report), end="")
    return 1 if args.strict and not report.ok else 0


def _param_value(text: str) -> object:
    """``-p key=value``: JSON when it parses (numbers, lists, null), else text."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text


def _explain(args: argparse.Namespace) -> int:
    registry = _load(args)
    try:
        query = registry[args.query]
    except KeyError as exc:
        print(f"yeko-sql: {exc.args[0]}", file=sys.stderr)
        return 2
    given = dict(pair.split("=", 1) for pair in args.param)
    url = resolve_url(args.database_url)
    with psycopg.connect(url, autocommit=True) as conn:
        params = (
            {}
            if set(given) >= set(query.params)
            else sample_params(conn, registry, query)
        )
        params |= {key: _param_value(value) for key, value in given.items()}
        report = explain_query(conn, query, params, runs=args.runs)
    print(format_plan_table([report]), end="")
    print()
    print(report.shape, end="")
    return 0 if report.ok else 1


def _guardrails(args: argparse.Namespace) -> int:
    registry = _load(args)
    reports = guard_queries(resolve_url(args.database_url), registry, runs=args.runs)
    print(format_plan_table(reports), end="")
    plans_dir = Path(args.plans_dir) if args.plans_dir else sql_dir() / "plans"
    failed = [r for r in reports if not r.ok]
    if args.write_plans:
        print(f"wrote {write_plans(reports, plans_dir)} plan shapes to {plans_dir}")
        stale: list[str] = []
    else:
        stale = stale_plans(reports, plans_dir) if args.check_plans else []
        for name in stale:
            print(f"stale plan: {name} (run 'yeko-sql guardrails --write-plans')")
    within = len(reports) - len(failed)
    print(f"{within} of {len(reports)} budgeted queries within guardrails")
    return 1 if failed or stale else 0


def _demo(args: argparse.Namespace) -> int:
    url = resolve_url(args.database_url, dbname="yeko_demo")
    applied = apply_migrations(url)
    print(f"database: {url}")
    print(f"migrations applied now: {len(applied)}")
    for state in migration_status(url):
        print(f"  {'applied' if state.applied else 'pending'}  {state.id}")
    return 0


def _parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    parser = argparse.ArgumentParser(prog="yeko-sql", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    handlers: dict[str, Handler] = {}

    server = commands.add_parser("server", help="the local throwaway PostgreSQL")
    server.add_argument("action", choices=["start", "stop", "status", "url", "destroy"])
    server.add_argument("--dbname", default="postgres", help="database for 'url'")
    handlers["server"] = _server

    migrate = commands.add_parser("migrate", help="apply or inspect yoyo migrations")
    migrate.add_argument(
        "action",
        nargs="?",
        default="apply",
        choices=["apply", "status", "rollback", "list", "break-lock", "rehash"],
    )
    migrate.add_argument(
        "--database-url", help="default: DATABASE_URL, else the local server"
    )
    migrate.add_argument("--count", type=int, default=1, help="rollback: how many")
    migrate.add_argument("--all", action="store_true", help="rollback: every migration")
    migrate.add_argument(
        "--lock-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for another run's lock",
    )
    handlers["migrate"] = _migrate

    for name, handler, text in (
        ("list", _list, "namespaces, queries, kinds and one-line docs"),
        ("show", _show, "one query: doc, parameters, returns, SQL"),
    ):
        sub = commands.add_parser(name, help=text)
        if name == "show":
            sub.add_argument(
                "query", help="<namespace>.<query>, e.g. schools.get_school"
            )
        sub.add_argument(
            "paths", nargs="*", help="folders or .sql files (default: bundled)"
        )
        sub.add_argument(
            "--models",
            action="append",
            default=[],
            help="module whose Structs '-- returns:' may name (repeatable)",
        )
        handlers[name] = handler

    for name, handler, text in (
        ("check", _check, "verify every query against the migrated schema"),
        ("describe", _describe, "what every query takes and returns (--json)"),
        (
            "generate",
            _generate,
            "write the typed stub of every query (yeko_sql/typed.pyi)",
        ),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument(
            "paths", nargs="*", help="folders or .sql files (default: ours)"
        )
        sub.add_argument(
            "--models",
            action="append",
            default=[],
            help="module of Structs '-- returns:' may name (repeatable)",
        )
        sub.add_argument("--database-url", help="a migrated database (default: local)")
        if name == "describe":
            sub.add_argument("--json", action="store_true", help="versioned JSON")
        if name == "generate":
            sub.add_argument(
                "--out", help="the .pyi to write (default: yeko_sql/typed.pyi)"
            )
            sub.add_argument(
                "--check",
                action="store_true",
                help="write nothing; exit 1 with a diff when stale",
            )
        handlers[name] = handler

    for name, handler, text in (
        ("explain", _explain, "one query's plan under EXPLAIN ANALYZE, judged"),
        ("guardrails", _guardrails, "every budgeted query's plan, judged"),
    ):
        sub = commands.add_parser(name, help=text)
        if name == "explain":
            sub.add_argument("query", help="<namespace>.<query>")
            sub.add_argument(
                "-p",
                "--param",
                action="append",
                default=[],
                help="key=value (JSON values parse: 3, [1,2], null)",
            )
        else:
            sub.add_argument(
                "--write-plans",
                action="store_true",
                help="store each plan's shape beside the SQL",
            )
            sub.add_argument(
                "--check-plans",
                action="store_true",
                help="fail when a stored plan shape is stale",
            )
            sub.add_argument("--plans-dir", help="default: sql/plans")
        sub.add_argument(
            "paths", nargs="*", help="folders or .sql files (default: ours)"
        )
        sub.add_argument(
            "--models",
            action="append",
            default=[],
            help="module of Structs '-- returns:' may name (repeatable)",
        )
        sub.add_argument("--database-url", help="default: DATABASE_URL, else local")
        sub.add_argument(
            "--runs", type=int, default=5, help="EXPLAIN ANALYZE runs each"
        )
        handlers[name] = handler

    stats = commands.add_parser("stats", help="database health against the guardrails")
    stats.add_argument(
        "--database-url", help="default: DATABASE_URL, else the local server"
    )
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.add_argument(
        "--strict", action="store_true", help="exit 1 when a guardrail fails"
    )
    stats.add_argument(
        "--top", type=int, default=20, help="how many statements to list"
    )
    handlers["stats"] = _stats

    demo = commands.add_parser("demo", help="set up the demo database and tour it")
    demo.add_argument(
        "--database-url", help="default: DATABASE_URL, else the local server"
    )
    handlers["demo"] = _demo
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``yeko-sql`` command line; return the exit code."""
    parser, handlers = _parser()
    args = parser.parse_args(argv)
    try:
        return handlers[args.command](args)
    except YekoSqlError as exc:
        print(f"yeko-sql: {exc}", file=sys.stderr)
        return 2
