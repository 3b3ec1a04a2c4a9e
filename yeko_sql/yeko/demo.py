"""``make demo``: Yeko's queries on a realistic database, as a readable tour.

Creates (or reuses) the ``yeko_demo`` database, migrates it and seeds the
demo size afresh as its owner (deterministic: the same rows every run), then
tours it as the application would run: each query under the role its header
declares, so a school's queries run as ``yeko_app`` inside ``for_school`` of
one school (Row-Level Security on) and the cross-school ones (the school list)
as ``yeko_platform``. A few named queries per area print their typed results
as tables, each with its time. It ends with pagination (OFFSET against
keyset), a bulk upsert and two workers claiming jobs with ``FOR UPDATE SKIP
LOCKED``.

Parameters come from the ``samples`` namespace (the busiest school, its
biggest class, …), the same queries the plan guardrails use; they read every
school, so they run as the owner.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any, TextIO

import msgspec
import psycopg

from yeko_sql.bulk.copy import columns_of
from yeko_sql.ops.migrate import apply_migrations
from yeko_sql.ops.serverurl import masked, role_url
from yeko_sql.query.kinds import Kind
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.runtime.database import Database, Transaction
from yeko_sql.runtime.pagination import KeysetPage, Page
from yeko_sql.settings import Settings
from yeko_sql.verify.plans import sample_params
from yeko_sql.yeko.domain.jobs import JobInsert
from yeko_sql.yeko.domain.students import StudentInsert
from yeko_sql.yeko.roles import APP_ROLE
from yeko_sql.yeko.seed.run import Size, seed_database

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

_BEYOND_TOUR = [
    "students.upsert_students",
    "enrollments.list_school_year_enrollments",
    "jobs.claim_jobs",
]
"""The queries the last sections run (pagination, bulk, workers)."""
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


class Roles:
    """The tour's connections: one ``Database`` per role, and the owner's.

    A query runs under the role its header declares (``Query.role``): with
    none, as ``yeko_app`` inside ``for_school`` of the demo's school; the
    samples that pick parameters read every school as the owner (*conn*).
    """

    def __init__(
        self, url: str, queries: Registry, conn: psycopg.Connection[Any]
    ) -> None:
        self.url = url
        self.queries = queries
        self.conn = conn
        self.school_id = ""
        self._opened: dict[str, Database] = {}

    def database(self, role: str) -> Database:
        """The pool of *role*, opened at first use."""
        if role not in self._opened:
            settings = Settings(min_size=1, max_size=4)
            database = Database(
                role_url(self.url, role), queries=self.queries, settings=settings
            )
            self._opened[role] = database.open()
        return self._opened[role]

    def open_for(self, qualnames: Sequence[str]) -> None:
        """Open the pools of the roles *qualnames* run as, so no call times that."""
        for qualname in qualnames:
            self.database(self.role_of(qualname))

    def close(self) -> None:
        """Close every pool the tour opened."""
        for database in self._opened.values():
            database.close()

    def role_of(self, qualname: str) -> str:
        """The role *qualname* declares; the application's when none."""
        return self.queries[qualname].role or APP_ROLE

    def scope(self, qualname: str) -> AbstractContextManager[Transaction]:
        """A transaction *qualname* can run in, as its role (one school for the app)."""
        role = self.role_of(qualname)
        if role == APP_ROLE:
            return self.database(role).for_school(self.school_id)
        return self.database(role).transaction()

    def args(self, qualname: str) -> dict[str, object]:
        """Sample parameters for *qualname*, sized for a screen."""
        query = self.queries[qualname]
        params = sample_params(self.conn, self.queries, query)
        if query.kind is Kind.PAGE:
            params.pop("limit", None)
            params.pop("offset", None)
            params["page"] = 1
        return {k: _SMALL.get(k, v) for k, v in params.items()} | (
            {"page_size": _SMALL["page_size"]} if query.kind is Kind.PAGE else {}
        )

    def call(self, qualname: str, **args: object) -> Any:
        """Run *qualname* in a transaction of its own, as its role."""
        namespace, name = qualname.split(".")
        with self.scope(qualname) as tx:
            return getattr(getattr(tx, namespace), name)(**args)


def _call(roles: Roles, qualname: str, args: dict[str, object], out: TextIO) -> Any:
    result, ms = _timed(lambda: roles.call(qualname, **args))
    shown = ", ".join(f"{k}={_argument(v)}" for k, v in args.items())
    role = roles.role_of(qualname)
    as_role = "" if role == APP_ROLE else f"  as {role}"
    out.write(f"\n{qualname}({shown}){as_role}  {ms:.1f} ms\n{_shown(result)}")
    return result


