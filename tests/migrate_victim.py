"""A ``migrate apply`` to kill: ``python -m tests.migrate_victim URL``.

``tests/test_migrate_kill.py`` runs it in a subprocess and kills it with SIGKILL,
at random or at a point named by ``YEKO_TEST_KILL_AT``:

- ``mark:<id>``: as yoyo is asked to write the record of ``<id>`` (yoyo's own
  ``apply_one`` has committed the migration's steps by then: its kill window);
- ``steps:<id>``: as soon as ``<id>``'s steps have run, before anything else;
- ``step:<id>:<n>``: before step ``<n>`` (from 0) of ``<id>`` runs;
- ``checkpoint:<name>:<id>``: at ``yeko_sql.ops.migrate._checkpoint(name, id)``
  (``recorded``: record written, not committed; ``committed``: just after);
- ``ready:<id>``: prints ``ready <id>`` to stdout before ``<id>``'s steps run,
  and does not kill (the test kills it while the steps run).

The points are hooks on yoyo's methods, not on yeko_sql's, so the same script
drives an older ``yeko_sql.ops.migrate`` too. Prints ``done`` when the apply ends.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from yoyo.backends.base import DatabaseBackend
from yoyo.migrations import Migration, MigrationStep

from yeko_sql.ops import migrate
from yeko_sql.ops.migrate import apply_migrations


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str, target: str) -> None:
    """Make this process kill itself at *point* of migration *target*."""
    mark_one = DatabaseBackend.mark_one
    process_steps = Migration.process_steps
    step_apply = MigrationStep.apply
    counts: dict[str, int] = {}

    def kill_on_mark(self: Any, migration: Any, log: bool = True) -> None:
        if point == "mark" and migration.id == target:
            _die()
        mark_one(self, migration, log=log)

    def kill_after_steps(
        self: Any, backend: Any, direction: str, force: bool = False
    ) -> None:
        if point == "ready" and self.id == target and direction == "apply":
            sys.stdout.write(f"ready {target}\n")
            sys.stdout.flush()
        current = self.id if direction == "apply" else ""
        backend.yeko_test_current = current
        process_steps(self, backend, direction, force=force)
        if point == "steps" and self.id == target and direction == "apply":
            _die()

    def kill_before_step(self: Any, backend: Any, force: bool = False) -> None:
        current = getattr(backend, "yeko_test_current", "")
        index = counts.get(current, 0)
        counts[current] = index + 1
        if point.startswith("step") and f"{current}:{index}" == target:
            _die()
        step_apply(self, backend, force=force)

    def kill_at_checkpoint(instant: str, migration_id: str) -> None:
        if point == "checkpoint" and f"{instant}:{migration_id}" == target:
            _die()

    migrate._checkpoint = kill_at_checkpoint
    DatabaseBackend.mark_one = kill_on_mark
    Migration.process_steps = kill_after_steps
    MigrationStep.apply = kill_before_step


def main() -> None:
    """Apply the project's migrations to ``sys.argv[1]``, armed as told."""
    if at := os.environ.get("YEKO_TEST_KILL_AT"):
        point, _, target = at.partition(":")
        arm(point, target)
    apply_migrations(sys.argv[1], lock_timeout=30)
    sys.stdout.write("done\n")


if __name__ == "__main__":
    main()
