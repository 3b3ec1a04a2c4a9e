"""Plan guardrails: every budgeted query, explained on a seeded database.

A query with ``-- budget: 10ms`` runs under ``EXPLAIN (ANALYZE, BUFFERS)`` with
representative parameters and must:

- scan no table over ``BIG_TABLE_ROWS`` rows sequentially anywhere in its plan
  (``-- explain: seqscan=grades`` allows one by name);
- keep its median execution time under the budget;
- use an index-only scan when its header says ``-- explain: index-only``.

A query with parameters is judged twice: once as sent unprepared (a *custom*
plan, built for the sample values) and once as a prepared statement's *generic*
plan (``SET LOCAL plan_cache_mode = force_generic_plan``, ``PREPARE``,
``EXPLAIN EXECUTE``), built for any value. The runtime prepares named queries,
and after five executions PostgreSQL may keep the generic plan for good; a
skewed column can make that plan a sequential scan where the custom one used an
index. Both plans meet the same guardrails, by the same headers.

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
from psycopg import RawCursor, sql
from psycopg.rows import tuple_row

from yeko_sql.errors import YekoSqlError
from yeko_sql.query.compiler import Query
from yeko_sql.query.parser import parse_duration
from yeko_sql.query.registry import Registry

__all__ = [
    "BIG_TABLE_ROWS",
    "PlanReport",
    "PlanVerdict",
    "combination_label",
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
_GENERIC_STATEMENT = "yeko_sql_generic_plan"
"""The name the generic plan's ``PREPARE`` uses; deallocated after each query."""


class PlanVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """One plan of a query (here, the generic one), measured and judged."""

    summary: str
    buffers_hit: int
    buffers_read: int
    median_ms: float
    p95_ms: float
    problems: list[str]
    shape: str
    tree: str = ""  # plan_tree(): the shape with each node's measures


class PlanReport(msgspec.Struct, frozen=True, kw_only=True):
    """One budgeted query, explained: what ``make guardrails`` prints a row of.

    The flat fields are the custom plan's (the sample values sent unprepared;
    ``shape`` is what ``sql/plans/`` stores). ``generic`` is the prepared
    statement's generic plan, or None when it was not asked for or the query
    has no parameters (then the two plans are one).
    """

    query: str
    summary: str
    buffers_hit: int
    buffers_read: int
    median_ms: float
    p95_ms: float
    budget_ms: float | None
    problems: list[str]
    shape: str
    generic: PlanVerdict | None = None
    tree: str = ""  # the custom plan as plan_tree() shows it

    @property
    def all_problems(self) -> list[str]:
        """The custom plan's problems, then the generic plan's, marked as such."""
        generic = self.generic.problems if self.generic else []
        return self.problems + [f"generic plan: {p}" for p in generic]

    @property
    def ok(self) -> bool:
        """Whether both plans met every guardrail."""
        return not self.all_problems


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


_CONDITIONS = (
    "Index Cond",
    "Recheck Cond",
    "Hash Cond",
    "Merge Cond",
    "Join Filter",
    "Filter",
    "Sort Key",
    "Group Key",
)


def plan_tree(plan: Mapping[str, Any]) -> str:
    """The plan as a readable tree: each node's shape with what it measured
    (actual rows and loops, time, buffers) and its conditions below it."""
    lines = []
    for depth, node in _nodes(plan):
        pad = "  " * depth
        rows, loops = node.get("Actual Rows"), node.get("Actual Loops")
        measured = []
        if rows is not None:
            measured.append(f"rows {rows:,}" + (f" × {loops:,}" if loops != 1 else ""))
        if "Actual Total Time" in node:
            measured.append(f"{node['Actual Total Time']:.3f} ms")
        hit, read = node.get("Shared Hit Blocks", 0), node.get("Shared Read Blocks", 0)
        if hit or read:
            measured.append(f"hit {hit:,}" + (f" read {read:,}" if read else ""))
        removed = node.get("Rows Removed by Filter")
        if removed:
            measured.append(f"{removed:,} removed by filter")
        shown = f" ({', '.join(measured)})" if measured else ""
        lines.append(f"{pad}{_describe_node(node)}{shown}")
        for key in _CONDITIONS:
            if key in node:
                value = node[key]
                text = ", ".join(value) if isinstance(value, list) else str(value)
                lines.append(f"{pad}    {key}: {text}")
    return "\n".join(lines) + "\n"


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


def _measure(
    conn: psycopg.Connection[Any],
    statement: str,
    args: list[object] | None,
    *,
    runs: int,
    setup: str | None = None,
) -> tuple[Mapping[str, Any], list[float]]:
    """Run an ``EXPLAIN (ANALYZE …)`` *runs* times, each in a rolled-back transaction.

    Returns the last run's plan and every run's execution time.
    """
    times: list[float] = []
    plan: Mapping[str, Any] = {}
    cursor = RawCursor(conn, row_factory=tuple_row)
    for _ in range(max(runs, 1)):
        with conn.transaction(force_rollback=True):
            if setup:
                cursor.execute(setup)
            row = cursor.execute(statement, args).fetchone()
        assert row is not None  # noqa: S101  (EXPLAIN always answers)
        document = row[0][0]
        plan = document["Plan"]
        times.append(float(document["Execution Time"]))
    return plan, times


def _judge(
    conn: psycopg.Connection[Any],
    query: Query[Any],
    plan: Mapping[str, Any],
    times: list[float],
) -> PlanVerdict:
    """Hold one plan against the guardrails of *query*'s headers."""
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
    budget_ms = _budget_ms(query)
    if budget_ms is not None and median > budget_ms:
        problems.append(
            f"median {median:.2f} ms is over its budget of {budget_ms:g} ms"
        )
    return PlanVerdict(
        summary=_summary(plan),
        buffers_hit=int(plan.get("Shared Hit Blocks", 0)),
        buffers_read=int(plan.get("Shared Read Blocks", 0)),
        median_ms=round(median, 3),
        p95_ms=round(p95, 3),
        problems=problems,
        shape=plan_shape(plan),
        tree=plan_tree(plan),
    )


