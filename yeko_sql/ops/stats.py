"""Database health against the team's guardrails: ``yeko-sql stats``.

Reads ``pg_stat_statements`` (top statements, labelled with their named query),
``pg_stat_database`` (cache hit ratio), ``pg_stat_user_tables`` (index versus
sequential scans), ``pg_stat_activity`` samples (lock waits) and
``pgstattuple``/``pgstatindex`` (bloat and B-tree depth). Each figure is held
against the guardrails and carries the action the team takes when it fails.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any, Literal

import msgspec
import psycopg
from psycopg import sql

__all__ = [
    "Guardrail",
    "HealthReport",
    "Replica",
    "collect_health",
    "format_report",
]

P95_LIMIT_MS = 100.0
CACHE_HIT_MIN = 0.90
INDEX_SCAN_MIN = 0.95
LOCK_WAIT_MAX = 0.01
BLOAT_MAX = 0.20
INDEX_DEPTH_MAX = 3
LABEL_WIDTH = 60
APPROX_FROM_PAGES = 1000
"""Tables over this many pages are measured with ``pgstattuple_approx``."""
TINY_TABLE_PAGES = 8
"""Tables this small are not worth a VACUUM FULL whatever their ratio."""
BIG_TABLE_ROWS = 10_000
"""Tables at least this big are critical paths for the index-scan guardrail."""

_TAG = re.compile(r"/\* yeko:([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*) \*/")
_Z95 = 1.645  # p95 of a normal distribution, from mean and stddev


class Statement(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the top statements by total time."""

    label: str
    calls: int
    total_ms: float
    mean_ms: float
    p95_ms: float
    rows: int
    hit_ratio: float | None


class TableScans(msgspec.Struct, frozen=True, kw_only=True):
    """Index versus sequential scans of one table."""

    table: str
    rows: int
    seq_scans: int
    index_scans: int
    index_ratio: float | None


class Bloat(msgspec.Struct, frozen=True, kw_only=True):
    """Bloat of one table or index, and the depth of a B-tree."""

    relation: str
    kind: Literal["table", "index"]
    bloat_ratio: float
    depth: int | None
    action: str | None


class Guardrail(msgspec.Struct, frozen=True, kw_only=True):
    """One guardrail, the measured value, and what to do when it fails."""

    name: str
    limit: str
    measured: str
    ok: bool
    action: str


class Replica(msgspec.Struct, frozen=True, kw_only=True):
    """One standby streaming from this server (``pg_stat_replication``)."""

    name: str  # application_name
    address: str | None
    state: str
    sync_state: str
    replay_lag_bytes: int | None  # WAL written here, not yet replayed there
    replay_lag_ms: float | None  # the server's measure of the last replay delay


class HealthReport(msgspec.Struct, frozen=True, kw_only=True):
    """Everything ``yeko-sql stats`` reports."""

    database: str
    top_statements: list[Statement]
    cache_hit_ratio: float | None
    tables: list[TableScans]
    lock_wait_ratio: float
    bloat: list[Bloat]
    guardrails: list[Guardrail]
    notes: list[str]
    replicas: list[Replica] = []
    standby_lag_ms: float | None = None  # when this server is itself a standby

    @property
    def ok(self) -> bool:
        """Whether every guardrail holds."""
        return all(g.ok for g in self.guardrails)


def _ensure_extensions(conn: psycopg.Connection[Any], notes: list[str]) -> set[str]:
    present = set()
    for name in ("pg_stat_statements", "pgstattuple"):
        try:
            conn.execute(
                sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(
                    sql.Identifier(name)
                )
            )
            present.add(name)
        except psycopg.Error as exc:
            notes.append(
                f"{name} unavailable ({exc.diag.message_primary}); "
                f"a superuser can run 'CREATE EXTENSION {name}'"
            )
    return present


