"""Two overlapping re-enrollment runs give each student one pending enrollment.

``enrollments.insert_next_year_enrollments`` skips students already enrolled in
the target year, so running it again adds nothing. Two runs at once (two staff
members clicking, a retried job) used to both see "not enrolled yet" in their
snapshots and both insert. The ids it inserts are now derived from the student
and the year, so the second run meets the first's rows on the primary key,
waits for the first to commit, and skips them (``ON CONFLICT (id) DO NOTHING``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date

import psycopg
import pytest

from tests.fix_domain import SchoolWorld, World, insert_row
from yeko_sql.query.registry import Registry
from yeko_sql.runtime.database import Database
from yeko_sql.settings import Settings

TAG = "yeko:enrollments.insert_next_year_enrollments"


@pytest.fixture
def app(database_url: str, bundled_queries: Registry) -> Iterator[Database]:
    """The application role, with room for two transactions at once."""
    url = psycopg.conninfo.make_conninfo(database_url, user="yeko_app")
    settings = Settings(min_size=2, max_size=2)
    with Database(url, queries=bundled_queries, settings=settings) as db:
        yield db


def confirm_class(pg: psycopg.Connection, school: SchoolWorld, name: str) -> list[str]:
    """Confirm the ten students of class *name* in it; return their ids."""
    names = list(school.class_ids)
    start = names.index(name) * 10
    students = school.student_ids[start : start + 10]
    for student_id in students:
        insert_row(
            pg,
            "enrollments",
            school_id=school.school_id,
            student_id=student_id,
            class_id=school.class_ids[name],
            school_year_id=school.school_year_id,
            status="confirmed",
            confirmed_at=date(2025, 9, 2),
        )
    return students


def next_year_classes(
    pg: psycopg.Connection, world: World, school: SchoolWorld, names: list[str]
) -> tuple[str, list[str]]:
    """The school's next year and, in it, 5e classes called *names*."""
    year_id = insert_row(
        pg,
        "school_years",
        school_id=school.school_id,
        school_year_template_id=world.next_template_id,
        name="2026-2027",
        starts_on=date(2026, 9, 1),
        ends_on=date(2027, 7, 15),
    )
    classes = [
        insert_row(
            pg,
            "classes",
            school_id=school.school_id,
            school_year_id=year_id,
            grade_id=world.grade_ids["5EME"],
            name=name,
        )
        for name in names
    ]
    return year_id, classes


def waiting_runs(pg: psycopg.Connection) -> int:
    """Runs of the query blocked on a lock right now."""
    row = pg.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND strpos(query, %s) > 0",
        [TAG],
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("targets", ["same class", "two classes"])
def test_two_overlapping_runs_leave_one_pending_enrollment_per_student_and_year(
    app: Database, pg: psycopg.Connection, world: World, targets: str
) -> None:
    school = world.first
    students = confirm_class(pg, school, "6e A")
    year_id, classes = next_year_classes(pg, world, school, ["5e A", "5e B"])
    first_to, second_to = classes if targets == "two classes" else classes[:1] * 2
    args = {
        "school_id": school.school_id,
        "from_school_year_id": school.school_year_id,
        "grade_id": world.grade_ids["6EME"],
        "series_id": None,
    }

    def run(to_class_id: str) -> int:
        with app.for_school(school.school_id) as tx:
            added: int = tx.enrollments.insert_next_year_enrollments(
                **args, to_class_id=to_class_id
            )
        return added

    with ThreadPoolExecutor(max_workers=1) as pool:
        with app.for_school(school.school_id) as tx:  # the first run, held open
            first = tx.enrollments.insert_next_year_enrollments(
                **args, to_class_id=first_to
            )
            second: Future[int] = pool.submit(run, second_to)
            deadline = time.monotonic() + 10
            while not waiting_runs(pg) and not second.done():
                assert time.monotonic() < deadline, "the second run never started"
                time.sleep(0.01)
            blocked = not second.done()  # waits for the first run's rows
        added = second.result(timeout=10)
    assert (first, added) == (10, 0)
    assert blocked
    rows = pg.execute(
        "SELECT student_id, count(*) FROM enrollments"
        " WHERE school_year_id = %s AND status = 'pending'"
        " GROUP BY student_id",
        [year_id],
    ).fetchall()
    assert dict(rows) == dict.fromkeys(students, 1)
