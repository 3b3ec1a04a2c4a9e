"""What every command group shares: options, and the app's configuration.

Every default that names an app's files or database comes from its
``[tool.yeko-sql]`` (``yeko_sql.config``); an option given on the command line
wins. A default that neither gives is a one-line error (exit 2) naming the
key and the option, never another app's files.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from yeko_sql.errors import ConfigError

if TYPE_CHECKING:
    from yeko_sql.config import Config

__all__ = [
    "MODELS",
    "PATHS",
    "URL",
    "Command",
    "Handler",
    "Option",
    "config_of",
    "models_of",
    "opt",
    "paths_of",
    "url_of",
]

Handler = Callable[[argparse.Namespace], int]
Option = tuple[tuple[str, ...], dict[str, Any]]


class Command(NamedTuple):
    """One subcommand: its name, what runs it, its help line and options."""

    name: str
    handler: Handler
    help: str
    options: list[Option]


def opt(*flags: str, **kwargs: Any) -> Option:
    """An ``add_argument`` call, kept for later."""
    return flags, kwargs


URL = opt(
    "--database-url",
    help="default: DATABASE_URL, else the local server's [tool.yeko-sql] database",
)
PATHS = opt(
    "paths", nargs="*", help="folders or .sql files (default: [tool.yeko-sql] sql)"
)
MODELS = opt(
    "--models",
    action="append",
    default=[],
    help="module of Structs '-- returns:' may name (repeatable; default: "
    "[tool.yeko-sql] models)",
)


def config_of(args: argparse.Namespace) -> Config:
    """The configuration ``main`` read for this run."""
    config: Config = args.config
    return config


def paths_of(args: argparse.Namespace) -> list[Path]:
    """The query folders: the arguments, else ``[tool.yeko-sql] sql``."""
    if args.paths:
        return [Path(p) for p in args.paths]
    return list(config_of(args).require_sql())


def models_of(args: argparse.Namespace) -> list[str]:
    """The Struct modules: ``--models``, else ``[tool.yeko-sql] models``."""
    return list(args.models) or list(config_of(args).models)


def url_of(args: argparse.Namespace) -> str:
    """``--database-url``, else ``DATABASE_URL``, else the configured local one.

    Only the last needs ``[tool.yeko-sql] database``; the local server is
    started and the database created when missing.
    """
    explicit = args.database_url or os.environ.get("DATABASE_URL")
    if explicit:
        return str(explicit)
    config = config_of(args)
    if config.database is None:
        raise ConfigError(
            config.where,
            "no database to use: [tool.yeko-sql] declares no 'database'; add "
            "database = \"<name>\" there (the local server's), set DATABASE_URL, "
            "or pass --database-url",
        )
    from yeko_sql.ops.devserver import DevServer  # not for --help: psycopg

    return DevServer().create_database(config.database)