def _label(text: str) -> str:
    found = _TAG.search(text)
    if found:
        return f"yeko:{found.group(1)}"
    flat = " ".join(text.split())
    return flat if len(flat) <= LABEL_WIDTH else flat[: LABEL_WIDTH - 3] + "..."


def _statements(conn: psycopg.Connection[Any], limit: int) -> list[Statement]:
    rows = conn.execute(
        "SELECT query, calls, total_exec_time, mean_exec_time, stddev_exec_time, rows,"
        " shared_blks_hit, shared_blks_read"
        " FROM pg_stat_statements"
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND query NOT LIKE '%%pg_stat_statements%%'"
        " ORDER BY total_exec_time DESC LIMIT %s",
        [limit],
    ).fetchall()
    return [
        Statement(
            label=_label(text),
            calls=calls,
            total_ms=round(total, 3),
            mean_ms=round(mean, 3),
            p95_ms=round(mean + _Z95 * stddev, 3),
            rows=nrows,
            hit_ratio=round(hit / (hit + read), 4) if hit + read else None,
        )
        for text, calls, total, mean, stddev, nrows, hit, read in rows
    ]


def _cache_hit(conn: psycopg.Connection[Any]) -> float | None:
    row = conn.execute(
        "SELECT blks_hit, blks_read FROM pg_stat_database"
        " WHERE datname = current_database()"
    ).fetchone()
    if row is None or not (row[0] + row[1]):
        return None
    hit, read = int(row[0]), int(row[1])
    return round(hit / (hit + read), 4)


def _tables(conn: psycopg.Connection[Any]) -> list[TableScans]:
    rows = conn.execute(
        "SELECT relname, n_live_tup, coalesce(seq_scan, 0), coalesce(idx_scan, 0)"
        " FROM pg_stat_user_tables WHERE schemaname = 'public' ORDER BY relname"
    ).fetchall()
    return [
        TableScans(
            table=name,
            rows=live,
            seq_scans=seq,
            index_scans=idx,
            index_ratio=round(idx / (idx + seq), 4) if idx + seq else None,
        )
        for name, live, seq, idx in rows
    ]


def _lock_waits(conn: psycopg.Connection[Any], samples: int, interval: float) -> float:
    """Share of active backends waiting on a lock, sampled from pg_stat_activity."""
    active = waiting = 0
    for _ in range(samples):
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE state = 'active'),"
            " count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock')"
            " FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND datname = current_database()"
        ).fetchone()
        if row is not None:
            active += row[0]
            waiting += row[1]
        time.sleep(interval)
    return round(waiting / active, 4) if active else 0.0


def _bloat(conn: psycopg.Connection[Any]) -> list[Bloat]:
    found: list[Bloat] = []
    tables = conn.execute(
        "SELECT c.oid::regclass::text,"
        " pg_relation_size(c.oid) / current_setting('block_size')::int"
        " FROM pg_class AS c"
        " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"
    ).fetchall()
    for name, pages in tables:
        # pgstattuple_approx reads the visibility map: cheap on big tables.
        fn = "pgstattuple_approx" if pages > APPROX_FROM_PAGES else "pgstattuple"
        free, dead = ("approx_free_percent", "dead_tuple_percent")
        if fn == "pgstattuple":
            free = "free_percent"
        row = conn.execute(
            sql.SQL("SELECT {} + {} FROM {}(%s::regclass)").format(
                sql.Identifier(free), sql.Identifier(dead), sql.Identifier(fn)
            ),
            [name],
        ).fetchone()
        ratio = round(float(row[0]) / 100, 4) if row and row[0] is not None else 0.0
        action = (
            "VACUUM; VACUUM FULL or CLUSTER when it stays over 20 %"
            if (ratio > BLOAT_MAX and pages > TINY_TABLE_PAGES)
            else None
        )
        found.append(
            Bloat(
                relation=name,
                kind="table",
                bloat_ratio=ratio,
                depth=None,
                action=action,
            )
        )
    indexes = conn.execute(
        "SELECT i.indexrelid::regclass::text FROM pg_index AS i"
        " JOIN pg_class AS c ON c.oid = i.indexrelid"
        " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " JOIN pg_am AS am ON am.oid = c.relam"
        " WHERE n.nspname = 'public' AND am.amname = 'btree'"
        " AND pg_relation_size(c.oid) > 2 * current_setting('block_size')::int"
        " ORDER BY 1"
    ).fetchall()
    for (name,) in indexes:
        row = conn.execute(
            "SELECT tree_level, avg_leaf_density FROM pgstatindex(%s::regclass)", [name]
        ).fetchone()
        if row is None:
            continue
        depth, density = int(row[0]), float(row[1])
        # B-tree leaves are built 90 % full; what is missing beyond that is bloat.
        ratio = (
            0.0 if math.isnan(density) else round(max(0.0, 90.0 - density) / 90.0, 4)
        )
        action = None
        if depth > INDEX_DEPTH_MAX:
            action = "REINDEX CONCURRENTLY (tree deeper than 3 levels)"
        elif ratio > BLOAT_MAX:
            action = "REINDEX CONCURRENTLY (leaves over 20 % empty)"
        found.append(
            Bloat(
                relation=name,
                kind="index",
                bloat_ratio=ratio,
                depth=depth,
                action=action,
            )
        )
    return found


