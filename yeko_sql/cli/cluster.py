"""``yeko-sql cluster``: a local HA cluster on pg_auto_failover (``ops.cluster``).

Imports happen in the handler, so ``yeko-sql --help`` stays fast.
"""

from __future__ import annotations

import argparse

from yeko_sql.cli._options import Command, config_of, opt

__all__ = ["COMMANDS", "cluster"]


def cluster(args: argparse.Namespace) -> int:
    """Start, inspect, fail over, stop or destroy the local cluster."""
    from yeko_sql.ops.cluster import Cluster

    dbname = args.dbname or config_of(args).database or "app"
    made = Cluster(args.dir, dbname=dbname)
    if args.action in {"status", "failover"} and not made.created:
        print(f"no cluster in {made.root}: run 'yeko-sql cluster start'")
        return 3
    match args.action:
        case "start":
            made.start()
            if not args.no_migrate and config_of(args).migrations is not None:
                from yeko_sql.ops.migrate import apply_migrations

                source = config_of(args).require_migrations()
                applied = apply_migrations(made.primary_url(), source=source)
                print(f"migrated the primary: {len(applied)} migration(s) applied")
            print(f"write: {made.url()}")
            print(f"read:  {made.url(read=True)}")
        case "status":
            nodes = made.status()
            for node in nodes:
                print(
                    f"{node.name}  port {node.port}  {node.reported:<12}"
                    f" (assigned {node.assigned})  lsn {node.lsn}"
                )
            if not nodes:
                print(f"no cluster running in {made.root}")
                return 3
        case "failover":
            for node in made.failover():
                print(f"{node.name}  port {node.port}  {node.reported}")
        case "stop":
            print("stopped" if made.stop() else "not running")
        case "destroy":
            print(f"removed {made.root}" if made.destroy() else "nothing to remove")
    return 0


COMMANDS = [
    Command(
        "cluster",
        cluster,
        "a local HA cluster: pg_auto_failover monitor + primary + standby",
        [
            opt("action", choices=["start", "status", "failover", "stop", "destroy"]),
            opt("--dir", help="its folder (default: .yeko/cluster)"),
            opt(
                "--dbname",
                help="the app's database (default: [tool.yeko-sql] database, or app)",
            ),
            opt(
                "--no-migrate",
                action="store_true",
                help="start: leave the primary unmigrated",
            ),
        ],
    )
]
