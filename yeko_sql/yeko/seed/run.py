"""Fill a migrated database with a realistic, deterministic Ivorian school system.

``seed_database(url, size="demo")`` loads schools with two school years (the
previous one closed, the current one active), terms, classes per grade and
series, students, enrollments, fees, payments, marks, staff and jobs, through
binary COPY in one transaction. The same *seed* gives the same rows, ids
included. Sizes:

=======  =======  =========  ===========  ==========  ===========
size     schools  students   enrollments  payments    marks
=======  =======  =========  ===========  ==========  ===========
tiny     2        ~220       ~690         ~1.3k       ~12k
demo     20       ~10.6k     ~32k         ~63k        ~370k
scale    1,000    ~340k      ~1.0M        ~2.0M       ~1.46M
=======  =======  =========  ===========  ==========  ===========

Loading ``scale`` takes about 80 s on a quiet 2-core machine (``docs/bulk.md``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import Any, Literal, NamedTuple

import msgspec
import psycopg
from psycopg import sql

from yeko_sql.bulk.copy import copy_target
from yeko_sql.errors import YekoSqlError
from yeko_sql.runtime.adapters import shared_adapters
from yeko_sql.yeko.seed.plan import COLUMNS, Catalog, SchoolPlan, plan_catalog, stream
from yeko_sql.yeko.seed.rows import MarkPlan, enrollment_rows, mark_rows, payment_rows
from yeko_sql.yeko.seed.school import plan_school

__all__ = ["SIZES", "SeedReport", "SeedSize", "seed_database"]

Size = Literal["tiny", "demo", "scale"]

_NOW = (("test", "Devoir 1", 30), ("test", "Devoir 2", 60))
_PAST = (("test", "Devoir 1", 25), ("exam", "Composition", 75))
_BATCH = 100_000  # rows per COPY statement: progress, and bounded trigger queues


class SeedSize(NamedTuple):
    """How big a seeded world is."""

    schools: int
    students: tuple[int, int]  # this year's students per school: low, high
    colleges: float  # share of schools teaching 6e..3e only
    marks: MarkPlan


_CORE = ("MATH", "FR", "ANG", "PC", "HG")
SIZES: dict[str, SeedSize] = {
    "tiny": SeedSize(2, (100, 100), 0.0, MarkPlan(
        {(0, 0): _PAST, (0, 1): _PAST, (0, 2): _PAST, (1, 0): _NOW})),
    "demo": SeedSize(20, (300, 700), 0.3, MarkPlan(
        {(0, 0): _PAST[1:], (0, 1): _PAST[1:], (0, 2): _PAST[1:], (1, 0): _NOW})),
    "scale": SeedSize(1000, (120, 480), 0.3, MarkPlan({(1, 0): _NOW[:1]}, _CORE)),
}  # fmt: skip
"""The named sizes ``seed_database`` accepts."""


class SeedReport(msgspec.Struct, frozen=True, kw_only=True):
    """What a seed loaded: rows per table, and how long each step took."""

    size: str
    seed: int
    counts: dict[str, int]
    """Rows per table, in load order."""
    seconds: float
    """Wall time of the whole seed, ANALYZE included."""
    table_seconds: dict[str, float]
    """Time per table (generating and loading overlap), plus 'plan' and 'analyze'."""

    @property
    def rows(self) -> int:
        """Rows loaded in all tables."""
        return sum(self.counts.values())


class _Progress:
    """One ``\\r`` line on stderr: table, rows so far, elapsed seconds."""

    def __init__(self, label: str, *, enabled: bool) -> None:
        self.label, self.enabled = label, enabled
        self.start = time.perf_counter()

    def show(self, step: str, rows: int) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.start
            line = f"seed {self.label}: {step:<26} {rows:>12,} rows {elapsed:7.1f} s"
            sys.stderr.write(f"\r{line}")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _redact(url: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(url)
    host, port = params.get("host", "localhost"), params.get("port", 5432)
    return f"{host}:{port}/{params.get('dbname', '')}"


def _prepare(conn: psycopg.Connection[Any], url: str, *, reset: bool) -> None:
    found = conn.execute(
        "SELECT to_regclass('schools') IS NOT NULL AND to_regclass('jobs') IS NOT NULL"
    ).fetchone()
    if not found or not found[0]:
        raise YekoSqlError(
            f"{_redact(url)}: the schema is missing; "
            "run 'yeko-sql migrate apply' before seeding"
        )
    row = conn.execute(
        "SELECT (SELECT count(*) FROM schools), EXISTS (SELECT FROM grades)"
    ).fetchone()
    schools, catalog = row if row else (0, False)
    if not reset and (schools or catalog):
        raise YekoSqlError(
            f"{_redact(url)}: the database already holds {schools} schools"
            f"{' and a catalog' if catalog else ''}; pass reset=True "
            "(yeko-sql seed --reset) to empty the domain tables first"
        )
    if reset:
        # payments_reject_change rejects TRUNCATE of the append-only ledger; the
        # ALTER and the TRUNCATE commit (or roll back) with the seed.
        tables = sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
        conn.execute("ALTER TABLE payments DISABLE TRIGGER payments_reject_change")
        conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(tables))
        conn.execute("ALTER TABLE payments ENABLE TRIGGER payments_reject_change")


_FOREIGN_KEYS = """\
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
FROM pg_constraint
WHERE contype = 'f'
  AND conrelid = ANY(%s::regclass[])