def _guardrails(
    statements: list[Statement],
    cache: float | None,
    tables: list[TableScans],
    locks: float,
    bloat: list[Bloat],
) -> list[Guardrail]:
    slowest = max(statements, key=lambda s: s.p95_ms, default=None)
    big = [t for t in tables if t.rows >= BIG_TABLE_ROWS and t.index_ratio is not None]
    worst = min(big, key=lambda t: t.index_ratio or 0.0, default=None)
    flagged = [b for b in bloat if b.action]
    return [
        Guardrail(
            name="p95 latency of named queries",
            limit=f"< {P95_LIMIT_MS:g} ms",
            measured=f"{slowest.p95_ms:.1f} ms ({slowest.label})"
            if slowest
            else "no data",
            ok=slowest is None or slowest.p95_ms < P95_LIMIT_MS,
            action="EXPLAIN (ANALYZE, BUFFERS) the query; add or fix its index",
        ),
        Guardrail(
            name="index scans on critical paths",
            limit=f"> {INDEX_SCAN_MIN:.0%}",
            measured=(
                f"{worst.index_ratio:.1%} ({worst.table})"
                if worst and worst.index_ratio is not None
                else "no table over 10k rows"
            ),
            ok=worst is None or (worst.index_ratio or 0.0) > INDEX_SCAN_MIN,
            action="find the sequential scans in pg_stat_statements; add an index",
        ),
        Guardrail(
            name="buffer cache hit ratio",
            limit=f"> {CACHE_HIT_MIN:.0%}",
            measured=f"{cache:.1%}" if cache is not None else "no reads yet",
            ok=cache is None or cache > CACHE_HIT_MIN,
            action="look for repeated full-table reads; raise shared_buffers",
        ),
        Guardrail(
            name="lock waits",
            limit=f"< {LOCK_WAIT_MAX:.0%} of query time",
            measured=f"{locks:.1%}",
            ok=locks < LOCK_WAIT_MAX,
            action="shorten transactions; FOR UPDATE SKIP LOCKED for workers",
        ),
        Guardrail(
            name="bloat and B-tree depth",
            limit="bloat <= 20 %, depth <= 3",
            measured=f"{len(flagged)} relation(s) flagged",
            ok=not flagged,
            action="; ".join(f"{b.relation}: {b.action}" for b in flagged)
            or "none needed",
        ),
    ]


_REPLICAS = """
SELECT application_name, client_addr::text, state, sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::int8,
       extract(epoch FROM replay_lag) * 1000
FROM pg_stat_replication
ORDER BY application_name
"""
_STANDBY_LAG = """
SELECT CASE WHEN pg_is_in_recovery() THEN
    extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000 END
"""


