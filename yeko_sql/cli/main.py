"""The ``yeko-sql`` command line: the parser, the configuration, the exit code.

Each command group is a module of this package (``server``, ``migrate``,
``query``); an installed package adds its own through the
``yeko_sql.commands`` entry point group, a callable returning a list of
``Command`` (Yeko's ``seed`` and ``demo`` come that way). ``[tool.yeko-sql]``
is read once, before the command runs; any ``YekoSqlError`` is one line on
standard error and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points
from pathlib import Path

from yeko_sql.cli import cluster, migrate, query, server, studio
from yeko_sql.cli._options import Command
from yeko_sql.errors import YekoSqlError

__all__ = ["ENTRY_POINTS", "all_commands", "main"]

ENTRY_POINTS = "yeko_sql.commands"
"""The entry point group through which other packages add commands."""


def all_commands() -> Iterator[Command]:
    """The toolkit's commands, then those installed packages add."""
    yield from server.COMMANDS
    yield from migrate.COMMANDS
    yield from query.COMMANDS
    yield from cluster.COMMANDS
    yield from studio.COMMANDS
    for entry in sorted(entry_points(group=ENTRY_POINTS), key=lambda e: e.name):
        yield from entry.load()()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yeko-sql", description=__doc__)
    parser.add_argument(
        "--config",
        metavar="PYPROJECT",
        help="the pyproject.toml whose [tool.yeko-sql] to use (default: the first "
        "one declaring it, from the working directory upward)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    seen: set[str] = set()
    for command in all_commands():
        if command.name in seen:
            continue
        seen.add(command.name)
        sub = commands.add_parser(
            command.name, help=command.help, description=command.help
        )
        for flags, kwargs in command.options:
            sub.add_argument(*flags, **kwargs)
        sub.set_defaults(handler=command.handler)
    return parser


def _put_app_on_path(pyproject: Path | None) -> None:
    """Let ``models`` import from the app's root, as pytest's rootdir does.

    The root is the folder of the ``pyproject.toml`` declaring
    ``[tool.yeko-sql]``, else the working directory.
    """
    root = str(pyproject.parent if pyproject is not None else Path.cwd())
    if root not in sys.path:
        sys.path.insert(0, root)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``yeko-sql`` command line; return the exit code."""
    args = _parser().parse_args(argv)
    from yeko_sql.config import load_config  # after --help, which exits above

    try:
        args.config = load_config(args.config)
        _put_app_on_path(args.config.path)
        code: int = args.handler(args)
    except YekoSqlError as exc:
        print(f"yeko-sql: {exc}", file=sys.stderr)
        return 2
    return code
