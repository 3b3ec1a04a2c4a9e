"""A ``search`` is text to find, not a LIKE pattern.

``schools.list_schools`` and ``users.list_school_users`` find the rows whose
name (or code, or email) contains ``search``, case-insensitively, with ILIKE.
Passed through as it came, a ``%`` or ``_`` in it was a wildcard (``'%'``
listed every school) and a ``\\`` an escape; the queries now escape all three,
so each matches only itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.fix_domain import World, insert_row
from yeko_sql.query.registry import Registry
from yeko_sql.runtime.database import Database
from yeko_sql.settings import Settings

SETTINGS = Settings(min_size=1, max_size=1)
SCHOOLS = {
    "P100": "Lycee 100% Reussite",
    "LM_1": "Lycee_Moderne",
    "LM002": "Lycee Moderne",
    "CA1": "College A\\B",
}
MEMBERS = {
    "awa_kone@yeko.ci": "Awa Kone",
    "awa.kone@yeko.ci": "Awa 100% Kone",
    "yao@yeko.ci": "Yao\\Konan",
    "bamba@yeko.ci": "Bamba Awa",
}


def as_role(database_url: str, role: str) -> str:
    return psycopg.conninfo.make_conninfo(database_url, user=role)


@pytest.fixture
def platform(database_url: str, bundled_queries: Registry) -> Iterator[Database]:
    """list_schools runs as the platform role (its ``-- role:`` header)."""
    url = as_role(database_url, "yeko_platform")
    with Database(url, queries=bundled_queries, settings=SETTINGS) as db:
        yield db


@pytest.fixture
def app(database_url: str, bundled_queries: Registry) -> Iterator[Database]:
    """list_school_users runs as the application, inside ``for_school``."""
    url = as_role(database_url, "yeko_app")
    with Database(url, queries=bundled_queries, settings=SETTINGS) as db:
        yield db


@pytest.fixture
def schools(pg: psycopg.Connection) -> dict[str, str]:
    """The schools above: their name by id."""
    return {
        insert_row(pg, "schools", name=name, code=code): name
        for code, name in SCHOOLS.items()
    }


@pytest.fixture
def members(pg: psycopg.Connection, world: World) -> dict[str, str]:
    """The users above, members of the first school: their name by id."""
    found = {}
    for email, name in MEMBERS.items():
        user = insert_row(pg, "users", email=email, full_name=name)
        insert_row(
            pg,
            "user_schools",
            user_id=user,
            school_id=world.first.school_id,
            role="teacher",
        )
        found[user] = name
    return found


def names_of_schools(platform: Database, search: str) -> set[str]:
    page = platform.schools.list_schools(
        status="active", search=search, page=1, page_size=50
    )
    return {school.name for school in page.items}


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("%", {"Lycee 100% Reussite"}),
        ("0%", {"Lycee 100% Reussite"}),
        ("_", {"Lycee_Moderne"}),
        ("e_M", {"Lycee_Moderne"}),  # '_' no longer matches the space
        ("\\", {"College A\\B"}),
        ("a\\b", {"College A\\B"}),
        ("\\%", set()),  # a backslash, then a percent sign: no school has both
        ("moderne", {"Lycee_Moderne", "Lycee Moderne"}),  # still a contains search
        ("lm_", {"Lycee_Moderne"}),  # by code
    ],
)
def test_list_schools_matches_wildcards_and_backslashes_literally(
    platform: Database, schools: dict[str, str], search: str, expected: set[str]
) -> None:
    assert names_of_schools(platform, search) == expected


def test_list_schools_without_a_search_lists_them_all(
    platform: Database, schools: dict[str, str]
) -> None:
    assert names_of_schools(platform, "") == set(SCHOOLS.values())
    page = platform.schools.list_schools(
        status="active", search=None, page=1, page_size=50
    )
    assert {school.name for school in page.items} == set(SCHOOLS.values())


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("%", {"Awa 100% Kone"}),
        ("_", {"Awa Kone"}),  # its email has the underscore
        ("a_k", {"Awa Kone"}),
        ("\\", {"Yao\\Konan"}),
        ("o\\k", {"Yao\\Konan"}),
        ("kone", {"Awa Kone", "Awa 100% Kone"}),
    ],
)
def test_list_school_users_matches_wildcards_and_backslashes_literally(
    app: Database,
    world: World,
    members: dict[str, str],
    search: str,
    expected: set[str],
) -> None:
    school_id = world.first.school_id
    with app.for_school(school_id) as tx:
        page = tx.users.list_school_users(
            school_id=school_id, role=None, search=search, page=1, page_size=50
        )
    assert {member.full_name for member in page.items} == expected
