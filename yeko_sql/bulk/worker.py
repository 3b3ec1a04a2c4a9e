"""A batch worker: claim jobs with ``FOR UPDATE SKIP LOCKED``, run, record.

Each round is short: one statement claims a batch (``jobs.claim_jobs``), then
each job runs in its own transaction together with its ``complete_jobs``, so a
job's writes and its completion commit or roll back together. A job that
raises is recorded by ``fail_jobs`` (queued again after a backoff, or failed
after ``max_attempts``). Any number of workers, threads or processes can share
the queue: locked rows are skipped, never waited for or claimed twice.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import TYPE_CHECKING

import msgspec
import psycopg

from yeko_sql.ids import new_id
from yeko_sql.yeko.domain.jobs import Job

if TYPE_CHECKING:
    from yeko_sql.runtime.database import Database, Transaction

__all__ = ["Handler", "RoundReport", "Worker"]

Handler = Callable[["Transaction", Job], None]
"""Runs one job inside the transaction that will also mark it done."""


class RoundReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one ``run_once`` did, by job id."""

    done: list[str] = msgspec.field(default_factory=list)
    failed: list[str] = msgspec.field(default_factory=list)
    """Jobs whose handler raised (queued again or failed for good)."""
    lost: list[str] = msgspec.field(default_factory=list)
    """Jobs taken away while running (``requeue_stale_jobs``): not recorded."""

    @property
    def claimed(self) -> int:
        """How many jobs the round claimed."""
        return len(self.done) + len(self.failed) + len(self.lost)


class Worker:
    """Claims jobs of the kinds it has handlers for and runs them.

    ``run_once()`` does one round (tests call it directly); ``run()`` loops
    until *stop* is set, sleeping *poll_interval* seconds when the queue has
    nothing due. With *school_id*, every transaction is ``db.for_school``:
    connected as the Row-Level-Security role, the worker then sees that
    school's jobs and the global ones; without it, a role that reads every
    school's jobs must run the worker.
    """

    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        *,
        name: str | None = None,
        batch: int = 10,
        max_attempts: int = 5,
        backoff: timedelta = timedelta(seconds=30),
        poll_interval: float = 1.0,
        school_id: str | None = None,
    ) -> None:
        if not handlers:
            raise ValueError("Worker: no handlers; map at least one job kind")
        self.db = db
        self.handlers = dict(handlers)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{new_id()[:6]}"
        self.batch = batch
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.poll_interval = poll_interval
        self.school_id = school_id

    def __repr__(self) -> str:
        return f"<Worker {self.name!r} kinds={sorted(self.handlers)}>"

    def _transaction(self) -> AbstractContextManager[Transaction]:
        if self.school_id is None:
            return self.db.transaction()
        return self.db.for_school(self.school_id)

    def claim(self) -> list[Job]:
        """Claim up to ``batch`` due jobs (one short transaction)."""
        with self._transaction() as tx:
            jobs: list[Job] = tx.jobs.claim_jobs(
                worker=self.name, kinds=sorted(self.handlers), limit=self.batch
            )
        return jobs

    def run_job(self, job: Job) -> bool:
        """Run *job* and mark it done in one transaction; False if it was lost.

        A job taken back while it ran (``requeue_stale_jobs``) is rolled back,
        its handler's writes included: its next claimer runs it again.
        """
        with self._transaction() as tx:
            self.handlers[job.kind](tx, job)
            done = bool(tx.jobs.complete_jobs(ids=[job.id], worker=self.name))
            if not done:
                raise psycopg.Rollback  # leaves the block, rolled back, silently
        return done

    def run_once(self) -> RoundReport:
        """Claim one batch and run each job; return what happened."""
        report = RoundReport()
        for job in self.claim():
            try:
                done = self.run_job(job)
            except Exception as exc:  # noqa: BLE001  (a failing job is recorded, not fatal)
                with self._transaction() as tx:
                    tx.jobs.fail_jobs(
                        ids=[job.id],
                        errors=[f"{type(exc).__name__}: {exc}"],
                        worker=self.name,
                        max_attempts=self.max_attempts,
                        backoff=self.backoff,
                    )
                report.failed.append(job.id)
            else:
                (report.done if done else report.lost).append(job.id)
        return report

    def run(self, stop: threading.Event, *, max_rounds: int | None = None) -> int:
        """Run rounds until *stop* is set (or *max_rounds*); return jobs handled."""
        handled = rounds = 0
        while not stop.is_set() and (max_rounds is None or rounds < max_rounds):
            claimed = self.run_once().claimed
            handled += claimed
            rounds += 1
            if claimed == 0:
                stop.wait(self.poll_interval)
        return handled