ORDER BY conrelid::regclass::text, conname"""


def _drop_foreign_keys(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str]]:
    """Drop the seeded tables' foreign keys; return them to be added back.

    A foreign key checks each inserted row with a query of its own (four or
    five per payment or mark); adding it back after the load checks every row
    in one join per key: the same guarantee, about five times faster overall.
    """
    keys: list[tuple[str, str, str]] = conn.execute(
        _FOREIGN_KEYS, [list(COLUMNS)]
    ).fetchall()
    for table, name, _ in keys:
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
    return keys


def _add_foreign_keys(
    conn: psycopg.Connection[Any], keys: list[tuple[str, str, str]]
) -> None:
    for table, name, definition in keys:
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
            )
        )


_FORCED = """\
SELECT c.relname
FROM pg_class AS c
WHERE c.oid = ANY(%s::regclass[])
  AND c.relforcerowsecurity
  AND row_security_active(c.oid)
ORDER BY c.relname"""


def _lift_forced_rls(conn: psycopg.Connection[Any]) -> list[str]:
    """Let an owner that is subject to row-level security COPY into its tables.

    The school-owned tables force RLS, so an owner that is not a superuser is
    subject to its own policies, and PostgreSQL refuses ``COPY FROM`` into a
    table whose policies apply ("COPY FROM not supported with row-level
    security"). Inside the seed's transaction the forcing is lifted (the owner
    then skips RLS, as before) and put back before it commits; the lock taken
    keeps every other session out meanwhile, so none sees the gap. Returns
    the tables to force again.
    """
    rows = conn.execute(_FORCED, [list(COLUMNS)]).fetchall()
    tables = [str(name) for (name,) in rows]
    for table in tables:
        conn.execute(
            sql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(
                sql.Identifier(table)
            )
        )
    return tables


def _force_rls(conn: psycopg.Connection[Any], tables: list[str]) -> None:
    for table in tables:
        conn.execute(
            sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(
                sql.Identifier(table)
            )
        )


def _plans(seed: int, spec: SeedSize, catalog: Catalog) -> list[SchoolPlan]:
    rng = stream(seed, "sizes")
    low, high = spec.students
    return [
        plan_school(seed, i, rng.randint(low, high),
                    lycee=i == 0 or rng.random() >= spec.colleges, catalog=catalog)
        for i in range(spec.schools)
    ]  # fmt: skip


def _rows(
    table: str, seed: int, spec: SeedSize, catalog: Catalog, plans: list[SchoolPlan]
) -> Iterable[tuple[Any, ...]]:
    if table == "enrollments":
        return chain.from_iterable(enrollment_rows(seed, p) for p in plans)
    if table == "payments":
        return chain.from_iterable(payment_rows(seed, p) for p in plans)
    if table == "marks":
        return chain.from_iterable(
            mark_rows(seed, p, catalog, spec.marks) for p in plans
        )
    own = chain.from_iterable(p.rows.get(table, ()) for p in plans)
    if table == "user_schools" and len(plans) > 1:
        shared = (
            (mid, uid, plans[(p.number + 1) % len(plans)].school_id, "teacher",
             *p.rows["user_schools"][0][4:])
            for p in plans
            for mid, uid in p.shared_teachers
        )  # fmt: skip
        return chain(own, shared)
    return chain(catalog.rows.get(table, ()), own)


def _copy(
    conn: psycopg.Connection[Any],
    table: str,
    rows: Iterable[tuple[Any, ...]],
    progress: _Progress,
) -> int:
    target = copy_target(conn, table).select(COLUMNS[table])
    statement, oids = target.statement(), list(target.oids)
    it: Iterator[tuple[Any, ...]] = iter(rows)
    count = 0
    while True:
        batch = 0
        with conn.cursor() as cur, cur.copy(statement) as copy:
            copy.set_types(oids)
            write = copy.write_row
            for row in islice(it, _BATCH):
                write(row)
                batch += 1
        count += batch
        progress.show(table, count)
        if batch < _BATCH:
            return count


def seed_database(
    url: str,
    *,
    size: Size = "demo",
    seed: int = 0,
    progress: bool | None = None,
    reset: bool = False,
) -> SeedReport:
    """Load a deterministic school system of *size* into the database at *url*.

    The database must be migrated and empty (no schools, no catalog) unless
    *reset* empties the domain tables first, in the same transaction. A
    progress line goes to stderr when *progress* is true, or by default when
    stderr is a terminal.

    Raises:
        YekoSqlError: the schema is missing, or the database already holds data
            and *reset* is false.
        ValueError: *size* is not one of ``SIZES``.
    """
    if size not in SIZES:
        raise ValueError(
            f"unknown seed size {size!r}; expected one of {', '.join(SIZES)}"
        )
    spec = SIZES[size]
    bar = _Progress(size, enabled=sys.stderr.isatty() if progress is None else progress)
    started = time.perf_counter()
    counts: dict[str, int] = {}
    timing: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True, context=shared_adapters()) as conn:
        conn.execute("SET statement_timeout = 0")
        with conn.transaction():
            _prepare(conn, url, reset=reset)
            bar.show("planning", 0)
            catalog = plan_catalog(seed)
            plans = _plans(seed, spec, catalog)
            timing["plan"] = time.perf_counter() - started
            forced = _lift_forced_rls(conn)
            keys = _drop_foreign_keys(conn)
            for table in COLUMNS:
                begun = time.perf_counter()
                rows = _rows(table, seed, spec, catalog, plans)
                counts[table] = _copy(conn, table, rows, bar)
                timing[table] = time.perf_counter() - begun
                if table == "students":  # the big tables need placements only
                    for plan in plans:
                        plan.rows["students"].clear()
            begun = time.perf_counter()
            bar.show("foreign keys", sum(counts.values()))
            _add_foreign_keys(conn, keys)
            _force_rls(conn, forced)
            timing["foreign_keys"] = time.perf_counter() - begun
        begun = time.perf_counter()
        bar.show("analyze", sum(counts.values()))
        for table in COLUMNS:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
        timing["analyze"] = time.perf_counter() - begun
    bar.show("done", sum(counts.values()))
    bar.done()
    return SeedReport(
        size=size,
        seed=seed,
        counts=counts,
        seconds=round(time.perf_counter() - started, 3),
        table_seconds={k: round(v, 3) for k, v in timing.items()},
    )
