"""The ``yeko-sql`` command: one module per command group, ``main`` here.

An installed package adds commands through the ``yeko_sql.commands`` entry
point group with ``Command``, ``opt``, ``config_of`` and ``url_of`` (docs/cli.md).
"""

from yeko_sql.cli._options import Command, config_of, opt, url_of
from yeko_sql.cli.main import main

__all__ = ["Command", "config_of", "main", "opt", "url_of"]