def _tour(roles: Roles, out: TextIO) -> None:
    for area, queries in TOUR:
        out.write(f"\n== {area} ==\n")
        for qualname in queries:
            _call(roles, qualname, roles.args(qualname), out)


def _pagination(roles: Roles, out: TextIO) -> None:
    out.write("\n== Pagination: OFFSET against keyset ==\n")
    args = roles.args("students.list_students") | {"page_size": 20}
    first = _timed(lambda: roles.call("students.list_students", **args))
    pages = max(first[0].pages, 1)
    deep = _timed(
        lambda: roles.call("students.list_students", **args | {"page": pages})
    )
    out.write(
        f"students.list_students page 1: {first[1]:.2f} ms; page {pages} "
        f"(OFFSET {(pages - 1) * 20:,}): {deep[1]:.2f} ms\n"
    )
    keyset = "enrollments.list_school_year_enrollments"
    seek = roles.args(keyset) | {"limit": 100}
    walked, times = 0, []
    while True:
        page, ms = _timed(partial(roles.call, keyset, **seek))
        times.append(ms)
        walked += len(page.items)
        if not page.has_more:
            break
        seek |= {"after_enrolled_at": page.last.enrolled_at, "after_id": page.last.id}
    out.write(
        f"{keyset}: walked {walked:,} rows in "
        f"{len(times)} keyset pages; first page {times[0]:.2f} ms, last "
        f"{times[-1]:.2f} ms (a seek costs the same at any depth)\n"
    )


def _bulk(roles: Roles, out: TextIO) -> None:
    out.write("\n== Bulk upsert: one statement over arrays ==\n")
    school_id = roles.school_id
    existing = roles.call(
        "students.list_students",
        school_id=school_id,
        status="active",
        search=None,
        page=1,
        page_size=250,
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
    upsert = "students.upsert_students"
    fields = [p for p in roles.queries[upsert].params if p != "school_id"]
    arrays = columns_of(rows, fields)
    changed, ms = _timed(lambda: roles.call(upsert, school_id=school_id, **arrays))
    out.write(
        f"{upsert}: {len(rows)} rows ({len(existing.items)} existing,"
        f" 250 new) -> {changed} rows written in {ms:.1f} ms, one statement\n"
    )


def _skip_locked(roles: Roles, out: TextIO) -> None:
    out.write("\n== Two workers, FOR UPDATE SKIP LOCKED ==\n")
    jobs = [JobInsert(kind="demo.tick", payload={"n": n}) for n in range(40)]
    roles.call("jobs.enqueue_jobs", **columns_of(jobs))
    claimed: dict[str, list[str]] = {}
    barrier = threading.Barrier(2)

    def work(worker: str) -> None:
        with roles.scope("jobs.claim_jobs") as tx:
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
    role = roles.role_of("jobs.claim_jobs")
    out.write(
        f"worker-1 claimed {len(one)}, worker-2 claimed {len(two)}, "
        f"claimed by both: {len(set(one) & set(two))} (as {role})\n"
    )


def run_demo(
    url: str,
    *,
    out: TextIO,
    seed: int = 0,
    size: Size = "demo",
    progress: bool | None = None,
) -> int:
    """Migrate and seed *url* (the demo database, an owner's URL) afresh, then
    tour it as the application: ``yeko_app`` inside ``for_school``."""
    started = time.perf_counter()
    applied = apply_migrations(url)
    out.write(f"database {masked(url)}\nmigrations: {len(applied)} applied now\n")
    report = seed_database(url, size=size, seed=seed, progress=progress, reset=True)
    counts = ", ".join(f"{n:,} {t}" for t, n in report.counts.items() if n)
    out.write(
        f"seeded ({size} size, seed {seed}) in {report.seconds:.1f} s: {counts}\n"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        roles = Roles(url, load_queries(), conn)
        try:
            roles.school_id = str(roles.call("samples.sample_school_id"))
            roles.open_for([q for _, names in TOUR for q in names] + _BEYOND_TOUR)
            out.write(
                f"the tour runs as {APP_ROLE} inside for_school({roles.school_id!r})"
                " (the busiest school); other roles are named where used\n"
            )
            _tour(roles, out)
            _pagination(roles, out)
            _bulk(roles, out)
            _skip_locked(roles, out)
        finally:
            roles.close()
    out.write(f"\ndemo done in {time.perf_counter() - started:.1f} s\n")
    return 0
