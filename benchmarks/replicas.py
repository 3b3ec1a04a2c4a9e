"""Reads on a streaming standby: report throughput, and what read-your-writes costs.

The benchmark's server gets a hot standby (``yeko_sql.ops.standby``: a
``pg_basebackup`` of the filled database, streaming on loopback). Two
``Database``\\ s share the queries: one on the primary only, one with
``read_url=`` the standby, where ``-- replica: ok`` queries go.

- ``replica_reports``: the year's enrollment counts (``analytics``, a
  ``-- replica: ok`` report over every enrollment of the year) from
  concurrent callers, on the primary and on the standby. Both servers share
  this machine's two cores, so the ratio shows that the standby serves the
  reports as fast as the primary would, not that it adds cores: on separate
  machines the standby's work is work the primary no longer does.
- ``read_your_writes``: a write (one row, by key) and the read of it right
  after. On the primary (floor); on the standby inside ``consistent_reads()``
  (the read waits until the standby has replayed the write's WAL position);
  on the standby with no token (no wait: the read may miss the write, and the
  group's notes count how often it did).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

from psycopg.conninfo import make_conninfo

from benchmarks.data import SCHOOL_ID, Sizes, student_id
from benchmarks.harness import Group
from benchmarks.peers import registry
from yeko_sql import Database, Settings
from yeko_sql.ops.devserver import DevServer
from yeko_sql.ops.standby import Standby

__all__ = ["replica_groups"]

S = SCHOOL_ID
_YEAR = "y" + "1".rjust(20, "0")
_CALLERS = 4
_REPORTS = 8  # per sample, shared by the callers
_WRITES = 200  # write-then-read pairs per sample


@contextmanager
def replica_groups(server: DevServer, url: str, sizes: Sizes) -> Iterator[list[Group]]:
    """Make a standby of *server* (holding *url*), yield the groups, remove it."""
    folder = Path(server.root) / "standby"
    standby = Standby(server, folder)
    dbname = url.rsplit("/", 1)[-1].split("?", 1)[0]
    with ExitStack() as stack:
        stack.callback(standby.destroy)
        standby.create()
        queries = registry()
        settings = Settings(min_size=_CALLERS, max_size=_CALLERS)
        # The server runs with synchronous_commit off (fsync off, tmpfs): its
        # commits reach the standby only when the WAL writer flushes (200 ms).
        # A replicated primary commits synchronously; so do these sessions.
        url = make_conninfo(url, options="-c synchronous_commit=on")
        primary = stack.enter_context(Database(url, queries=queries, settings=settings))
        split = stack.enter_context(
            Database(
                url,
                queries=queries,
                settings=settings,
                read_url=standby.url(dbname),
            )
        )
        threads = stack.enter_context(ThreadPoolExecutor(max_workers=_CALLERS))
        yield [
            _reports(primary, split, threads),
            _read_your_writes(primary, split, sizes),
        ]


def _reports(primary: Database, split: Database, threads: ThreadPoolExecutor) -> Group:
    def callers(db: Database) -> Callable[[], None]:
        report = db.analytics.list_enrollment_counts

        def one(_: int) -> None:
            report(school_id=S, school_year_id=_YEAR)

        def go() -> None:
            list(threads.map(one, range(_REPORTS)))

        return go

    return Group(
        key="replica_reports",
        title=(
            f"a year's enrollment counts from {_CALLERS} callers (reports per second)"
        ),
        unit="reports/s",
        per=_REPORTS,
        rate=True,
        max_rounds=5,
        cases={
            "on the primary (floor)": callers(primary),
            "on the standby (read_url, '-- replica: ok')": callers(split),
        },
    )


def _read_your_writes(primary: Database, split: Database, sizes: Sizes) -> Group:
    keys = itertools.cycle([student_id(n + 1) for n in range(min(sizes.students, 500))])
    notes = [""]
    missed = [0, 0]  # reads without a token that missed their write; reads

    def pairs(
        db: Database, *, consistent: bool, count: bool = False
    ) -> Callable[[], None]:
        touch = db.bench.touch_student
        read = db.bench.get_student_touched

        def go() -> None:
            for _ in range(_WRITES):
                key = next(keys)
                at = dt.datetime.now(dt.UTC)
                if consistent:
                    with db.consistent_reads():
                        touch(at=at, id=key, school_id=S)
                        seen = read(id=key, school_id=S)
                else:
                    touch(at=at, id=key, school_id=S)
                    seen = read(id=key, school_id=S)
                if count:
                    missed[0] += seen != at
                    missed[1] += 1
            if count:
                notes[0] = (
                    "Reads on the standby without a token missed their own write"
                    f" {missed[0]:,} times in {missed[1]:,}"
                    f" ({missed[0] / missed[1]:.0%}); inside consistent_reads()"
                    " never (tests/test_replica.py asserts it on every read)."
                )

        return go

    return Group(
        key="read_your_writes",
        title="write one row, then read it back (µs per pair)",
        unit="µs",
        scale=1e6,
        per=_WRITES,
        notes=notes,
        cases={
            "both on the primary (floor)": pairs(primary, consistent=False),
            "read on the standby, consistent_reads() (waits for replay)": pairs(
                split, consistent=True
            ),
            "read on the standby, no token (may miss the write)": pairs(
                split, consistent=False, count=True
            ),
        },
    )
