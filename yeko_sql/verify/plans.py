"""Plan guardrails: every budgeted query, explained on a seeded database.

A query with ``-- budget: 10ms`` runs under ``EXPLAIN (ANALYZE, BUFFERS)`` with
representative parameters and must:

- scan no table over ``BIG_TABLE_ROWS`` rows sequentially anywhere in its plan
  (``-- explain: seqscan=grades`` allows one by name);
- keep its median execution time under the budget;
- use an index-only scan when its header says ``-- explain: index-only``.

Representative parameters come from the ``samples`` namespace: a ``:scalar``
query ``sample_<namespace>_<param>`` or ``sample_<param>`` picks a value from
the seeded data (the busiest school, a student with payments, …). The plan's
*shape* (node types, relations, indexes; no costs or timings) can be written
beside the SQL (``sql/plans/<ns>.<query>.plan``) so a pull request shows a
plan change in its diff.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from psycopg import RawCursor
from psycopg.rows import tuple_row

from yeko_sql.errors import YekoSqlError
from yeko_sql.query.compiler import Query
from yeko_sql.query.parser import parse_duration
from yeko_sql.query.registry import Registry

__all__ = [
    "BIG_TABLE_ROWS",
    "PlanReport",
    "explain_query",
    "format_plan_table",
    "guard_queries",
    "plan_shape",
    "sample_params",
    "stale_plans",
    "write_plans",
]

BIG_TABLE_ROWS = 10_000
SAMPLES = "samples"
"""The namespace of the queries that pick representative parameters."""
_PAGE_DEFAULTS = {"page": 1, "page_size": 20}


class PlanReport(msgspec.Struct, frozen=True, kw_only=True):
    """One budgeted query, explained: what ``make guardrails`` prints a row of."""

    query: str
    summary: str
    buffers_hit: int
    buffers_read: int
    median_ms: float
    p95_ms: float
    budget_ms: float | None
    problems: list[str]
    shape: str

    @property
    def ok(self) -> bool:
        """Whether the plan met every guardrail."""
        return not self.problems


def _allowances(query: Query[Any]) -> tuple[set[str], bool]:
    """Parse ``-- explain: seqscan=grades, seqscan=series, index-only``."""
    allowed: set[str] = set()
    index_only = False
    for item in (query.headers.get("explain") or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "seqscan" and value:
            allowed.add(value.strip())
        elif key == "index-only":
            index_only = True
        elif key:
            raise YekoSqlError(
                f"{query.path}:{query.line}: unknown '-- explain:' allowance "
                f"{item.strip()!r}; use seqscan=<table> or index-only"
            )
    return allowed, index_only


def _nodes(
    plan: Mapping[str, Any], depth: int = 0
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    yield depth, plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child, depth + 1)


def _describe_node(node: Mapping[str, Any]) -> str:
    text = str(node["Node Type"])
    if "Join Type" in node and node["Join Type"] != "Inner":
        text = f"{node['Join Type']} {text}"
    if "Index Name" in node:
        text += f" using {node['Index Name']}"
    if "Relation Name" in node:
        text += f" on {node['Relation Name']}"
    return text


def plan_shape(plan: Mapping[str, Any]) -> str:
    """The plan as indented node lines: types, joins, relations, indexes only."""
    return (
        "\n".join(f"{'  ' * depth}{_describe_node(n)}" for depth, n in _nodes(plan))
        + "\n"
    )


def _summary(plan: Mapping[str, Any]) -> str:
    scans = [
        _describe_node(n)
        for _, n in _nodes(plan)
        if "Relation Name" in n or n["Node Type"].endswith("Scan")
    ]
    return "; ".join(dict.fromkeys(scans)) or _describe_node(plan)


def _table_rows(conn: psycopg.Connection[Any], names: set[str]) -> dict[str, int]:
    if not names:
        return {}
    rows = conn.execute(
        "SELECT relname, greatest(reltuples, 0)::bigint FROM pg_class"
        " WHERE relkind IN ('r', 'p') AND relname = ANY(%s)",
        [sorted(names)],
    ).fetchall()
    return {name: int(count) for name, count in rows}


def sample_params(
    conn: psycopg.Connection[Any], registry: Registry, query: Query[Any]
) -> dict[str, object]:
    """Pick representative values for *query*'s parameters from the samples namespace.

    Raises:
        YekoSqlError: a parameter has no ``sample_`` query to pick it.
    """
    values: dict[str, object] = {}
    for param in query.params:
        if param in {"limit", "offset"} and query.kind.value == "page":
            continue
        names = (
            f"{SAMPLES}.sample_{query.namespace}_{param}",
            f"{SAMPLES}.sample_{param}",
        )
        source = next((registry[n] for n in names if n in registry), None)
        if source is None:
            raise YekoSqlError(
                f"{query.path}:{query.line}: no sample for parameter {param!r} of "
                f"{query.qualname}; add '-- name: sample_{param} :scalar' (or "
                f"sample_{query.namespace}_{param}) to sql/{SAMPLES}.sql"
            )
        row = RawCursor(conn, row_factory=tuple_row).execute(source.compiled).fetchone()
        values[param] = row[0] if row else None
    if query.kind.value == "page":
        values["limit"], values["offset"] = _PAGE_DEFAULTS["page_size"], 0
    return values


def explain_query(
    conn: psycopg.Connection[Any],
    query: Query[Any],
    params: Mapping[str, object],
    *,
    runs: int = 5,
) -> PlanReport:
    """Run *query* under ``EXPLAIN (ANALYZE, BUFFERS)`` *runs* times and judge its plan.

    Data-modifying queries run inside a transaction that is rolled back.
    """
    args = [params[name] for name in query.params]
    sql = f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query.compiled}"
    times: list[float] = []
    plan: Mapping[str, Any] = {}
    hit = read = 0
    for _ in range(max(runs, 1)):
        with conn.transaction(force_rollback=True):
            row = RawCursor(conn, row_factory=tuple_row).execute(sql, args).fetchone()
        assert row is not None  # noqa: S101  (EXPLAIN always answers)
        document = row[0][0]
        plan = document["Plan"]
        times.append(float(document["Execution Time"]))
        hit, read = (
            int(plan.get("Shared Hit Blocks", 0)),
            int(plan.get("Shared Read Blocks", 0)),
        )
    allowed, index_only = _allowances(query)
    scanned = {
        n["Relation Name"] for _, n in _nodes(plan) if n["Node Type"] == "Seq Scan"
    }
    sizes = _table_rows(conn, scanned)
    problems: list[str] = [
        f"sequential scan of {table} ({sizes[table]:,} rows); index the predicate, "
        f"or allow it with '-- explain: seqscan={table}'"
        for table in sorted(scanned - allowed)
        if sizes.get(table, 0) > BIG_TABLE_ROWS
    ]
    if index_only and not any(
        n["Node Type"] == "Index Only Scan" for _, n in _nodes(plan)
    ):
        problems.append("no index-only scan, though the header asks for one")
    median = statistics.median(times)
    p95 = sorted(times)[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    budget = query.headers.get("budget")
    budget_ms = parse_duration(budget).total_seconds() * 1000 if budget else None
    if budget_ms is not None and median > budget_ms:
        problems.append(
            f"median {median:.2f} ms is over its budget of {budget_ms:g} ms"
        )
    return PlanReport(
        query=query.qualname,
        summary=_summary(plan),
        buffers_hit=hit,
        buffers_read=read,
        median_ms=round(median, 3),
        p95_ms=round(p95, 3),
        budget_ms=budget_ms,
        problems=problems,
        shape=plan_shape(plan),
    )


def format_plan_table(reports: list[PlanReport]) -> str:
    """The guardrails table: query, plan summary, buffers, median and p95, budget."""
    lines = [
        "| query | plan | buffers hit/read | median ms | p95 ms | budget ms | verdict"
        " |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in reports:
        budget = f"{r.budget_ms:g}" if r.budget_ms is not None else "-"
        verdict = "ok" if r.ok else "FAIL: " + "; ".join(r.problems)
        lines.append(
            f"| {r.query} | {r.summary} | {r.buffers_hit}/{r.buffers_read} | "
            f"{r.median_ms:.2f} | {r.p95_ms:.2f} | {budget} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def guard_queries(
    url: str, registry: Registry, *, runs: int = 5, only_budgeted: bool = True
) -> list[PlanReport]:
    """Explain every budgeted query of *registry* on the database at *url*."""
    reports = []
    with psycopg.connect(url, autocommit=True) as conn:
        for query in registry:
            if query.namespace == SAMPLES or (
                only_budgeted and "budget" not in query.headers
            ):
                continue
            params = sample_params(conn, registry, query)
            reports.append(explain_query(conn, query, params, runs=runs))
    return reports


def stale_plans(reports: list[PlanReport], plans_dir: Path) -> list[str]:
    """Queries whose checked-in plan shape is missing or differs from *reports*."""
    stale = []
    for report in reports:
        path = plans_dir / f"{report.query}.plan"
        if not path.is_file() or path.read_text() != report.shape:
            stale.append(report.query)
    known = {f"{r.query}.plan" for r in reports}
    stale += [p.stem for p in sorted(plans_dir.glob("*.plan")) if p.name not in known]
    return stale


def write_plans(reports: list[PlanReport], plans_dir: Path) -> int:
    """Write each report's plan shape beside the SQL; drop shapes of gone queries."""
    plans_dir.mkdir(parents=True, exist_ok=True)
    known = set()
    for report in reports:
        path = plans_dir / f"{report.query}.plan"
        known.add(path.name)
        path.write_text(report.shape)
    for old in plans_dir.glob("*.plan"):
        if old.name not in known:
            old.unlink()
    return len(known)
