import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.fix_domain import ScopedDb, World
from yeko_sql.bulk.copy import columns_of
from yeko_sql.bulk.worker import Worker
from yeko_sql.errors import NoRowError
from yeko_sql.runtime.database import Database, Transaction
from yeko_sql.yeko.domain.jobs import Job, JobInsert
from yeko_sql.yeko.jobs import job_queue

LATER = datetime(2999, 1, 1, tzinfo=UTC)


def enqueue(db: ScopedDb, *jobs: JobInsert) -> list[str]:
    assert db.jobs.enqueue_jobs(**columns_of(list(jobs))) == len(jobs)
    return [job.id for job in jobs]


def backdate(pg: psycopg.Connection, ids: list[str], seconds: int) -> None:
    """Make jobs due: queued *seconds* ago, oldest first in list order."""
    for n, job_id in enumerate(ids):
        pg.execute(
            "UPDATE jobs SET run_after = now() - make_interval(secs => %s)"
            " WHERE id = %s",
            [seconds - n, job_id],
        )


def test_enqueue_jobs_fills_defaults_and_skips_ids_already_queued(
    db: ScopedDb, world: World
) -> None:
    school = world.first.school_id
    jobs = [
        JobInsert(kind="fees.remind", school_id=school, payload={"days_late": 30}),
        JobInsert(kind="catalog.refresh"),
        JobInsert(kind="fees.remind", school_id=school, run_after=LATER),
    ]
    enqueue(db, *jobs)
    first = db.jobs.get_job(id=jobs[0].id)
    assert isinstance(first, Job)
    assert (first.status, first.attempts, first.payload) == (
        "queued",
        0,
        {"days_late": 30},
    )
    assert (first.locked_by, first.locked_at, first.last_error) == (None, None, None)
    assert first.run_after <= datetime.now(UTC)
    assert db.jobs.get_job(id=jobs[1].id).school_id is None
    assert db.jobs.get_job(id=jobs[2].id).run_after == LATER
    assert db.jobs.enqueue_jobs(**columns_of(jobs)) == 0


def test_get_job_of_an_unknown_id_raises(db: ScopedDb) -> None:
    with pytest.raises(NoRowError):
        db.jobs.get_job(id="x" * 21)


def test_claim_jobs_locks_due_jobs_of_the_kinds_asked_oldest_first(
    db: ScopedDb, pg: psycopg.Connection
) -> None:
    due = enqueue(db, *(JobInsert(kind="fees.remind") for _ in range(3)))
    backdate(pg, due, 60)
    enqueue(
        db,
        JobInsert(kind="fees.remind", run_after=LATER),
        JobInsert(kind="stats.snapshot"),
    )

    claimed = db.jobs.claim_jobs(worker="w1", kinds=["fees.remind"], limit=2)

    assert sorted(job.id for job in claimed) == sorted(
        due[:2]
    )  # RETURNING is unordered
    assert {(j.status, j.locked_by, j.attempts) for j in claimed} == {
        ("running", "w1", 1)
    }
    assert all(j.locked_at is not None for j in claimed)
    rest = db.jobs.claim_jobs(worker="w2", kinds=["fees.remind"], limit=10)
    assert [job.id for job in rest] == [due[2]]
    assert db.jobs.claim_jobs(worker="w2", kinds=["fees.remind"], limit=10) == []


def test_complete_jobs_only_touches_jobs_the_worker_holds(db: ScopedDb) -> None:
    ids = enqueue(db, JobInsert(kind="fees.remind"), JobInsert(kind="fees.remind"))
    db.jobs.claim_jobs(worker="w1", kinds=["fees.remind"], limit=10)
    assert db.jobs.complete_jobs(ids=ids, worker="w2") == 0
    assert db.jobs.complete_jobs(ids=ids, worker="w1") == 2
    assert db.jobs.complete_jobs(ids=ids, worker="w1") == 0
    assert db.jobs.count_jobs_by_status() == {"done": 2}


