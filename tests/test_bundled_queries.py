"""Every bundled query passes ``check``: described, compared with its Struct, linted.

Queries without ``-- role:`` are checked against ``yeko_app`` too: its grants and
policies let it run each of them, so the application role is proven able to.

The registry is loaded at collection time, so a query file that does not load
fails the collection loudly, naming the file and line.
"""

import psycopg
import pytest

from yeko_sql.query.compiler import Query
from yeko_sql.query.loader import load_queries
from yeko_sql.verify.check import check_connection

QUERIES = list(load_queries())


@pytest.mark.parametrize("query", QUERIES, ids=[q.qualname for q in QUERIES])
def test_bundled_query_checks_out(query: Query[object], pg: psycopg.Connection) -> None:
    report = check_connection([query], pg, app_role="yeko_app")
    if report.problems:
        pytest.fail("\n".join(str(p) for p in report.problems), pytrace=False)
