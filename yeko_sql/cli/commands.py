"""``yeko-sql describe``, ``check`` and ``generate``: verify, print, exit code.

The CLI parses the flags and calls these; each prints to stdout and returns
the exit code (0 all good, 1 a query failed to prepare or has a problem).
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

import msgspec
import psycopg

from yeko_sql.errors import ConfigError
from yeko_sql.query.registry import Registry
from yeko_sql.stubs.generate import (
    companion_module,
    generate_stub,
    require_class_prefix,
)
from yeko_sql.verify.check import CheckReport, check
from yeko_sql.verify.describe import DescribeReport, QueryDescription, describe

__all__ = [
    "check_command",
    "describe_command",
    "format_check",
    "format_description",
    "generate_command",
    "shown_path",
]


def describe_command(registry: Registry, url: str, *, as_json: bool) -> int:
    """Describe every query; 1 when one could not be prepared."""
    report = describe(registry, url)
    if as_json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(report)).decode())
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_description(report))
    return 1 if report.failed else 0


def check_command(
    registry: Registry,
    url: str,
    *,
    app_role: str | None = None,
    tenant_column: str | None = None,
    citus: bool = False,
) -> int:
    """Check every query; one line per problem, then a summary; 1 on any problem.

    With *app_role*, queries that declare no ``-- role:`` are checked as run
    by that role. With *citus*, the sharding report of
    ``yeko_sql.verify.citus`` follows, and its exceptions fail too.

    Raises:
        ConfigError: *citus* without a tenant column.
    """
    if citus and tenant_column is None:
        raise ConfigError(
            "pyproject.toml",
            "check --citus shards by the tenant column: declare"
            " [tool.yeko-sql] tenant_column (Yeko's is school_id)"
        )
    report = check(registry, url, app_role=app_role, tenant_column=tenant_column)
    sys.stdout.write(format_check(report))
    ok = report.ok
    if citus and tenant_column is not None:
        from yeko_sql.verify.citus import citus_connection, format_citus

        with psycopg.connect(url, autocommit=True) as conn:
            sharding = citus_connection(registry, conn, tenant_column=tenant_column)
        sys.stdout.write(format_citus(sharding))
        ok = ok and sharding.ok
    return 0 if ok else 1


def shown_path(path: str) -> str:
    """*path* relative to the working directory when it is under it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def format_check(report: CheckReport) -> str:
    """One ``path:line: message`` line per problem and a summary line."""
    problems, queries = report.problems, report.queries
    lines = [f"{shown_path(p.path)}:{p.line}: {p.message}" for p in problems]
    if problems:
        failing = len({p.query for p in problems})
        lines.append(
            f"{len(problems)} problem(s) in {failing} of {queries} queries checked"
        )
    else:
        lines.append(f"all {queries} queries check out")
    return "\n".join(lines) + "\n"


def format_description(report: DescribeReport) -> str:
    """A readable table per query: parameters, then result columns."""
    blocks = [_query_block(query) for query in report.queries]
    failed = len(report.failed)
    summary = f"described {len(report.queries)} queries"
    summary += f", {failed} failed to prepare" if failed else ""
    return "\n\n".join([*blocks, summary]) + "\n"


def _query_block(query: QueryDescription) -> str:
    head = f"{query.qualname}  :{query.kind}  ({shown_path(query.path)}:{query.line})"
    if query.error is not None:
        error = query.error
        hint = f"; {error.hint}" if error.hint else ""
        return f"{head}\n  error: line {error.line}: {error.message}{hint}"
    lines = [head]
    if query.params:
        lines.append("  parameters")
        lines += _table(
            [
                [
                    f"${p.number}",
                    p.name,
                    p.pg_type,
                    p.python_type,
                    f"NULL: {p.nullable}",
                ]
                for p in query.params
            ]
        )
    if query.columns:
        lines.append("  columns")
        lines += _table(
            [
                [
                    c.name,
                    c.pg_type,
                    c.python_type + (" | None" if c.nullable else ""),
                    "nullable" if c.nullable else "not null",
                    f"{c.source_table}.{c.source_column}" if c.source_table else "-",
                    c.why,
                ]
                for c in query.columns
            ]
        )
    if not query.params and not query.columns:
        lines.append("  no parameters, no result columns")
    return "\n".join(lines)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "    "
        + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def generate_command(
    registry: Registry,
    url: str,
    *,
    out: str | Path | None,
    check: bool,
    class_prefix: str | None = None,
    tenant_column: str | None = None,
) -> int:
    """Write (or with *check*, compare) the stub; 1 when stale or not describable.

    Without *out* the stub goes to standard output. With a ``.pyi`` *out*,
    the module beside it is written (or compared) too when it is missing or
    generated, and checked when hand-written (``companion_module``).

    Raises:
        ConfigError: *class_prefix* is missing or not a capitalised name, or
            the module beside *out* holds code the stub would hide.
    """
    class_prefix = require_class_prefix(class_prefix, where="pyproject.toml")
    target = Path(out) if out else None
    module = None
    if target is not None and target.suffix == ".pyi":
        module = companion_module(target, class_prefix=class_prefix)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            text = generate_stub(
                registry,
                conn,
                class_prefix=class_prefix,
                tenant_column=tenant_column,
            )
    except ValueError as exc:
        sys.stderr.write(f"yeko-sql generate: cannot describe every query:\n{exc}\n")
        return 1
    if target is None:
        if check:
            sys.stderr.write("yeko-sql generate: --check needs --out FILE\n")
            return 2
        sys.stdout.write(text)
        return 0
    files = [(target, text, f"{len(registry)} queries")]
    if module is not None:
        files.append((target.with_suffix(".py"), module, "the classes it types"))
    if check:
        stale = [_stale(path, new) for path, new, _ in files]
        if not any(stale):
            shown = shown_path(str(target))
            sys.stdout.write(f"{shown}: up to date ({len(registry)} queries)\n")
            return 0
        return 1
    for path, new, what in files:
        if not path.is_file() or path.read_text(encoding="utf-8") != new:
            path.write_text(new, encoding="utf-8")
        sys.stdout.write(f"wrote {shown_path(str(path))} ({what})\n")
    return 0


def _stale(path: Path, new: str) -> bool:
    """Whether *path* differs from *new*; if so, print the diff and the fix."""
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    if old == new:
        return False
    shown = shown_path(str(path))
    diff = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        f"{shown} (checked in)",
        f"{shown} (generated)",
    )
    sys.stdout.writelines(diff)
    sys.stdout.write(
        f"{shown} is stale: regenerate it with 'yeko-sql generate'"
        " (see docs/stubs.md) and commit it\n"
    )
    return True
