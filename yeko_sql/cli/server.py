"""``yeko-sql server``: the local throwaway PostgreSQL (``yeko_sql.ops.devserver``).

Imports happen in the handlers, so ``yeko-sql --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from yeko_sql.cli._options import Command, config_of, opt

if TYPE_CHECKING:
    from yeko_sql.ops.devserver import DevServer

__all__ = ["COMMANDS", "server"]


def server(args: argparse.Namespace) -> int:
    """Start, stop, inspect or destroy the local server, or print a URL."""
    from yeko_sql.ops.devserver import DevServer

    if args.action == "url":
        dbname = args.dbname or config_of(args).require_database()
        return _url(DevServer(), dbname, args)
    devserver = DevServer()
    match args.action:
        case "start":
            print(devserver.start())
        case "stop":
            print("stopped" if devserver.stop() else "not running")
        case "status":
            status = devserver.status()
            state = "running" if status.running else "stopped"
            print(
                f"{state}  data={status.data_dir}  port={status.port}  pid={status.pid}"
            )
            return 0 if status.running else 3
        case "destroy":
            removed = devserver.destroy()
            print(
                f"removed {devserver.root}"
                if removed
                else f"nothing in {devserver.root}"
            )
    return 0


def _url(devserver: DevServer, dbname: str, args: argparse.Namespace) -> int:
    from yeko_sql.ops.devserver import OWNER_USER
    from yeko_sql.ops.serverurl import database_beside

    config = config_of(args)
    user = OWNER_USER if args.owner else (args.role or config.app_role or OWNER_USER)
    if devserver.status().running:
        database_beside(devserver.url(), dbname)
    print(devserver.url(dbname, user=user))
    if (hint := _missing_on(devserver, dbname, user)) is not None:
        print(f"yeko-sql: {hint}", file=sys.stderr)
    elif user == OWNER_USER and not args.owner and config.app_role is None:
        print(
            "yeko-sql: the owner's URL: [tool.yeko-sql] declares no app_role "
            "(pass --role NAME for another role)",
            file=sys.stderr,
        )
    return 0


def _missing_on(devserver: DevServer, dbname: str, user: str) -> str | None:
    """What a URL for *user* on *dbname* still waits for, on a running server."""
    import psycopg

    if not devserver.status().running:
        return "the server is not running; 'yeko-sql server start' starts it"
    with psycopg.connect(devserver.url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %s)", [user]
        ).fetchone()
    if row is None or row[0]:
        return None
    return (
        f"role {user!r} does not exist yet; run 'yeko-sql migrate' (make migrate), "
        "then ask for this URL again: that gives the role its password"
    )


COMMANDS = [
    Command(
        "server",
        server,
        "the local throwaway PostgreSQL",
        [
            opt("action", choices=["start", "stop", "status", "url", "destroy"]),
            opt(
                "--dbname",
                help="'url': the database (created when missing; default: "
                "[tool.yeko-sql] database)",
            ),
            opt(
                "--role",
                help="'url': connect as this role (default: [tool.yeko-sql] app_role)",
            ),
            opt(
                "--owner",
                action="store_true",
                help="'url': the superuser's URL (migrations, seeding)",
            ),
        ],
    )
]
