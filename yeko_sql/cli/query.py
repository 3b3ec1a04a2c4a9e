"""The query tools of the ``yeko-sql`` command line, one function per subcommand.

``list``/``show`` read query files; ``check``/``describe``/``generate`` prepare
every query on a migrated database; ``explain``/``guardrails`` judge plans;
``stats`` holds the database against the guardrails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec
import psycopg

from yeko_sql.cli.commands import check_command, describe_command, load_paths
from yeko_sql.ops.serverurl import resolve_url
from yeko_sql.ops.stats import collect_health, format_report
from yeko_sql.query.registry import Registry
from yeko_sql.runtime._executor import Runner
from yeko_sql.stubs.generate import generate_command
from yeko_sql.verify.plans import (
    explain_query,
    format_plan_table,
    guard_queries,
    sample_params,
    stale_plans,
    write_plans,
)
from yeko_sql.yeko.resources import sql_dir

__all__ = [
    "check",
    "describe",
    "explain",
    "generate",
    "guardrails",
    "list_queries",
    "plans",
    "show",
    "stats",
]


def _load(args: argparse.Namespace) -> Registry:
    return load_paths(args.paths, args.models)


def list_queries(args: argparse.Namespace) -> int:
    """Print namespaces, queries, kinds and one-line docs."""
    registry = _load(args)
    for name, namespace in registry.namespaces.items():
        print(f"{name}  ({len(namespace)} queries)")
        for query in namespace.values():
            summary = query.doc.splitlines()[0] if query.doc else ""
            print(f"  {query.name:<40} {query.kind.annotation:<10} {summary}")
    return 0


def show(args: argparse.Namespace) -> int:
    """Print one query: doc, parameters, returns, SQL."""
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


def check(args: argparse.Namespace) -> int:
    """Verify every query against the migrated schema."""
    url = resolve_url(args.database_url)
    return check_command(args.paths, url, models=args.models, app_role=args.app_role)


def describe(args: argparse.Namespace) -> int:
    """Print what every query takes and returns."""
    url = resolve_url(args.database_url)
    return describe_command(args.paths, url, models=args.models, as_json=args.json)


def generate(args: argparse.Namespace) -> int:
    """Write (or check) the typed stub of every query."""
    url = resolve_url(args.database_url)
    return generate_command(
        args.paths, url, models=args.models, out=args.out, check=args.check
    )


def stats(args: argparse.Namespace) -> int:
    """Print database health against the guardrails."""
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


def explain(args: argparse.Namespace) -> int:
    """Print one query's plan under EXPLAIN ANALYZE, judged."""
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


def guardrails(args: argparse.Namespace) -> int:
    """Judge every budgeted query's plan; optionally store or check shapes."""
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
            print(f"stale plan: {name} (run 'yeko-sql plans --write')")
    within = len(reports) - len(failed)
    print(f"{within} of {len(reports)} budgeted queries within guardrails")
    return 1 if failed or stale else 0


def plans(args: argparse.Namespace) -> int:
    """Store (``--write``) or compare every budgeted query's plan shape."""
    registry = _load(args)
    reports = guard_queries(resolve_url(args.database_url), registry, runs=1)
    plans_dir = Path(args.plans_dir) if args.plans_dir else sql_dir() / "plans"
    if args.write:
        print(f"wrote {write_plans(reports, plans_dir)} plan shapes to {plans_dir}")
        return 0
    stale = stale_plans(reports, plans_dir)
    for name in stale:
        print(f"stale plan: {name} (run 'yeko-sql plans --write')")
    print(f"{len(reports) - len(stale)} of {len(reports)} plan shapes up to date")
    return 1 if stale else 0
