"""The generic worker on a scratch database holding only the toolkit's queue.

No Yeko table, role or ``school_id`` here: the database gets the migration in
``yeko_sql/bulk/migrations`` and nothing else, as an app's would.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.fix_sqlfiles import SqlDir
from yeko_sql.bulk.copy import columns_of
from yeko_sql.bulk.queue import (
    Job,
    JobInsert,
    migrations_dir,
    queue_migration,
    queue_queries,
)
from yeko_sql.bulk.worker import Worker
from yeko_sql.errors import NoRowError
from yeko_sql.ops.migrate import (
    apply_migrations,
    list_migrations,
    rollback_migrations,
)
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.runtime.database import Database, Transaction
from yeko_sql.settings import Settings
from yeko_sql.verify.check import check

LATER = datetime(2999, 1, 1, tzinfo=UTC)


@pytest.fixture
def queue_url(empty_database_url: str) -> str:
    """A scratch database with only the toolkit's queue migration applied."""
    assert apply_migrations(empty_database_url, source=migrations_dir()) == [
        "0001_create-jobs"
    ]
    return empty_database_url


@pytest.fixture
def qdb(queue_url: str) -> Iterator[Database]:
    """The app's database: its registry is only the queue's queries."""
    with Database(
        queue_url,
        queries=Registry(queue_queries().values()),
        settings=Settings(min_size=1, max_size=6),
    ) as db:
        yield db