def _replication(conn: psycopg.Connection[Any]) -> tuple[list[Replica], float | None]:
    """The standbys of a primary with their lag; a standby's own lag."""
    row = conn.execute(_STANDBY_LAG).fetchone()
    standby_lag = float(row[0]) if row and row[0] is not None else None
    if standby_lag is not None:
        return [], standby_lag
    replicas = [
        Replica(
            name=name,
            address=address,
            state=state,
            sync_state=sync_state,
            replay_lag_bytes=lag_bytes,
            replay_lag_ms=float(lag_ms) if lag_ms is not None else None,
        )
        for name, address, state, sync_state, lag_bytes, lag_ms in conn.execute(
            _REPLICAS
        )
    ]
    return replicas, None


def collect_health(
    url: str, *, top: int = 20, lock_samples: int = 10, lock_interval: float = 0.05
) -> HealthReport:
    """Measure the database at *url* against the guardrails."""
    notes: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        present = _ensure_extensions(conn, notes)
        statements = _statements(conn, top) if "pg_stat_statements" in present else []
        cache = _cache_hit(conn)
        tables = _tables(conn)
        locks = _lock_waits(conn, lock_samples, lock_interval)
        bloat = _bloat(conn) if "pgstattuple" in present else []
        replicas, standby_lag = _replication(conn)
        database = conn.info.dbname
    return HealthReport(
        database=database,
        top_statements=statements,
        cache_hit_ratio=cache,
        tables=tables,
        lock_wait_ratio=locks,
        bloat=bloat,
        guardrails=_guardrails(statements, cache, tables, locks, bloat),
        notes=notes,
        replicas=replicas,
        standby_lag_ms=standby_lag,
    )


def format_report(report: HealthReport) -> str:
    """The human table ``yeko-sql stats`` prints."""
    out = [f"database {report.database}", "", "top statements by total time:"]
    out.append(
        f"  {'query':<48} {'calls':>8} {'total ms':>10} {'mean ms':>9} {'p95~ ms':>9}"
    )
    out.extend(
        f"  {s.label[:48]:<48} {s.calls:>8} {s.total_ms:>10.1f} "
        f"{s.mean_ms:>9.2f} {s.p95_ms:>9.2f}"
        for s in report.top_statements
    )
    out += ["", "tables (index vs sequential scans):"]
    for t in report.tables:
        ratio = f"{t.index_ratio:.1%}" if t.index_ratio is not None else "-"
        out.append(
            f"  {t.table:<32} rows {t.rows:>9}  seq {t.seq_scans:>7}  "
            f"idx {t.index_scans:>9}  index share {ratio}"
        )
    flagged = [b for b in report.bloat if b.action]
    out += ["", f"bloat: {len(report.bloat)} relations checked, {len(flagged)} flagged"]
    out += [f"  {b.relation}: {b.bloat_ratio:.0%} ({b.action})" for b in flagged]
    if report.replicas:
        out += ["", "replicas (replay lag):"]
        out += [
            f"  {r.name or '-':<20} {r.address or 'local':<16} {r.state:<10} "
            f"{r.sync_state:<6} {r.replay_lag_bytes or 0:>10} bytes  "
            + (f"{r.replay_lag_ms:.1f} ms" if r.replay_lag_ms is not None else "-")
            for r in report.replicas
        ]
    if report.standby_lag_ms is not None:
        out += [
            "",
            f"this server is a standby: last replay {report.standby_lag_ms:.0f} ms ago",
        ]
    out += ["", "guardrails:"]
    for g in report.guardrails:
        mark = "ok  " if g.ok else "FAIL"
        out.append(f"  {mark} {g.name:<32} {g.limit:<24} measured {g.measured}")
        if not g.ok:
            out.append(f"       -> {g.action}")
    out += [f"note: {n}" for n in report.notes]
    return "\n".join(out) + "\n"
