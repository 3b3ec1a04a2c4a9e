"""Query coverage: did every named query run, under the role it declares?

Every statement carries ``/* yeko:<ns>.<name> */`` and the session server
preloads ``pg_stat_statements``, which counts each statement per user, so the
server itself knows which named queries ran and as whom, in any test
database, sync or async, in or out of transactions. With ``--query-coverage``
(``make test`` passes it) the run lists the bundled queries that never ran
under their declared role (``yeko_app`` when the header names none; ``owner``
is any superuser, or the user that migrated the test databases) and fails when
there are any.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

import psycopg
import pytest

from yeko_sql.ops.serverurl import OWNER
from yeko_sql.query.compiler import Query
from yeko_sql.query.loader import load_queries
from yeko_sql.yeko.roles import APP_ROLE


def role_of(query: Query[Any]) -> str:
    """The role *query* declares in its header; the application role without one."""
    return query.role or APP_ROLE

_TAG = re.compile(r"^/\* yeko:([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*) \*/")
_URL_KEY = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--query-coverage``."""
    parser.addoption(
        "--query-coverage",
        action="store_true",
        help="fail when a bundled named query never ran under its declared role",
    )


def remember_server(config: pytest.Config, url: str) -> None:
    """Called by the session-server fixture: where to read pg_stat_statements."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    config.stash[_URL_KEY] = url


def executed_queries(url: str) -> dict[str, set[str]]:
    """Each tagged statement the server has seen -> the roles that ran it.

    A superuser, or the user of *url* (who migrated the test databases), also
    counts as ``owner``. Test databases are dropped after each test; their
    statements stay, under the user that ran them.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            """
            SELECT s.query, r.rolname, r.rolsuper OR r.rolname = current_user
            FROM pg_stat_statements AS s
            JOIN pg_roles AS r ON r.oid = s.userid
            WHERE s.query LIKE '/* yeko:%'
            """
        ).fetchall()
    ran: dict[str, set[str]] = defaultdict(set)
    for text, role, is_owner in rows:
        if m := _TAG.match(text):
            ran[m.group(1)] |= {role, OWNER} if is_owner else {role}
    return ran


class Coverage:
    """What the session's queries ran as, held against what they declare."""

    def __init__(self, declared: dict[str, str], ran: dict[str, set[str]]) -> None:
        self.declared = declared
        self.ran = {q: ran.get(q, set()) for q in declared}
        self.missing = sorted(
            q for q, role in declared.items() if role not in self.ran[q]
        )
        self.by_role = Counter(
            role for q, role in declared.items() if q not in self.missing
        )


_COVERAGE_KEY = pytest.StashKey[Coverage]()


def record_coverage(config: pytest.Config) -> None:
    """Called before the session server stops: find the queries that never ran."""
    url = config.stash.get(_URL_KEY, None)
    if not config.getoption("--query-coverage") or url is None:
        return
    declared = {query.qualname: role_of(query) for query in load_queries()}
    config.stash[_COVERAGE_KEY] = Coverage(declared, executed_queries(url))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail an otherwise green run that left named queries unproven."""
    coverage = session.config.stash.get(_COVERAGE_KEY, None)
    if coverage is not None and coverage.missing and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Count the queries proven per role; list those that never ran as theirs."""
    coverage = terminalreporter.config.stash.get(_COVERAGE_KEY, None)
    if coverage is None:
        return
    total = len(coverage.declared)
    roles = ", ".join(f"{n} as {r}" for r, n in sorted(coverage.by_role.items()))
    terminalreporter.section("query coverage")
    terminalreporter.write_line(
        f"{total - len(coverage.missing)} of {total} named queries ran under their "
        f"declared role ({roles})"
    )
    for name in coverage.missing:
        others = ", ".join(sorted(coverage.ran[name] - {OWNER})) or "nobody"
        terminalreporter.write_line(
            f"never ran as {coverage.declared[name]}: {name} (ran as: {others})"
        )
