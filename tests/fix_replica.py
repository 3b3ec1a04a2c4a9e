"""A primary and a streaming standby on loopback, for the replica tests.

The primary is a devserver on tmpfs; the standby a ``pg_basebackup -R`` of
it (``yeko_sql.ops.standby``), run as the ``postgres`` user when the suite
runs as root; both are removed after the module.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from yeko_sql.ops.devserver import DevServer
from yeko_sql.ops.standby import Standby


@dataclass
class ReplicaPair:
    """The primary's and the standby's URLs (same database, same owner)."""

    primary_url: str
    standby_url: str
    standby: Standby


@pytest.fixture(scope="module")
def replica_pair() -> Iterator[ReplicaPair]:
    """A primary with database ``replica_test`` and its hot standby."""
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    root = Path(tempfile.mkdtemp(prefix="yeko-replica-", dir=shm))
    root.chmod(0o755)
    # fsync=False also turns synchronous_commit off: a commit's WAL then waits
    # for the WAL writer (up to 200 ms) before it is flushed and streamed, and
    # a read-your-writes wait outlasts its bound. A replicated primary commits
    # synchronously (flushing is free with fsync off).
    primary = DevServer(
        root / "primary", fsync=False, settings={"synchronous_commit": "on"}
    )
    standby = Standby(primary, root / "standby")
    try:
        primary.start()
        url = primary.create_database("replica_test")
        standby.create()
        yield ReplicaPair(url, standby.url("replica_test"), standby)
    finally:
        standby.destroy()
        primary.destroy()
        shutil.rmtree(root, ignore_errors=True)
