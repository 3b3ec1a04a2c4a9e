"""``make demo``: Yeko's queries on a realistic database, as a readable tour.

Creates (or reuses) the ``yeko_demo`` database, migrates it, seeds the demo
size afresh (deterministic: the same rows every run), then calls a few named
queries per area and prints their typed results as tables, each with its
time. It ends with pagination (OFFSET against keyset), a bulk upsert and two
workers claiming jobs with ``FOR UPDATE SKIP LOCKED``.

Parameters come from the ``samples`` namespace (the busiest school, its
biggest class, …), the same queries the plan guardrails use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any, TextIO

import msgspec
import psycopg

from yeko_sql.bulk import columns_of
from yeko_sql.database import Database
from yeko_sql.domain.jobs import JobInsert
from yeko_sql.domain.students import StudentInsert
from yeko_sql.kinds import Kind
from yeko_sql.migrate import apply_migrations
from yeko_sql.pagination import KeysetPage, Page
from yeko_sql.plans import sample_params
from yeko_sql.seed import Size, seed_database
from yeko_sql.settings import Settings

__all__ = ["TOUR", "run_demo"]

TOUR: list[tuple[str, list[str]]] = [
    ("Schools", ["schools.list_schools", "schools.get_school",
                 "schools.get_school_settings"]),
    ("Users and memberships", ["users.list_school_users"]),
    ("School years and terms", ["school_years.get_active_school_year",
                                "school_years.list_school_year_terms"]),
    ("Catalog", ["catalog.list_grades", "catalog.lookup_subjects"]),
    ("Programs", ["programs.list_program_templates"]),
    ("Coefficients", ["coefficients.lookup_coefficients"]),
    ("Classes", ["classes.list_school_classes"]),
    ("Students", ["students.list_students", "students.get_student_profile"]),
    ("Enrollments", ["enrollments.list_class_enrollments",
                     "enrollments.count_school_year_enrollments"]),
    ("Fees", ["fees.list_fee_structures"]),
    ("Payments", ["payments.get_student_balance", "payments.list_student_payments"]),
    ("Marks", ["marks.list_student_report_card", "marks.list_class_ranking"]),
    ("Analytics", ["analytics.list_enrollment_counts",
                   "analytics.get_year_fee_collection",
                   "analytics.list_class_fill_rates", "analytics.list_top_debtors"]),
]  # fmt: skip
"""The areas of the tour and the named queries each shows."""

_SMALL = {"page_size": 5, "limit": 5, "top": 5}
_ROWS_SHOWN = 8
_HIDDEN = {"created_at", "updated_at"}
_CELL = 28


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        text = f"{value:%Y-%m-%d %H:%M}"
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, Decimal):
        text = f"{value:,.0f}" if value == value.to_integral() else f"{value:,.2f}"
    elif isinstance(value, dict | list | msgspec.Struct):
        text = msgspec.json.encode(value).decode()
    else:
        text = "" if value is None else str(value)
    return text if len(text) <= _CELL else text[: _CELL - 1] + "…"


def _argument(value: object) -> str:
    if isinstance(value, list):
        return f"[{len(value)} values]"
    text = repr(value)
    return text if len(text) <= _CELL else text[: _CELL - 1] + "…"


def table(rows: Sequence[object]) -> str:
    """Render Structs (or scalars) as an aligned text table."""
    if not rows:
        return "  (no rows)\n"
    first = rows[0]
    if not isinstance(first, msgspec.Struct):
        return "".join(f"  {_cell(row)}\n" for row in rows[:_ROWS_SHOWN])
    # Bookkeeping timestamps add width and tell a reader nothing here.
    names = [n for n in first.__struct_fields__ if n not in _HIDDEN]
    cells = [[_cell(getattr(row, n)) for n in names] for row in rows[:_ROWS_SHOWN]]
    widths = [max(len(n), *(len(r[i]) for r in cells)) for i, n in enumerate(names)]
    line = "  " + "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True))
    out = [line, "  " + "  ".join("-" * w for w in widths)]
    out += [
        "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))
        for r in cells
    ]
    if len(rows) > _ROWS_SHOWN:
        out.append(f"  … {len(rows) - _ROWS_SHOWN} more")
    return "\n".join(out) + "\n"


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - start) * 1000


def _shown(result: object) -> str:
    if isinstance(result, Page):
        pages = f"page {result.page} of {result.pages}, {result.total:,} in all"
        return table(result.items) + f"  ({pages})\n"
    if isinstance(result, KeysetPage):
        return table(result.items) + f"  (has_more={result.has_more})\n"
    if isinstance(result, list):
        return table(result)
    if isinstance(result, msgspec.Struct):
        return table([result])
    return f"  {_cell(result)}\n"


def _args(
    conn: psycopg.Connection[Any], db: Database, qualname: str
) -> dict[str, object]:
    query = db.queries[qualname]
    params = sample_params(conn, db.queries, query)
    if query.kind is Kind.PAGE:
        params.pop("limit", None)
        params.pop("offset", None)
        params["page"] = 1
    return {k: _SMALL.get(k, v) for k, v in params.items()} | (
        {"page_size": _SMALL["page_size"]} if query.kind is Kind.PAGE else {}
    )


def _call(db: Database, qualname: str, args: dict[str, object], out: TextIO) -> Any:
    namespace, name = qualname.split(".")
    result, ms = _timed(lambda: getattr(getattr(db, namespace), name)(**args))
    shown = ", ".join(f"{k}={_argument(v)}" for k, v in args.items())
    out.write(f"\n{qualname}({shown})  {ms:.1f} ms\n{_shown(result)}")
    return result


def _tour(db: Database, conn: psycopg.Connection[Any], out: TextIO) -> None:
    for area, queries in TOUR:
        out.write(f"\n== {area} ==\n")
        for qualname in queries:
            _call(db, qualname, _args(conn, db, qualname), out)


def _pagination(db: Database, conn: psycopg.Connection[Any], out: TextIO) -> None:
    out.write("\n== Pagination: OFFSET against keyset ==\n")
    args = _args(conn, db, "students.list_students") | {"page_size": 20}
    first = _timed(lambda: db.students.list_students(**args))
    pages = max(first[0].pages, 1)
    deep = _timed(lambda: db.students.list_students(**args | {"page": pages}))
    out.write(
        f"students.list_students page 1: {first[1]:.2f} ms; page {pages} "
        f"(OFFSET {(pages - 1) * 20:,}): {deep[1]:.2f} ms\n"
    )
    seek = _args(conn, db, "enrollments.list_school_year_enrollments") | {"limit": 100}
    walked, times = 0, []
    while True:
        page, ms = _timed(partial(db.enrollments.list_school_year_enrollments, **seek))
        times.append(ms)
        walked += len(page.items)
        if not page.has_more:
            break
        seek |= {"after_enrolled_at": page.last.enrolled_at, "after_id": page.last.id}
    out.write(
        f"enrollments.list_school_year_enrollments: walked {walked:,} rows in "
        f"{len(times)} keyset pages; first page {times[0]:.2f} ms, last "
        f"{times[-1]:.2f} ms (a seek costs the same at any depth)\n"
    )


def _bulk(db: Database, conn: psycopg.Connection[Any], out: TextIO) -> None:
    out.write("\n== Bulk upsert: one statement over arrays ==\n")
    sample = sample_params(conn, db.queries, db.queries["students.list_students"])
    school_id = str(sample["school_id"])
    existing = db.students.list_students(
        school_id=school_id, status="active", search=None, page=1, page_size=250
    )
    rows = [
        StudentInsert(
            school_id=school_id,
            matricule=s.matricule,
            first_name="Renamed",
            last_name=s.full_name.split()[0],
        )
        for s in existing.items
    ]
    rows += [
        StudentInsert(
            school_id=school_id,
            matricule=f"DEMO{i:05d}",
            first_name="Nouvelle",
            last_name=f"Eleve{i}",
        )
        for i in range(250)
    ]
    # The school is one scalar parameter; every other field is one array.
    fields = [
        p for p in db.queries["students.upsert_students"].params if p != "school_id"
    ]
    arrays = columns_of(rows, fields)
    changed, ms = _timed(
        lambda: db.students.upsert_students(school_id=school_id, **arrays)
    )
    out.write(
        f"students.upsert_students: {len(rows)} rows ({len(existing.items)} existing,"
        f" 250 new) -> {changed} rows written in {ms:.1f} ms, one statement\n"
    )


def _skip_locked(db: Database, out: TextIO) -> None:
    out.write("\n== Two workers, FOR UPDATE SKIP LOCKED ==\n")
    jobs = [JobInsert(kind="demo.tick", payload={"n": n}) for n in range(40)]
    db.jobs.enqueue_jobs(**columns_of(jobs))
    claimed: dict[str, list[str]] = {}
    barrier = threading.Barrier(2)

    def work(worker: str) -> None:
        with db.transaction() as tx:
            barrier.wait()
            got = tx.jobs.claim_jobs(worker=worker, kinds=["demo.tick"], limit=15)
            claimed[worker] = [job.id for job in got]
            tx.jobs.complete_jobs(worker=worker, ids=claimed[worker])

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    one, two = claimed["worker-1"], claimed["worker-2"]
    out.write(
        f"worker-1 claimed {len(one)}, worker-2 claimed {len(two)}, "
        f"claimed by both: {len(set(one) & set(two))}\n"
    )


def run_demo(
    url: str,
    *,
    out: TextIO,
    seed: int = 0,
    size: Size = "demo",
    progress: bool | None = None,
) -> int:
    """Migrate and seed *url* (the demo database) afresh, then print the tour."""
    started = time.perf_counter()
    applied = apply_migrations(url)
    out.write(f"database {url}\nmigrations: {len(applied)} applied now\n")
    report = seed_database(url, size=size, seed=seed, progress=progress, reset=True)
    counts = ", ".join(f"{n:,} {t}" for t, n in report.counts.items() if n)
    out.write(
        f"seeded ({size} size, seed {seed}) in {report.seconds:.1f} s: {counts}\n"
    )
    settings = Settings(min_size=2, max_size=4)
    with (
        Database(url, settings=settings) as db,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        _tour(db, conn, out)
        _pagination(db, conn, out)
        _bulk(db, conn, out)
        _skip_locked(db, out)
    out.write(f"\ndemo done in {time.perf_counter() - started:.1f} s\n")
    return 0