def test_fail_jobs_requeues_with_backoff_then_fails_for_good(
    db: ScopedDb, pg: psycopg.Connection
) -> None:
    [job_id] = enqueue(db, JobInsert(kind="fees.remind"))
    db.jobs.claim_jobs(worker="w1", kinds=["fees.remind"], limit=1)
    failed = db.jobs.fail_jobs(
        ids=[job_id],
        errors=["boom"],
        worker="w1",
        max_attempts=2,
        backoff=timedelta(minutes=5),
    )
    assert failed == 1
    job = db.jobs.get_job(id=job_id)
    assert (job.status, job.last_error, job.locked_by, job.attempts) == (
        "queued",
        "boom",
        None,
        1,
    )
    assert job.run_after > datetime.now(UTC) + timedelta(minutes=4)

    backdate(pg, [job_id], 1)
    db.jobs.claim_jobs(worker="w1", kinds=["fees.remind"], limit=1)
    db.jobs.fail_jobs(
        ids=[job_id],
        errors=["boom again"],
        worker="w1",
        max_attempts=2,
        backoff=timedelta(minutes=5),
    )
    job = db.jobs.get_job(id=job_id)
    assert (job.status, job.last_error, job.locked_by, job.attempts) == (
        "failed",
        "boom again",
        "w1",
        2,
    )
    assert db.jobs.count_jobs_by_status() == {"failed": 1}


def test_requeue_stale_jobs_gives_back_jobs_of_dead_workers(
    db: ScopedDb, pg: psycopg.Connection
) -> None:
    ids = enqueue(db, JobInsert(kind="fees.remind"), JobInsert(kind="fees.remind"))
    db.jobs.claim_jobs(worker="dead", kinds=["fees.remind"], limit=10)
    pg.execute(
        "UPDATE jobs SET locked_at = now() - interval '1 hour' WHERE id = %s", [ids[0]]
    )
    assert db.jobs.requeue_stale_jobs(stale=timedelta(minutes=10), max_attempts=5) == 1
    job = db.jobs.get_job(id=ids[0])
    assert (job.status, job.locked_by, job.locked_at) == ("queued", None, None)
    assert job.last_error == "worker dead stopped before finishing"
    assert db.jobs.count_jobs_by_status() == {"queued": 1, "running": 1}
    pg.execute(
        "UPDATE jobs SET locked_at = now() - interval '1 hour' WHERE id = %s", [ids[1]]
    )
    assert db.jobs.requeue_stale_jobs(stale=timedelta(minutes=10), max_attempts=1) == 1
    assert db.jobs.get_job(id=ids[1]).status == "failed"


def test_list_school_jobs_pages_one_schools_jobs_newest_first(
    db: ScopedDb, world: World, pg: psycopg.Connection
) -> None:
    first, second = world.schools
    mine = enqueue(
        db,
        *(JobInsert(kind="fees.remind", school_id=first.school_id) for _ in range(3)),
    )
    enqueue(
        db,
        JobInsert(kind="fees.remind", school_id=second.school_id),
        JobInsert(kind="catalog.refresh"),
    )
    for n, job_id in enumerate(mine):
        pg.execute(
            "UPDATE jobs SET created_at = now() - make_interval(mins => %s)"
            " WHERE id = %s",
            [10 - n, job_id],
        )
    page = db.jobs.list_school_jobs(school_id=first.school_id, page=1, page_size=2)
    assert [job.id for job in page.items] == [mine[2], mine[1]]
    assert page.total == 3
    nothing = db.jobs.list_school_jobs(school_id="x" * 21, page=1, page_size=2)
    assert (nothing.items, nothing.total) == ([], 0)


# -- the worker -------------------------------------------------------------------


