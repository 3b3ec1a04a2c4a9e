"""Yeko's own commands, ``yeko-sql seed`` and ``yeko-sql demo``.

They reach the ``yeko-sql`` command through the ``yeko_sql.commands`` entry
point group (pyproject.toml), as any app's commands can: the toolkit's CLI
never imports Yeko. What they run is imported when they run, since the CLI
loads this module for every ``yeko-sql`` call, ``--help`` included.
"""

from __future__ import annotations

import argparse
import os
import sys

from yeko_sql.cli import Command, opt, url_of
from yeko_sql.cli._options import URL

__all__ = ["COMMANDS", "commands"]


def _demo(args: argparse.Namespace) -> int:
    from yeko_sql.ops.devserver import DevServer
    from yeko_sql.ops.serverurl import database_beside
    from yeko_sql.yeko.demo import run_demo

    explicit = args.database_url or os.environ.get("DATABASE_URL")
    if explicit:
        url = database_beside(explicit, "yeko_demo")
    else:
        url = DevServer().create_database("yeko_demo")
    return run_demo(url, out=sys.stdout, seed=args.seed)


def _seed(args: argparse.Namespace) -> int:
    from yeko_sql.ops.migrate import apply_migrations
    from yeko_sql.yeko.resources import migrations_dir
    from yeko_sql.yeko.seed.run import seed_database

    url = url_of(args)
    apply_migrations(url, source=migrations_dir())
    report = seed_database(url, size=args.size, seed=args.seed, reset=args.reset)
    for table, count in report.counts.items():
        print(f"{table:<28} {count:>10,}")
    print(f"seeded {report.size} (seed {report.seed}) in {report.seconds:.1f} s")
    return 0


COMMANDS = [
    Command(
        "seed",
        _seed,
        "load deterministic, realistic data (migrating first)",
        [
            URL,
            opt("--size", choices=["tiny", "demo", "scale"], default="demo"),
            opt(
                "--seed", type=int, default=0, help="the same seed gives the same rows"
            ),
            opt("--reset", action="store_true", help="empty the domain tables first"),
        ],
    ),
    Command(
        "demo",
        _demo,
        "seed the yeko_demo database and tour it",
        [
            opt(
                "--database-url",
                help="an owner's URL of a server to create yeko_demo on "
                "(default: the local server)",
            ),
            opt(
                "--seed", type=int, default=0, help="the same seed gives the same rows"
            ),
        ],
    ),
]


def commands() -> list[Command]:
    """What the ``yeko_sql.commands`` entry point hands the CLI."""
    return COMMANDS
