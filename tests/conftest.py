"""Test-suite wiring: fixtures live in tests/fix_*.py, on top of yeko_sql.testing.

The plugin (loaded by its ``pytest11`` entry point) starts the session server,
migrates the template and clones it per test; ``tests.fix_server`` and
``tests.fix_db`` give the suite its own names for those.
"""

import pytest

pytest_plugins = [
    "pytester",
    "tests.fix_coverage",
    "tests.fix_server",
    "tests.fix_db",
    "tests.fix_sqlfiles",
    "tests.fix_domain",
    "tests.fix_pgbouncer",
    "tests.fix_replica",
]


@pytest.fixture(scope="session")
def yeko_server_settings() -> dict[str, str]:
    """Query coverage reads every test database's statements: keep them all."""
    return {"pg_stat_statements.max": "50000"}
