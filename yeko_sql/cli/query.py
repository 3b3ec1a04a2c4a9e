"""The query tools of the ``yeko-sql`` command line, one function per subcommand.

``list``/``show`` read query files; ``check``/``describe``/``generate`` prepare
every query on a migrated database; ``explain``/``guardrails`` judge plans;
``stats`` holds the database against the guardrails.

Each command imports what it runs when it runs: ``yeko-sql --help`` builds
every command's parser and must not pay for psycopg, pglast or yoyo.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from yeko_sql.cli._options import (
    MODELS,
    PATHS,
    URL,
    Command,
    config_of,
    models_of,
    opt,
    paths_of,
    url_of,
)

if TYPE_CHECKING:
    from yeko_sql.query.registry import Registry

__all__ = [
    "COMMANDS",
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
    from yeko_sql.query.loader import load_queries

    return load_queries(paths_of(args), models=models_of(args))


def _plans_dir(args: argparse.Namespace) -> Path:
    """``--plans-dir``, else ``plans/`` in the first query folder."""
    if args.plans_dir:
        return Path(args.plans_dir)
    first = paths_of(args)[0]
    return (first if first.is_dir() else first.parent) / "plans"


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
    takes = ", ".join(
        f"{name}?" if name in query.optional else name for name in query.call_params
    )
    takes = takes or "nothing"
    print(f"{query.qualname}  {query.kind.annotation}  ({query.path}:{query.line})")
    if query.doc:
        print("\n".join(f"  {line}" for line in query.doc.splitlines()))
    print(f"parameters: {takes}")
    if query.optional:
        print(f"optional:   {', '.join(query.optional)} (None or absent: no filter)")
    print(f"returns:    {query.returns_name or 'a Struct derived from the columns'}")
    for key, value in query.headers.items():
        if key != "returns":  # printed above
            print(f"{key + ':':<11} {value}")
    print()
    print(query.sql)
    return 0


def check(args: argparse.Namespace) -> int:
    """Verify every query against the migrated schema."""
    from yeko_sql.cli.commands import check_command

    return check_command(
        _load(args),
        url_of(args),
        app_role=args.app_role or config_of(args).app_role,
        tenant_column=config_of(args).tenant_column,
        citus=args.citus,
    )


def describe(args: argparse.Namespace) -> int:
    """Print what every query takes and returns."""
    from yeko_sql.cli.commands import describe_command

    return describe_command(_load(args), url_of(args), as_json=args.json)


def generate(args: argparse.Namespace) -> int:
    """Write (or check) the typed stub of every query, and the module it types.

    The classes are ``<prefix>Database`` and its twins: ``--class-prefix``,
    else ``[tool.yeko-sql] class_prefix``, else an error naming the key.
    """
    from yeko_sql.cli.commands import generate_command
    from yeko_sql.stubs.generate import require_class_prefix

    config = config_of(args)
    out = args.out or (None if args.paths else config.stub)
    class_prefix = require_class_prefix(
        args.class_prefix or config.class_prefix, where=config.where
    )
    return generate_command(
        _load(args),
        url_of(args),
        out=out,
        check=args.check,
        class_prefix=class_prefix,
        tenant_column=config.tenant_column,
    )


def stats(args: argparse.Namespace) -> int:
    """Print database health against the guardrails."""
    import msgspec

    from yeko_sql.ops.stats import collect_health, format_report

    report = collect_health(url_of(args), top=args.top)
    if args.json:
        print(msgspec.json.encode(report).decode())
    else:
        print(format_report(report), end="")
    return 1 if args.strict and not report.ok else 0


def _param_value(text: str) -> object:
    """``-p key=value``: JSON when it parses (numbers, lists, null), else text."""
    import msgspec

    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text


def explain(args: argparse.Namespace) -> int:
    """Print one query's plan under EXPLAIN ANALYZE, judged.

    ``--generic`` judges the prepared statement's generic plan too and prints
    its shape after the custom one.
    """
    import psycopg

    from yeko_sql.verify.plans import explain_query, format_plan_table, sample_params

    registry = _load(args)
    try:
        query = registry[args.query]
    except KeyError as exc:
        print(f"yeko-sql: {exc.args[0]}", file=sys.stderr)
        return 2
    given = dict(pair.split("=", 1) for pair in args.param)
    url = url_of(args)
    with psycopg.connect(url, autocommit=True) as conn:
        params = (
            {}
            if set(given) >= set(query.params)
            else sample_params(conn, registry, query)
        )
        params |= {key: _param_value(value) for key, value in given.items()}
        report = explain_query(
            conn,
            query.statement_for(params),
            params,
            runs=args.runs,
            generic=args.generic,
        )
    print(format_plan_table([report]), end="")
    print()
    print(report.shape, end="")
    if report.generic is not None:
        print()
        print("generic plan:")
        print(report.generic.shape, end="")
    return 0 if report.ok else 1


def guardrails(args: argparse.Namespace) -> int:
    """Judge every budgeted query's custom and generic plans; store or check shapes.

    The stored shapes are the custom plans'.
    """
    from yeko_sql.verify.plans import (
        format_plan_table,
        guard_queries,
        stale_plans,
        write_plans,
    )

    registry = _load(args)
    reports = guard_queries(url_of(args), registry, runs=args.runs, generic=True)
    print(format_plan_table(reports), end="")
    plans_dir = _plans_dir(args)
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
    from yeko_sql.verify.plans import guard_queries, stale_plans, write_plans

    registry = _load(args)
    reports = guard_queries(url_of(args), registry, runs=1, generic=False)
    plans_dir = _plans_dir(args)
    if args.write:
        print(f"wrote {write_plans(reports, plans_dir)} plan shapes to {plans_dir}")
        return 0
    stale = stale_plans(reports, plans_dir)
    for name in stale:
        print(f"stale plan: {name} (run 'yeko-sql plans --write')")
    print(f"{len(reports) - len(stale)} of {len(reports)} plan shapes up to date")
    return 1 if stale else 0


RUNS = opt("--runs", type=int, default=5, help="EXPLAIN ANALYZE runs per query")
QUERY = opt("query", help="<namespace>.<query>, e.g. schools.get_school")

COMMANDS = [
    Command(
        "list",
        list_queries,
        "namespaces, queries, kinds, one-line docs",
        [PATHS, MODELS],
    ),
    Command(
        "show",
        show,
        "one query: doc, parameters, returns, SQL",
        [QUERY, PATHS, MODELS],
    ),
    Command(
        "check",
        check,
        "verify every query against the migrated schema",
        [
            PATHS,
            MODELS,
            URL,
            opt(
                "--app-role",
                help="check queries with no '-- role:' as run by this role",
            ),
            opt(
                "--citus",
                action="store_true",
                help="also judge sharding by the tenant column on Citus:"
                " tables, keys, router queries (docs/scale-out.md)",
            ),
        ],
    ),
    Command(
        "describe",
        describe,
        "what every query takes and returns",
        [
            PATHS,
            MODELS,
            URL,
            opt("--json", action="store_true", help="versioned JSON"),
        ],
    ),
    Command(
        "generate",
        generate,
        "write the typed stub ([tool.yeko-sql] stub) and the module it types",
        [
            PATHS,
            MODELS,
            URL,
            opt(
                "--out",
                help="the .pyi to write (default: [tool.yeko-sql] stub); the .py "
                "beside it is written too unless it is the app's own",
            ),
            opt(
                "--class-prefix",
                help="the stub declares <prefix>Database (default: [tool.yeko-sql] "
                "class_prefix)",
            ),
            opt(
                "--check",
                action="store_true",
                help="write nothing; exit 1 with a diff when stale",
            ),
        ],
    ),
    Command(
        "explain",
        explain,
        "one query's plan under EXPLAIN ANALYZE, judged",
        [
            QUERY,
            PATHS,
            MODELS,
            URL,
            RUNS,
            opt(
                "-p",
                "--param",
                action="append",
                default=[],
                help="key=value (JSON values parse: 3, [1,2], null)",
            ),
            opt(
                "--generic",
                action="store_true",
                help="judge the prepared statement's generic plan too "
                "(plan_cache_mode = force_generic_plan)",
            ),
        ],
    ),
    Command(
        "guardrails",
        guardrails,
        "every budgeted query's plan, custom and generic, judged",
        [
            PATHS,
            MODELS,
            URL,
            RUNS,
            opt(
                "--write-plans",
                action="store_true",
                help="store each plan's shape beside the SQL",
            ),
            opt(
                "--check-plans",
                action="store_true",
                help="fail when a stored plan shape is stale",
            ),
            opt("--plans-dir", help="default: plans/ in the first query folder"),
        ],
    ),
    Command(
        "plans",
        plans,
        "store or compare plan shapes beside the SQL",
        [
            PATHS,
            MODELS,
            URL,
            opt("--write", action="store_true", help="store the shapes in sql/plans/"),
            opt("--plans-dir", help="default: plans/ in the first query folder"),
        ],
    ),
    Command(
        "stats",
        stats,
        "database health against the guardrails",
        [
            URL,
            opt("--json", action="store_true", help="machine-readable output"),
            opt("--strict", action="store_true", help="exit 1 when a guardrail fails"),
            opt("--top", type=int, default=20, help="how many statements to list"),
        ],
    ),
]
