"""``yeko-sql describe`` and ``yeko-sql check``: load, verify, print, exit code.

The CLI parses the flags and calls these; each prints to stdout and returns
the exit code (0 all good, 1 a query failed to prepare or has a problem).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import msgspec

from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.verify.check import CheckReport, check
from yeko_sql.verify.describe import DescribeReport, QueryDescription, describe

__all__ = [
    "check_command",
    "describe_command",
    "format_check",
    "format_description",
    "load_paths",
    "shown_path",
]


def load_paths(paths: Sequence[str], models: Sequence[str]) -> Registry:
    """The queries under *paths*; Yeko's bundled ones when *paths* is empty."""
    return load_queries(list(paths) or None, models=models)


def describe_command(
    paths: Sequence[str], url: str, *, models: Sequence[str], as_json: bool
) -> int:
    """Describe every query; 1 when one could not be prepared."""
    report = describe(load_paths(paths, models), url)
    if as_json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(report)).decode())
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_description(report))
    return 1 if report.failed else 0


def check_command(
    paths: Sequence[str],
    url: str,
    *,
    models: Sequence[str],
    app_role: str | None = None,
) -> int:
    """Check every query; one line per problem, then a summary; 1 on any problem.

    With *app_role*, queries that declare no ``-- role:`` are checked as run
    by that role.
    """
    report = check(load_paths(paths, models), url, app_role=app_role)
    sys.stdout.write(format_check(report))
    return 0 if report.ok else 1


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
