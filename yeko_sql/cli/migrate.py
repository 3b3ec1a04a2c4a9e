"""``yeko-sql migrate``: the app's yoyo migrations (``yeko_sql.ops.migrate``).

yoyo and psycopg are imported when a migrate command runs, not for ``--help``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from yeko_sql.cli._options import URL, Command, config_of, opt, url_of

__all__ = ["COMMANDS", "migrate"]


def source_of(args: argparse.Namespace) -> Path:
    """``--source``, else ``[tool.yeko-sql] migrations``."""
    if args.source:
        return Path(args.source)
    return config_of(args).require_migrations()


def migrate(args: argparse.Namespace) -> int:
    """Apply, inspect or repair the app's migrations (``--source``)."""
    from yeko_sql.ops.migrate import (
        apply_migrations,
        list_migrations,
        mark_migrations,
        rehash_migrations,
        rollback_migrations,
    )

    source = source_of(args)
    if args.action == "list":
        for migration_id, message in list_migrations(source=source):
            print(f"{migration_id}  {message}")
        return 0
    url = url_of(args)
    match args.action:
        case "apply":
            applied = apply_migrations(
                url, source=source, lock_timeout=args.lock_timeout, say=print
            )
            print(
                f"applied {len(applied)} migration(s)"
                + "".join(f"\n  {m}" for m in applied)
            )
        case "rollback":
            count = None if args.all else args.count
            undone = rollback_migrations(
                url, source=source, count=count, lock_timeout=args.lock_timeout
            )
            print(
                f"rolled back {len(undone)} migration(s)"
                + "".join(f"\n  {m}" for m in undone)
            )
        case "status":
            return _status(url, source)
        case "reconcile":
            return _reconcile(url, source, args)
        case "mark" | "unmark":
            marked = mark_migrations(
                url,
                args.ids,
                source=source,
                applied=args.action == "mark",
                lock_timeout=args.lock_timeout,
            )
            done = "recorded" if args.action == "mark" else "un-recorded"
            print(
                f"{done} {len(marked)} migration(s)"
                + "".join(f"\n  {m}" for m in marked)
            )
        case "break-lock":
            _break_lock(url)
        case "rehash":
            report = rehash_migrations(
                url, source=source, lock_timeout=args.lock_timeout
            )
            for label, ids in (
                ("newly recorded", report.recorded),
                ("changed", report.changed),
                ("forgotten (not applied)", report.forgotten),
            ):
                print(f"{label}: {len(ids)}" + "".join(f"\n  {m}" for m in ids))
            print(f"unchanged: {len(report.unchanged)}")
    return 0


def _reconcile(url: str, source: Path, args: argparse.Namespace) -> int:
    from yeko_sql.ops.migrate import reconcile_migrations

    actions = reconcile_migrations(
        url, source=source, dry_run=args.dry_run, lock_timeout=args.lock_timeout
    )
    would = {"record": "would record", "unrecord": "would un-record"}
    for a in actions:
        said = would.get(a.action, a.action) if args.dry_run else a.action
        print(f"{said:<16} {a.id}  {a.reason}")
    if not actions:
        print("records and schema agree; nothing to do")
    return 1 if any(a.action == "leave" for a in actions) else 0


def _break_lock(url: str) -> None:
    from yeko_sql.ops.migrate import break_lock, lock_holder

    removed = break_lock(url)
    print(
        "removed a legacy yoyo_lock row"
        if removed
        else "no legacy yoyo_lock row; nothing to break"
    )
    print(
        "yeko-sql locks with a PostgreSQL advisory lock that ends with the "
        "run's session, so a killed run needs no break-lock"
    )
    if (holder := lock_holder(url)) is not None:
        print(f"the lock is held now by {holder}")


def _status(url: str, source: Path) -> int:
    from yeko_sql.ops.migrate import invalid_indexes, lock_holder, migration_status

    states = migration_status(url, source=source)
    holder = lock_holder(url)
    problem = False
    for state in states:
        mark = "applied" if state.applied else "pending"
        if state.unverified:
            mark, problem = "UNVERIFIED", True
        if state.edited:
            mark, problem = "EDITED", True
        print(f"{mark:<10}  {state.id}  {state.message}")
        for index in state.invalid_indexes:
            print(
                f"  INVALID index {index}: run 'yeko-sql migrate apply' (it drops it "
                f"and runs {state.id} again), or DROP INDEX CONCURRENTLY {index}; then "
                "'yeko-sql migrate apply'"
                + (f" (a run is in progress: {holder})" if holder else "")
            )
            problem = problem or holder is None
    known = {i for s in states for i in s.invalid_indexes}
    for index, _owner in invalid_indexes(url):
        if index not in known:
            print(
                f"  INVALID index {index} (no migration builds it): "
                f"DROP INDEX CONCURRENTLY {index}"
            )
            problem = True
    if any(s.unverified for s in states):
        print(
            "UNVERIFIED: applied, but no checksum was recorded; check the files match "
            "what ran, then 'yeko-sql migrate rehash'"
        )
    if holder is not None:
        print(f"a migration run holds the lock: {holder}")
    return 1 if problem else 0


COMMANDS = [
    Command(
        "migrate",
        migrate,
        "apply or inspect yoyo migrations",
        [
            opt(
                "action",
                nargs="?",
                default="apply",
                choices=[
                    "apply",
                    "status",
                    "rollback",
                    "list",
                    "reconcile",
                    "mark",
                    "unmark",
                    "rehash",
                    "break-lock",
                ],
            ),
            opt("ids", nargs="*", help="mark, unmark: migration ids"),
            URL,
            opt(
                "--source",
                help="the migrations folder (default: [tool.yeko-sql] migrations)",
            ),
            opt("--count", type=int, default=1, help="rollback: how many"),
            opt("--all", action="store_true", help="rollback: every migration"),
            opt(
                "--dry-run",
                action="store_true",
                help="reconcile: show what would be recorded or un-recorded",
            ),
            opt(
                "--lock-timeout",
                type=float,
                default=60.0,
                help="seconds to wait for another run's lock",
            ),
        ],
    )
]
