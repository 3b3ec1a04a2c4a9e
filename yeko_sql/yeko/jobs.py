"""Yeko's job queue for the toolkit's ``Worker``: its own ``jobs`` table.

Yeko's queue predates the toolkit's and keeps its shape: a ``school_id`` on
every job (``NULL`` for jobs that span schools), Row-Level Security policies
and the ``yeko_platform`` role (migrations 0035 to 0045). Its queries in
``sql/jobs.sql`` select that column, so its handlers get Yeko's
:class:`~yeko_sql.yeko.domain.jobs.Job`::

    worker = Worker(db, {"fees.remind": remind}, queries=job_queue())
"""

from __future__ import annotations

from yeko_sql.query.registry import Namespace
from yeko_sql.yeko.resources import load_yeko_queries

__all__ = ["job_queue"]


def job_queue() -> Namespace:
    """Return Yeko's ``jobs`` queries, the queue its workers claim from."""
    return load_yeko_queries().namespace("jobs")