def test_a_worker_round_commits_the_handlers_writes_with_the_completion(
    db: ScopedDb, platform_db: Database, world: World, pg: psycopg.Connection
) -> None:
    school = world.first.school_id
    ok, bad = enqueue(
        db,
        JobInsert(
            kind="schools.rename",
            school_id=school,
            payload={"name": "Lycée Moderne de Cocody"},
        ),
        JobInsert(kind="schools.rename", school_id=school, payload={"name": ""}),
    )
    backdate(pg, [ok, bad], 10)

    def rename(tx: Transaction, job: Job) -> None:
        tx.execute(
            "UPDATE schools SET name = $1 WHERE id = $2",
            [job.payload["name"], job.school_id],
        )
        if not job.payload["name"]:
            raise ValueError("empty name")

    worker = Worker(
        platform_db,
        {"schools.rename": rename},
        queries=job_queue(),
        name="w1",
        max_attempts=1,
    )
    report = worker.run_once()

    assert (report.done, report.failed, report.lost, report.claimed) == (
        [ok],
        [bad],
        [],
        2,
    )
    assert pg.execute(
        "SELECT name FROM schools WHERE id = %s", [school]
    ).fetchone() == ("Lycée Moderne de Cocody",)
    failed = db.jobs.get_job(id=bad)
    assert (failed.status, failed.last_error) == ("failed", "ValueError: empty name")
    assert worker.run_once().claimed == 0


def test_a_job_requeued_while_running_is_rolled_back_and_reported_lost(
    db: ScopedDb, platform_db: Database, world: World, pg: psycopg.Connection
) -> None:
    [job_id] = enqueue(
        db, JobInsert(kind="schools.rename", school_id=world.first.school_id)
    )

    def stolen(tx: Transaction, job: Job) -> None:
        tx.execute("UPDATE schools SET name = 'lost' WHERE id = $1", [job.school_id])
        pg.execute(
            "UPDATE jobs SET status = 'queued', locked_by = NULL,"
            " locked_at = NULL WHERE id = %s",
            [job.id],
        )

    report = Worker(
        platform_db, {"schools.rename": stolen}, queries=job_queue(), name="w1"
    ).run_once()
    assert report.lost == [job_id]
    assert pg.execute(
        "SELECT count(*) FROM schools WHERE name = 'lost'"
    ).fetchone() == (0,)


def test_a_school_scoped_worker_claims_its_school_and_global_jobs(
    db: ScopedDb, app_db: Database, world: World
) -> None:
    first, second = world.schools
    mine, shared, _theirs = enqueue(
        db,
        JobInsert(kind="fees.remind", school_id=first.school_id),
        JobInsert(kind="fees.remind"),
        JobInsert(kind="fees.remind", school_id=second.school_id),
    )
    seen: list[str] = []
    worker = Worker(
        app_db,
        {"fees.remind": lambda tx, job: seen.append(job.id)},
        queries=job_queue(),
        school_id=first.school_id,
    )
    assert "fees.remind" in repr(worker)
    # As yeko_app inside for_school, Row-Level Security hides the other school's job.
    assert worker.run_once().claimed == 2
    assert sorted(seen) == sorted([mine, shared])


def test_concurrent_workers_never_claim_the_same_job(
    db: ScopedDb, platform_db: Database
) -> None:
    ids = enqueue(db, *(JobInsert(kind="marks.recompute") for _ in range(200)))
    claimed: list[tuple[str, str]] = []
    start = threading.Barrier(4)

    def handle(tx: Transaction, job: Job) -> None:
        tx.execute("SELECT pg_sleep(0.001)")
        claimed.append((job.id, job.locked_by or ""))

    def work(name: str) -> None:
        worker = Worker(
            platform_db,
            {"marks.recompute": handle},
            queries=job_queue(),
            name=name,
            batch=10,
        )
        start.wait()
        while worker.run_once().claimed:
            pass

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    per_job = Counter(job_id for job_id, _ in claimed)
    assert sorted(per_job) == sorted(ids)
    assert set(per_job.values()) == {1}
    assert len({worker for _, worker in claimed}) > 1
    assert db.jobs.count_jobs_by_status() == {"done": 200}


def test_run_loops_until_stopped_and_a_worker_needs_handlers(
    db: ScopedDb, platform_db: Database
) -> None:
    enqueue(db, *(JobInsert(kind="fees.remind") for _ in range(3)))
    worker = Worker(
        platform_db,
        {"fees.remind": lambda tx, job: None},
        queries=job_queue(),
        batch=2,
        poll_interval=0,
    )
    stop = threading.Event()
    assert worker.run(stop, max_rounds=3) == 3
    stop.set()
    assert worker.run(stop) == 0
    with pytest.raises(ValueError, match="no handlers"):
        Worker(platform_db, {})
