"""Test-suite wiring: fixtures live in tests/fix_*.py."""

pytest_plugins = [
    "tests.fix_coverage",
    "tests.fix_server",
    "tests.fix_db",
    "tests.fix_sqlfiles",
    "tests.fix_domain",
    "tests.fix_pgbouncer",
]