def _budget_ms(query: Query[Any]) -> float | None:
    budget = query.headers.get("budget")
    return parse_duration(budget).total_seconds() * 1000 if budget else None


def _explain_generic(
    conn: psycopg.Connection[Any], query: Query[Any], args: list[object], *, runs: int
) -> PlanVerdict:
    """The generic plan: ``PREPARE``, then ``EXPLAIN EXECUTE`` forced generic.

    ``EXECUTE`` takes its arguments as SQL expressions, not bound parameters,
    so the sample values are written as literals; the statement's parameter
    types come from the query, as when the runtime prepares it. A prepared
    statement outlives a rollback, so it is deallocated here.
    """
    cursor = RawCursor(conn, row_factory=tuple_row)
    name = sql.Identifier(_GENERIC_STATEMENT)
    cursor.execute(
        sql.SQL("PREPARE {} AS {}")
        .format(name, sql.SQL(query.compiled))
        .as_string(conn)
    )
    try:
        execute = sql.SQL(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE {}({})"
        ).format(name, sql.SQL(", ").join(sql.Literal(a) for a in args))
        plan, times = _measure(
            conn,
            execute.as_string(conn),
            None,
            runs=runs,
            setup="SET LOCAL plan_cache_mode = force_generic_plan",
        )
        return _judge(conn, query, plan, times)
    finally:
        cursor.execute(sql.SQL("DEALLOCATE {}").format(name).as_string(conn))


def explain_query(
    conn: psycopg.Connection[Any],
    query: Query[Any],
    params: Mapping[str, object],
    *,
    runs: int = 5,
    generic: bool = False,
) -> PlanReport:
    """Run *query* under ``EXPLAIN (ANALYZE, BUFFERS)`` *runs* times and judge its plan.

    With *generic*, a query with parameters is also prepared and its generic
    plan judged the same way (``PlanReport.generic``). Data-modifying queries
    run inside a transaction that is rolled back.
    """
    args = [params[name] for name in query.params]
    statement = f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query.compiled}"
    plan, times = _measure(conn, statement, args, runs=runs)
    custom = _judge(conn, query, plan, times)
    return PlanReport(
        query=query.qualname,
        summary=custom.summary,
        buffers_hit=custom.buffers_hit,
        buffers_read=custom.buffers_read,
        median_ms=custom.median_ms,
        p95_ms=custom.p95_ms,
        budget_ms=_budget_ms(query),
        problems=custom.problems,
        shape=custom.shape,
        tree=custom.tree,
        generic=(
            _explain_generic(conn, query, args, runs=runs) if generic and args else None
        ),
    )


def _generic_verdict(report: PlanReport) -> str:
    """The table's ``generic`` cell: its verdict, its plan when not the custom one."""
    generic = report.generic
    if generic is None:
        return "-"
    plan = "same plan" if generic.shape == report.shape else generic.summary
    timing = f"{plan}, median {generic.median_ms:.2f} ms"
    if generic.problems:
        return f"FAIL: {'; '.join(generic.problems)} ({timing})"
    return f"ok ({timing})"


def format_plan_table(reports: list[PlanReport]) -> str:
    """The guardrails table: query, plan summary, buffers, timings, budget, verdicts.

    The first columns are the custom plan's; ``generic`` is the prepared
    statement's generic plan (``-``: not judged, or no parameters).
    """
    lines = [
        "| query | plan | buffers hit/read | median ms | p95 ms | budget ms | verdict"
        " | generic |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for r in reports:
        budget = f"{r.budget_ms:g}" if r.budget_ms is not None else "-"
        verdict = "FAIL: " + "; ".join(r.problems) if r.problems else "ok"
        lines.append(
            f"| {r.query} | {r.summary} | {r.buffers_hit}/{r.buffers_read} | "
            f"{r.median_ms:.2f} | {r.p95_ms:.2f} | {budget} | {verdict} | "
            f"{_generic_verdict(r)} |"
        )
    return "\n".join(lines) + "\n"


def guard_queries(
    url: str,
    registry: Registry,
    *,
    runs: int = 5,
    only_budgeted: bool = True,
    generic: bool = True,
) -> list[PlanReport]:
    """Explain every budgeted query of *registry* on the database at *url*.

    With *generic* (the default), each query with parameters is judged on its
    generic plan too. A query with ``[[ … ]]`` blocks is judged once per
    statement they make (``combination_label`` names each).
    """
    reports = []
    with psycopg.connect(url, autocommit=True) as conn:
        for query in registry:
            if query.namespace == SAMPLES or (
                only_budgeted and "budget" not in query.headers
            ):
                continue
            params = sample_params(conn, registry, query)
            for given, statement in query.combinations():
                report = explain_query(
                    conn, statement, params, runs=runs, generic=generic
                )
                reports.append(
                    msgspec.structs.replace(
                        report, query=combination_label(query, given)
                    )
                )
    return reports


def combination_label(query: Query[Any], given: frozenset[str]) -> str:
    """A query's name in the guardrails, with the optional parameters given.

    ``students.list_students`` for every block kept (or no blocks),
    ``students.list_students[status]`` for only *status* given,
    ``students.list_students[none]`` for none.
    """
    if not query.optional or given == frozenset(query.optional):
        return query.qualname
    return f"{query.qualname}[{','.join(sorted(given)) or 'none'}]"


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
