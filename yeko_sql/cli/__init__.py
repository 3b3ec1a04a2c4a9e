"""The ``yeko-sql`` command: one module per command group, ``main`` here."""

from yeko_sql.cli.main import main

__all__ = ["main"]
