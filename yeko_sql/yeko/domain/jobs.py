"""Jobs: the queue batch workers claim with ``FOR UPDATE SKIP LOCKED``."""

from datetime import datetime
from typing import Any, Literal

import msgspec

from yeko_sql.ids import new_id

__all__ = ["Job", "JobData", "JobInsert", "JobStatus"]

JobStatus = Literal["queued", "running", "done", "failed"]


class JobData(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a caller chooses for a job; nothing generated."""

    kind: str
    """What to run, snake_case and optionally dotted: ``fees.remind``."""
    school_id: str | None = None
    """The school the job works for; None for jobs that span schools."""
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    run_after: datetime | None = None
    """Not before this time; None means now."""


class JobInsert(JobData, frozen=True, kw_only=True):
    """What ``enqueue_jobs`` binds (through ``columns_of``): the data plus an id."""

    id: str = msgspec.field(default_factory=new_id)


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``jobs`` as queries select it."""

    id: str
    school_id: str | None
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
