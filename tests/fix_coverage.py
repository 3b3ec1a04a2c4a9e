"""Query coverage: which named queries did the test run never execute?

Every statement carries ``/* yeko:<ns>.<name> */`` and the session server
preloads ``pg_stat_statements``, so the server itself knows which named
queries ran, in any test database, sync or async, in or out of transactions.
With ``--query-coverage`` (``make test`` passes it) the run lists bundled
queries that no test executed and fails when there are any.
"""

from __future__ import annotations

import re

import psycopg
import pytest

from yeko_sql.loader import load_queries

_TAG = re.compile(r"^/\* yeko:([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*) \*/")
_URL_KEY = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--query-coverage``."""
    parser.addoption(
        "--query-coverage",
        action="store_true",
        help="fail when a bundled named query was never executed by the tests",
    )


def remember_server(config: pytest.Config, url: str) -> None:
    """Called by the session-server fixture: where to read pg_stat_statements."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    config.stash[_URL_KEY] = url


def executed_queries(url: str) -> set[str]:
    """Qualified names of every tagged statement the server has seen."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT query FROM pg_stat_statements WHERE query LIKE '/* yeko:%'"
        ).fetchall()
    return {m.group(1) for (text,) in rows if (m := _TAG.match(text))}


_MISSING_KEY = pytest.StashKey[list[str]]()
_TOTAL_KEY = pytest.StashKey[int]()


def record_coverage(config: pytest.Config) -> None:
    """Called before the session server stops: find the queries that never ran."""
    url = config.stash.get(_URL_KEY, None)
    if not config.getoption("--query-coverage") or url is None:
        return
    bundled = {query.qualname for query in load_queries()}
    config.stash[_MISSING_KEY] = sorted(bundled - executed_queries(url))
    config.stash[_TOTAL_KEY] = len(bundled)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail an otherwise green run that left named queries unexecuted."""
    if (
        session.config.stash.get(_MISSING_KEY, None)
        and exitstatus == pytest.ExitCode.OK
    ):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the bundled queries that no test executed."""
    config = terminalreporter.config
    missing = config.stash.get(_MISSING_KEY, None)
    if missing is None:
        return
    total = config.stash[_TOTAL_KEY]
    terminalreporter.section("query coverage")
    terminalreporter.write_line(
        f"{total - len(missing)} of {total} named queries executed"
    )
    for name in missing:
        terminalreporter.write_line(f"never executed: {name}")
