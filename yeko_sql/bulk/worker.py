"""A batch worker: claim jobs with ``FOR UPDATE SKIP LOCKED``, run, record.

Each round is short: one statement claims a batch (``claim_jobs``), then
each job runs in its own transaction together with its ``complete_jobs``, so a
job's writes and its completion commit or roll back together. A job that
raises is recorded by ``fail_jobs`` (queued again after a backoff, or failed
after ``max_attempts``). Any number of workers, threads or processes can share
the queue: locked rows are skipped, never waited for or claimed twice.

The queue is a namespace of named queries: the toolkit's own
(:func:`~yeko_sql.bulk.queue.queue_queries`, on the table its migration
creates) unless the app passes its own with the same three queries, e.g. to
claim from a table with a tenant column.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import msgspec
import psycopg

from yeko_sql.bulk.queue import queue_queries
from yeko_sql.ids import new_id
from yeko_sql.query.kinds import Kind
from yeko_sql.query.registry import Namespace, Registry
from yeko_sql.runtime.database import QueryNamespace, bind_namespace, group_runners

if TYPE_CHECKING:
    from yeko_sql.runtime.database import Database, Transaction

__all__ = ["QUEUE_QUERIES", "ClaimedJob", "Handler", "RoundReport", "Worker"]

QUEUE_QUERIES: Mapping[str, frozenset[str]] = {
    "claim_jobs": frozenset({"worker", "kinds", "limit"}),
    "complete_jobs": frozenset({"ids", "worker"}),
    "fail_jobs": frozenset({"ids", "errors", "worker", "max_attempts", "backoff"}),
}
"""The queries a queue namespace must hold, with the parameters each takes.

``claim_jobs`` is ``:many`` (the rows handlers get) and ``complete_jobs``
``:execrows`` (0 means the job was taken away while it ran).
"""


class ClaimedJob(Protocol):
    """What the worker reads of a claimed row; the handler gets the whole Struct."""

    @property
    def id(self) -> str:
        """The job's id, as ``complete_jobs`` and ``fail_jobs`` take it."""
        ...

    @property
    def kind(self) -> str:
        """The handler to run."""
        ...


J = TypeVar("J", bound=ClaimedJob)

Handler = Callable[["Transaction", J], None]
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


class Worker(Generic[J]):
    """Claims jobs of the kinds it has handlers for and runs them.

    *queries* is the queue: a namespace holding ``claim_jobs``,
    ``complete_jobs`` and ``fail_jobs`` (:data:`QUEUE_QUERIES`), by default
    the toolkit's on the table ``jobs`` (``queue_queries()``); the rows
    ``claim_jobs`` returns are what the handlers get. The queries run in the
    worker's transactions on *db*, whatever queries *db* itself was given.

    ``run_once()`` does one round (tests call it directly); ``run()`` loops
    until *stop* is set, sleeping *poll_interval* seconds when the queue has
    nothing due. With *school_id*, every transaction is ``db.for_school``:
    connected as the Row-Level-Security role, the worker then sees only the
    jobs that school's policy shows; without it, a role that reads every job
    must run the worker.

    Raises:
        ValueError: no handlers, or *queries* lacks one of the queue's
            queries or declares another kind or other parameters for it.
    """

    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler[J]],
        *,
        queries: Namespace | None = None,
        name: str | None = None,
        batch: int = 10,
        max_attempts: int = 5,
        backoff: timedelta = timedelta(seconds=30),
        poll_interval: float = 1.0,
        school_id: str | None = None,
    ) -> None:
        if not handlers:
            raise ValueError("Worker: no handlers; map at least one job kind")
        self.queries = queue_queries() if queries is None else queries
        _check_queue(self.queries)
        self.db = db
        self.handlers = dict(handlers)
        self._runners = group_runners(
            Registry(self.queries[q] for q in QUEUE_QUERIES),
            strict=db.settings.strict_rows,
        )[self.queries.name]
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{new_id()[:6]}"
        self.batch = batch
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.poll_interval = poll_interval
        self.school_id = school_id

    def __repr__(self) -> str:
        return (
            f"<Worker {self.name!r} queue={self.queries.name!r} "
            f"kinds={sorted(self.handlers)}>"
        )

    def _queue(self, tx: Transaction) -> QueryNamespace:
        return bind_namespace(self.queries.name, self._runners, tx)

    def _transaction(self) -> AbstractContextManager[Transaction]:
        if self.school_id is None:
            return self.db.transaction()
        return self.db.for_school(self.school_id)

    def claim(self) -> list[J]:
        """Claim up to ``batch`` due jobs (one short transaction)."""
        with self._transaction() as tx:
            jobs: list[J] = self._queue(tx).claim_jobs(
                worker=self.name, kinds=sorted(self.handlers), limit=self.batch
            )
        return jobs

    def run_job(self, job: J) -> bool:
        """Run *job* and mark it done in one transaction; False if it was lost.

        A job taken back while it ran (``requeue_stale_jobs``) is rolled back,
        its handler's writes included: its next claimer runs it again.
        """
        with self._transaction() as tx:
            self.handlers[job.kind](tx, job)
            done = bool(self._queue(tx).complete_jobs(ids=[job.id], worker=self.name))
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
                    self._queue(tx).fail_jobs(
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


def _check_queue(queries: Namespace) -> None:
    if missing := [name for name in QUEUE_QUERIES if name not in queries]:
        raise ValueError(
            f"Worker: queue {queries.name!r} has no query "
            f"{', '.join(map(repr, missing))}; it needs {', '.join(QUEUE_QUERIES)} "
            "(see yeko_sql/bulk/jobs.sql)"
        )
    for name, params in QUEUE_QUERIES.items():
        query = queries[name]
        if set(query.call_params) != params:
            raise ValueError(
                f"{query.path}:{query.line}: {query.qualname} takes "
                f"{', '.join(query.call_params) or 'nothing'}; the worker calls "
                f"it with {', '.join(sorted(params))}"
            )
    for name, kind, why in (
        ("claim_jobs", Kind.MANY, "the claimed rows"),
        ("complete_jobs", Kind.EXECROWS, "how many jobs it completed"),
    ):
        query = queries[name]
        if query.kind is not kind:
            raise ValueError(
                f"{query.path}:{query.line}: {query.qualname} is "
                f":{query.kind.value}; the worker needs {why}, :{kind.value}"
            )
