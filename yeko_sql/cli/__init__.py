"""The ``yeko-sql`` command."""