@pytest.fixture
def raw(queue_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection for setting the stage."""
    with psycopg.connect(queue_url, autocommit=True) as conn:
        yield conn


def enqueue(db: Database, *jobs: JobInsert) -> list[str]:
    assert db.jobs.enqueue_jobs(**columns_of(list(jobs))) == len(jobs)
    return [job.id for job in jobs]


def make_due(raw: psycopg.Connection, ids: list[str], table: str = "jobs") -> None:
    """Make jobs due now, oldest first in list order."""
    for n, job_id in enumerate(ids):
        raw.execute(
            sql.SQL(
                "UPDATE {} SET run_after = now() - make_interval(secs => %s)"
                " WHERE id = %s"
            ).format(sql.Identifier(table)),
            [len(ids) - n, job_id],
        )


def test_the_queue_table_has_no_tenant_column_and_the_database_nothing_else(
    raw: psycopg.Connection,
) -> None:
    tables = raw.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r'"
        " AND relnamespace = 'public'::regnamespace ORDER BY relname"
    ).fetchall()
    bookkeeping = {"yeko_migration_checksums", "yoyo_lock"}  # the migrator's own
    assert [
        name
        for (name,) in tables
        if not name.startswith("_yoyo") and name not in bookkeeping
    ] == ["jobs"]
    columns = [
        name
        for (name,) in raw.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'jobs'::regclass"
            " AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        )
    ]
    assert "school_id" not in columns
    assert columns == list(Job.__struct_fields__)
    assert list_migrations(source=migrations_dir()) == [
        (
            "0001_create-jobs",
            "Create jobs, the queue yeko_sql's Worker claims with "
            "FOR UPDATE SKIP LOCKED.",
        )
    ]


def test_a_round_commits_done_jobs_with_their_writes_and_records_failures(
    qdb: Database, raw: psycopg.Connection
) -> None:
    raw.execute("CREATE TABLE receipts (job_id text PRIMARY KEY)")
    ok, bad = enqueue(
        qdb,
        JobInsert(kind="mail.send_receipt", payload={"to": "awa@example.ci"}),
        JobInsert(kind="mail.send_receipt", payload={"to": ""}),
    )
    enqueue(
        qdb,
        JobInsert(kind="mail.send_receipt", run_after=LATER),
        JobInsert(kind="stats.snapshot"),
    )
    make_due(raw, [ok, bad])

    def send(tx: Transaction, job: Job) -> None:
        tx.execute("INSERT INTO receipts (job_id) VALUES ($1)", [job.id])
        if not job.payload["to"]:
            raise ValueError("no address")

    worker = Worker(qdb, {"mail.send_receipt": send}, name="w1", max_attempts=1)
    report = worker.run_once()

    assert (report.done, report.failed, report.lost) == ([ok], [bad], [])
    assert raw.execute("SELECT job_id FROM receipts").fetchall() == [(ok,)]
    done, failed = qdb.jobs.get_job(id=ok), qdb.jobs.get_job(id=bad)
    assert (done.status, done.attempts, done.locked_by) == ("done", 1, "w1")
    assert (failed.status, failed.last_error, failed.locked_by) == (
        "failed",
        "ValueError: no address",
        "w1",
    )
    assert worker.run_once().claimed == 0
    assert qdb.jobs.count_jobs_by_status() == {"done": 1, "failed": 1, "queued": 2}
    assert "mail.send_receipt" in repr(worker)
    assert "queue='jobs'" in repr(worker)


def test_a_failed_job_is_retried_after_its_backoff_then_done(
    qdb: Database, raw: psycopg.Connection
) -> None:
    [job_id] = enqueue(qdb, JobInsert(kind="fees.remind"))
    make_due(raw, [job_id])
    calls: list[int] = []

    def flaky(tx: Transaction, job: Job) -> None:
        calls.append(job.attempts)
        if job.attempts == 1:
            raise RuntimeError("smtp down")

    worker = Worker(
        qdb, {"fees.remind": flaky}, max_attempts=3, backoff=timedelta(minutes=5)
    )
    assert worker.run_once().failed == [job_id]
    queued = qdb.jobs.get_job(id=job_id)
    assert (queued.status, queued.last_error, queued.locked_by) == (
        "queued",
        "RuntimeError: smtp down",
        None,
    )
    assert queued.run_after > datetime.now(UTC) + timedelta(minutes=4)
    assert worker.run_once().claimed == 0  # not due before its backoff

    make_due(raw, [job_id])
    assert worker.run_once().done == [job_id]
    finished = qdb.jobs.get_job(id=job_id)
    assert (finished.status, finished.attempts, finished.last_error) == (
        "done",
        2,
        None,
    )
    assert calls == [1, 2]


def test_claim_skips_rows_another_transaction_holds_without_waiting(
    qdb: Database, raw: psycopg.Connection, queue_url: str
) -> None:
    held, free = enqueue(
        qdb, JobInsert(kind="fees.remind"), JobInsert(kind="fees.remind")
    )
    make_due(raw, [held, free])
    worker = Worker(qdb, {"fees.remind": lambda tx, job: None}, name="w1")
    with psycopg.connect(queue_url) as other:
        other.execute("SELECT id FROM jobs WHERE id = %s FOR UPDATE", [held])
        with qdb.transaction() as tx:  # the claim is a savepoint of this one
            tx.execute("SET LOCAL lock_timeout = '2s'")
            claimed = worker.claim()  # a wait would end in LockNotAvailable
        assert [job.id for job in claimed] == [free]
        assert worker.run_job(claimed[0]) is True
    assert worker.run_once().done == [held]


def test_two_workers_never_claim_the_same_job(qdb: Database) -> None:
    ids = enqueue(qdb, *(JobInsert(kind="marks.recompute") for _ in range(120)))
    claimed: list[tuple[str, str]] = []
    start = threading.Barrier(2)

    def handle(tx: Transaction, job: Job) -> None:
        tx.execute("SELECT pg_sleep(0.001)")
        claimed.append((job.id, job.locked_by or ""))

    def work(name: str) -> None:
        worker = Worker(qdb, {"marks.recompute": handle}, name=name, batch=5)
        start.wait()
        while worker.run_once().claimed:
            pass

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    per_job = Counter(job_id for job_id, _ in claimed)
    assert sorted(per_job) == sorted(ids)
    assert set(per_job.values()) == {1}
    assert {worker for _, worker in claimed} == {"w0", "w1"}
    assert qdb.jobs.count_jobs_by_status() == {"done": 120}


def test_a_job_taken_back_while_running_is_rolled_back_and_reported_lost(
    qdb: Database, raw: psycopg.Connection
) -> None:
    raw.execute("CREATE TABLE receipts (job_id text PRIMARY KEY)")
    [job_id] = enqueue(qdb, JobInsert(kind="fees.remind"))

    def stolen(tx: Transaction, job: Job) -> None:
        tx.execute("INSERT INTO receipts (job_id) VALUES ($1)", [job.id])
        raw.execute(
            "UPDATE jobs SET locked_at = now() - interval '1 hour' WHERE id = %s",
            [job.id],
        )
        assert qdb.jobs.requeue_stale_jobs(stale=timedelta(minutes=10), max_attempts=5)

    report = Worker(qdb, {"fees.remind": stolen}, name="w1").run_once()
    assert report.lost == [job_id]
    assert raw.execute("SELECT count(*) FROM receipts").fetchone() == (0,)
    job = qdb.jobs.get_job(id=job_id)
    assert (job.status, job.last_error) == (
        "queued",
        "worker w1 stopped before finishing",
    )


def test_run_loops_until_stopped(qdb: Database) -> None:
    enqueue(qdb, *(JobInsert(kind="fees.remind") for _ in range(3)))
    worker = Worker(
        qdb, {"fees.remind": lambda tx, job: None}, batch=2, poll_interval=0
    )
    stop = threading.Event()
    assert worker.run(stop, max_rounds=3) == 3
    stop.set()
    assert worker.run(stop) == 0
    with pytest.raises(NoRowError):
        qdb.jobs.get_job(id="missing")


def test_the_worker_needs_no_queue_queries_in_the_apps_registry(
    queue_url: str, raw: psycopg.Connection
) -> None:
    raw.execute(
        "INSERT INTO jobs (id, kind, run_after)"
        " VALUES ('j1', 'fees.remind', now() - interval '1 second')"
    )
    seen: list[str] = []
    with Database(queue_url, queries=Registry(), settings=Settings(min_size=1)) as db:
        worker = Worker(db, {"fees.remind": lambda tx, job: seen.append(job.id)})
        assert worker.run_once().done == ["j1"]
    assert seen == ["j1"]


def test_a_renamed_queue_table_works_from_the_apps_own_migration(
    empty_database_url: str, tmp_path: Path
) -> None:
    migration = queue_migration(table="mail_tasks")
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_create-mail-tasks.sql").write_text(migration.apply)
    (folder / "0001_create-mail-tasks.rollback.sql").write_text(migration.rollback)
    apply_migrations(empty_database_url, source=folder)
    queue = queue_queries(table="mail_tasks")
    assert queue.name == "mail_tasks"
    assert re.search(r"\bjobs\b", migration.apply + migration.rollback) is None
    assert "mail_tasks_run_after_id_where_queued_idx" in migration.apply

    with Database(
        empty_database_url,
        queries=Registry(queue.values()),
        settings=Settings(min_size=1),
    ) as db:
        db.mail_tasks.enqueue_jobs(**columns_of([JobInsert(kind="mail.send", id="t1")]))
        with psycopg.connect(empty_database_url, autocommit=True) as raw:
            make_due(raw, ["t1"], table="mail_tasks")
        worker = Worker(db, {"mail.send": lambda tx, job: None}, queries=queue)
        assert worker.run_once().done == ["t1"]
        assert db.mail_tasks.count_jobs_by_status() == {"done": 1}
        assert "yeko:mail_tasks.claim_jobs" in queue["claim_jobs"].compiled
    assert rollback_migrations(empty_database_url, source=folder) == [
        "0001_create-mail-tasks"
    ]
    with psycopg.connect(empty_database_url) as raw:
        assert raw.execute("SELECT to_regclass('mail_tasks')").fetchone() == (None,)


def test_the_queue_queries_pass_check_against_the_shipped_migration(
    queue_url: str,
) -> None:
    report = check(queue_queries().values(), queue_url, tenant_column=None)
    assert report.ok, "\n".join(map(str, report.problems))
    assert report.queries == 7


def test_the_queue_queries_load_among_an_apps_own_files() -> None:
    registry = load_queries(Path(migrations_dir()).parent / "jobs.sql")
    assert registry["jobs.claim_jobs"].returns is Job
    assert [q.name for q in registry] == [q.name for q in queue_queries().values()]


@pytest.mark.parametrize("table", ["Jobs", "mail-jobs", "", "x" * 40])
def test_a_queue_table_name_must_be_a_short_lowercase_identifier(table: str) -> None:
    with pytest.raises(ValueError, match="not a lower-case identifier"):
        queue_migration(table=table)
    with pytest.raises(ValueError, match="not a lower-case identifier"):
        queue_queries(table=table)


def test_a_worker_refuses_a_queue_without_the_queries_it_calls(
    sql_dir: SqlDir, qdb: Database
) -> None:
    db = qdb
    sql_dir.write(
        "tasks.sql",
        """
        -- name: claim_jobs :many
        SELECT 1 AS id WHERE :worker = '' AND :kinds = '' AND :limit = 0;

        -- name: complete_jobs :execrows
        UPDATE t SET x = 1 WHERE id = ANY(:ids);
        """,
    )
    queue = load_queries(sql_dir.path).namespace("tasks")
    with pytest.raises(ValueError, match="has no query 'fail_jobs'"):
        Worker(db, {"x": lambda tx, job: None}, queries=queue)
    sql_dir.write(
        "tasks.sql",
        """
        -- name: claim_jobs :one
        SELECT 1 AS id WHERE :worker = '' AND :kinds = '' AND :limit = 0;

        -- name: complete_jobs :execrows
        UPDATE t SET x = 1 WHERE id = ANY(:ids) AND w = :worker;

        -- name: fail_jobs :execrows
        UPDATE t SET x = 1 WHERE id = ANY(:ids) AND w = :worker AND e = :errors
          AND m = :max_attempts AND b = :backoff;
        """,
    )
    queue = load_queries(sql_dir.path).namespace("tasks")
    with pytest.raises(ValueError, match=r"tasks\.claim_jobs is :one"):
        Worker(db, {"x": lambda tx, job: None}, queries=queue)
    sql_dir.write(
        "tasks.sql",
        """
        -- name: claim_jobs :many
        SELECT 1 AS id WHERE :worker = '' AND :kinds = '' AND :limit = 0;

        -- name: complete_jobs :execrows
        UPDATE t SET x = 1 WHERE id = ANY(:ids);

        -- name: fail_jobs :execrows
        UPDATE t SET x = 1 WHERE id = ANY(:ids) AND w = :worker AND e = :errors
          AND m = :max_attempts AND b = :backoff;
        """,
    )
    queue = load_queries(sql_dir.path).namespace("tasks")
    with pytest.raises(ValueError, match=r"tasks\.complete_jobs takes ids; the worker"):
        Worker(db, {"x": lambda tx, job: None}, queries=queue)

    sql_dir.write(
        "tasks.sql",
        """
        -- name: claim_jobs :many
        SELECT 1 AS id WHERE :worker = '' AND :kinds = '' AND :limit = 0;

        -- name: complete_jobs :exec
        UPDATE t SET x = 1 WHERE id = ANY(:ids) AND w = :worker;

        -- name: fail_jobs :execrows
        UPDATE t SET x = 1 WHERE id = ANY(:ids) AND w = :worker AND e = :errors
          AND m = :max_attempts AND b = :backoff;
        """,
    )
    queue = load_queries(sql_dir.path).namespace("tasks")
    with pytest.raises(ValueError, match=r"complete_jobs is :exec; .* :execrows"):
        Worker(db, {"x": lambda tx, job: None}, queries=queue)


def test_the_queue_migration_passes_squawk() -> None:
    squawk = Path(sys.executable).parent / "squawk"
    if not squawk.is_file():
        pytest.skip("squawk-cli is not installed in this environment")
    forward = migrations_dir() / "0001_create-jobs.sql"
    rollback = migrations_dir() / "0001_create-jobs.rollback.sql"
    common = [str(squawk), "--pg-version=15.0", "--reporter", "gcc"]
    # The rules .ci/squawk leaves out for Yeko's migrations, for the same reasons:
    # attempts is a small counter; a rollback drops what its migration made.
    forward_excludes = "--exclude=prefer-bigint-over-int"
    runs = [
        [*common, "--assume-in-transaction", forward_excludes, str(forward)],
        [
            *common,
            f"{forward_excludes},ban-drop-table,prefer-robust-stmts,"
            "require-lock-timeout,require-statement-timeout",
            str(rollback),
        ],
    ]
    for args in runs:
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
