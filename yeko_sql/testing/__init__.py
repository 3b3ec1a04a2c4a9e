"""The pytest plugin any app uses: a server, a migrated template, a database per test.

Installed with ``pip install 'yeko-sql[testing]'``, it loads in every pytest
session through the ``pytest11`` entry point; see docs/testing.md.
"""

from yeko_sql.testing.plugin import TEST_URL_ENV, SessionServer

__all__ = ["TEST_URL_ENV", "SessionServer"]
