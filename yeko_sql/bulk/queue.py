"""The toolkit's job queue: its table, its named queries, its Structs.

An app gets the queue's table from the migration shipped beside this module
(``yeko-sql migrate --source`` :func:`migrations_dir`, or a copy of
:func:`queue_migration`'s text among its own migrations), and the queue's
queries from :func:`queue_queries`, which :class:`~yeko_sql.bulk.worker.Worker`
uses when given no others. Nothing here knows about tenants: an app that wants
a ``school_id`` (or any column) on its jobs keeps a table and queries of its
own and hands them to the worker (``Worker(..., queries=...)``).

The files name the table ``jobs``; *table* renames it everywhere, in the
queries, the index and constraint names, and the namespace (``tasks`` gives
``tasks_pkey`` and queries tagged ``yeko:tasks.claim_jobs``).
"""

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

import msgspec

from yeko_sql.ids import new_id
from yeko_sql.query.compiler import Query, compile_query
from yeko_sql.query.parser import parse_file
from yeko_sql.query.registry import Namespace, Registry

__all__ = [
    "QUEUE_TABLE",
    "Job",
    "JobData",
    "JobInsert",
    "JobStatus",
    "QueueMigration",
    "migrations_dir",
    "queue_migration",
    "queue_queries",
]

QUEUE_TABLE = "jobs"
"""The queue table's name in the shipped migration and queries."""

JobStatus = Literal["queued", "running", "done", "failed"]

_HERE = Path(__file__).resolve().parent
_QUERIES = _HERE / "jobs.sql"
_MIGRATION = "0001_create-jobs"
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# The longest name the files derive from the table's:
# <table>_status_locked_by_locked_at_check, within PostgreSQL's 63 bytes.
_MAX_TABLE = 63 - len("_status_locked_by_locked_at_check")
# The table's name as a word of its own, or the start of a derived name
# (jobs_pkey), but never the end of another (claim_jobs).
_TABLE_WORD = re.compile(rf"\b{QUEUE_TABLE}(?![a-z0-9])")


class JobData(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a caller chooses for a job; nothing generated."""

    kind: str
    """What to run, snake_case and optionally dotted: ``mail.send_receipt``."""
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    run_after: datetime | None = None
    """Not before this time; None means now."""


class JobInsert(JobData, frozen=True, kw_only=True):
    """What ``enqueue_jobs`` binds (through ``columns_of``): the data plus an id."""

    id: str = msgspec.field(default_factory=new_id)


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """A row of the queue table as ``claim_jobs`` and ``get_job`` select it."""

    id: str
    kind: str
    payload: dict[str, Any]
    status: JobStatus
    run_after: datetime
    attempts: int
    locked_by: str | None
    locked_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class QueueMigration(NamedTuple):
    """The queue table's migration as text: what to apply and how to undo it."""

    apply: str
    rollback: str


def _table(table: str) -> str:
    if not _TABLE_NAME.fullmatch(table) or len(table) > _MAX_TABLE:
        raise ValueError(
            f"queue table {table!r}: not a lower-case identifier of at most "
            f"{_MAX_TABLE} characters; name it like 'jobs' or 'mail_jobs'"
        )
    return table


def _renamed(text: str, table: str) -> str:
    return text if table == QUEUE_TABLE else _TABLE_WORD.sub(table, text)


def migrations_dir() -> Path:
    """Return the folder of the queue's yoyo migration (table ``jobs``).

    Apply it with ``yeko-sql migrate --source <this folder>``; its id,
    ``0001_create-jobs``, is recorded beside the app's own migrations.
    """
    return _HERE / "migrations"


def queue_migration(*, table: str = QUEUE_TABLE) -> QueueMigration:
    """The queue table's migration, its table named *table*.

    Write ``apply`` and ``rollback`` into a numbered migration of the app (add
    its ``-- depends:`` line) to keep the queue in the app's own chain.

    Raises:
        ValueError: *table* is not a lower-case identifier short enough for
            the index and constraint names derived from it.
    """
    name = _table(table)
    folder = migrations_dir()
    return QueueMigration(
        apply=_renamed((folder / f"{_MIGRATION}.sql").read_text("utf-8"), name),
        rollback=_renamed(
            (folder / f"{_MIGRATION}.rollback.sql").read_text("utf-8"), name
        ),
    )


@cache
def queue_queries(*, table: str = QUEUE_TABLE) -> Namespace:
    """The queue's named queries on *table*, a namespace of that name.

    ``enqueue_jobs``, ``claim_jobs`` (returns :class:`Job`), ``complete_jobs``,
    ``fail_jobs``, ``requeue_stale_jobs``, ``count_jobs_by_status`` and
    ``get_job``, loaded once per table name. Load ``yeko_sql/bulk/jobs.sql``
    among the app's own query folders instead to call them as
    ``db.jobs.<query>`` and have ``yeko-sql check`` verify them.

    Raises:
        ValueError: *table* is not a lower-case identifier short enough for
            the index and constraint names derived from it.
    """
    name = _table(table)
    text = _renamed(_QUERIES.read_text("utf-8"), name)
    queries: list[Query[object]] = []
    for spec in parse_file(text, str(_QUERIES), namespace=name):
        # The file's only Struct is Job; compile_query checks it fits.
        returns = Job if spec.returns_name else None
        queries.append(compile_query(spec, returns))
    return Registry(queries).namespace(name)
