"""Fixtures for Yeko's own queries: the bundled registry and a small school world.

``db`` calls every bundled query as a deployment does: under the role its
header declares, so an application query runs as ``yeko_app`` inside
``for_school`` and Row-Level Security applies to every one of them. The
superuser (``pg``) only builds fixtures and checks what landed.

``world`` inserts, with plain SQL, one coherent school system that every
domain test can build on: two schools, a template year and each school's
active year with three terms, the catalog (tracks, grades 6e..Tle, series
A/C/D, subjects, coefficients), classes, students, and fee structures. The
plain functions at the end (``enroll_all``, ``pay``, ``walk``…) are the
steps several test modules share, so no test module imports another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractContextManager
from datetime import date
from functools import partial
from typing import Any

import msgspec
import psycopg
import pytest
from nanoid import generate

from tests.fix_coverage import role_of
from yeko_sql.ops.serverurl import role_url
from yeko_sql.query.loader import load_queries
from yeko_sql.query.registry import Registry
from yeko_sql.runtime.database import Database, Transaction
from yeko_sql.runtime.database_async import AsyncDatabase
from yeko_sql.settings import Settings
from yeko_sql.yeko.roles import APP_ROLE, PLATFORM_ROLE

GRADES = [
    ("6e", "6EME", 1),
    ("5e", "5EME", 2),
    ("4e", "4EME", 3),
    ("3e", "3EME", 4),
    ("2nde", "2NDE", 5),
    ("1ere", "1ERE", 6),
    ("Tle", "TLE", 7),
]
SUBJECTS = [
    ("Mathematiques", "MATH", "scientific"),
    ("Francais", "FR", "literary"),
    ("Physique-Chimie", "PC", "scientific"),
    ("SVT", "SVT", "scientific"),
    ("Histoire-Geographie", "HG", "literary"),
    ("Anglais", "ANG", "literary"),
    ("EPS", "EPS", "sports"),
]


class SchoolWorld(msgspec.Struct, kw_only=True):
    """The ids of one school's part of the world."""

    school_id: str
    school_year_id: str
    term_ids: list[str]
    class_ids: dict[str, str]  # class name -> id ("6e A", "Tle C", ...)
    student_ids: list[str]  # 10 per class, in class order
    fee_structure_ids: dict[str, str]  # grade code -> tuition fee structure id


class World(msgspec.Struct, kw_only=True):
    """Ids of everything ``world`` inserted."""

    template_id: str
    next_template_id: str
    track_ids: dict[str, str]  # "PC" premier cycle, "SC" second cycle
    grade_ids: dict[str, str]  # grade code -> id
    series_ids: dict[str, str]  # "A", "C", "D" -> id
    subject_ids: dict[str, str]  # short name -> id
    schools: list[SchoolWorld]

    @property
    def first(self) -> SchoolWorld:
        """The first school, which most tests use."""
        return self.schools[0]


def new_id() -> str:
    """A 21-character nanoid, as every primary key holds."""
    return str(generate())


def insert_row(pg: psycopg.Connection, table: str, **values: object) -> str:
    """Insert one row of *values* (a fresh id unless given) and return its id."""
    values.setdefault("id", new_id())
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    pg.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(values.values())
    )
    return str(values["id"])


def _catalog(pg: psycopg.Connection) -> dict[str, Any]:
    tracks = {
        code: insert_row(pg, "tracks", name=name, code=code)
        for code, name in (("PC", "Premier cycle"), ("SC", "Second cycle"))
    }
    grades = {
        code: insert_row(
            pg,
            "grades",
            track_id=tracks["PC" if order <= 4 else "SC"],
            name=name,
            code=code,
            sort_order=order,
        )
        for name, code, order in GRADES
    }
    series = {
        code: insert_row(
            pg, "series", track_id=tracks["SC"], name=f"Serie {code}", code=code
        )
        for code in ("A", "C", "D")
    }
    subjects = {
        short: insert_row(pg, "subjects", name=name, short_name=short, category=cat)
        for name, short, cat in SUBJECTS
    }
    return {"tracks": tracks, "grades": grades, "series": series, "subjects": subjects}


def _school(
    pg: psycopg.Connection, index: int, template_id: str, catalog: dict[str, Any]
) -> SchoolWorld:
    school_id = insert_row(
        pg,
        "schools",
        name=f"Lycee Moderne {index}",
        code=f"LM{index:03d}",
        city="Abidjan",
        settings=psycopg.types.json.Jsonb({"lang": "fr"}),
    )
    year_id = insert_row(
        pg,
        "school_years",
        school_id=school_id,
        school_year_template_id=template_id,
        name="2025-2026",
        starts_on=date(2025, 9, 1),
        ends_on=date(2026, 7, 15),
        status="active",
    )
    terms = [
        insert_row(
            pg,
            "terms",
            school_id=school_id,
            school_year_id=year_id,
            name=f"Trimestre {n}",
            sort_order=n,
            starts_on=start,
            ends_on=end,
        )
        for n, start, end in (
            (1, date(2025, 9, 1), date(2025, 12, 20)),
            (2, date(2026, 1, 5), date(2026, 3, 31)),
            (3, date(2026, 4, 10), date(2026, 7, 15)),
        )
    ]
    classes: dict[str, str] = {}
    students: list[str] = []
    fees: dict[str, str] = {}
    for grade_code, grade_id in catalog["grades"].items():
        second_cycle = grade_code in {"2NDE", "1ERE", "TLE"}
        for series_code in ("A", "C") if second_cycle else (None,):
            label = {c: n for n, c, _ in GRADES}[grade_code]
            name = f"{label} {series_code or 'A'}"
            class_id = insert_row(
                pg,
                "classes",
                school_id=school_id,
                school_year_id=year_id,
                grade_id=grade_id,
                name=name,
                capacity=40,
                series_id=catalog["series"][series_code] if series_code else None,
            )
            classes[name] = class_id
            for n in range(10):
                students.append(
                    insert_row(
                        pg,
                        "students",
                        school_id=school_id,
                        matricule=f"{index:02d}{len(students):05d}X",
                        first_name=f"Awa{n}",
                        last_name=f"Kouassi{len(students)}",
                        birth_date=date(2010, 1, 1 + n),
                        gender="F" if n % 2 else "M",
                    )
                )
        fees[grade_code] = insert_row(
            pg,
            "fee_structures",
            school_id=school_id,
            school_year_id=year_id,
            grade_id=grade_id,
            name="Scolarite",
            fee_type="tuition",
            amount=150000,
            due_on=date(2025, 10, 31),
        )
    return SchoolWorld(
        school_id=school_id,
        school_year_id=year_id,
        term_ids=terms,
        class_ids=classes,
        student_ids=students,
        fee_structure_ids=fees,
    )


@pytest.fixture
def world(pg: psycopg.Connection) -> World:
    """Insert a small, coherent school system into this test's database."""
    template_id = insert_row(
        pg,
        "school_year_templates",
        name="2025-2026",
        starts_on=date(2025, 9, 1),
        ends_on=date(2026, 7, 15),
        is_active=True,
    )
    next_template_id = insert_row(
        pg,
        "school_year_templates",
        name="2026-2027",
        starts_on=date(2026, 9, 1),
        ends_on=date(2027, 7, 15),
    )
    catalog = _catalog(pg)
    for (grade_code, grade_id), weight in zip(
        catalog["grades"].items(), range(1, 8), strict=True
    ):
        for short, subject_id in catalog["subjects"].items():
            insert_row(
                pg,
                "coefficient_templates",
                school_year_template_id=template_id,
                grade_id=grade_id,
                subject_id=subject_id,
                weight=weight if short == "MATH" else 2,
            )
        del grade_code
    schools = [_school(pg, i, template_id, catalog) for i in (1, 2)]
    return World(
        template_id=template_id,
        next_template_id=next_template_id,
        track_ids=catalog["tracks"],
        grade_ids=catalog["grades"],
        series_ids=catalog["series"],
        subject_ids=catalog["subjects"],
        schools=schools,
    )


@pytest.fixture(scope="session")
def bundled_queries() -> Registry:
    """Yeko's own queries, loaded once per session."""
    return load_queries()


SETTINGS = Settings(min_size=1, max_size=4)
"""Default settings (rows validated as users get them), a small pool."""


class RoleDatabases:
    """One ``Database`` per role on this test's database, opened at first use."""

    def __init__(self, database_url: str, queries: Registry) -> None:
        self.database_url = database_url
        self.queries = queries
        self._opened: dict[str, Database] = {}

    def __getitem__(self, role: str) -> Database:
        if role not in self._opened:
            url = role_url(self.database_url, role)
            database = Database(url, queries=self.queries, settings=SETTINGS)
            self._opened[role] = database.open()
        return self._opened[role]

    def close(self) -> None:
        """Close every pool opened."""
        for database in self._opened.values():
            database.close()


@pytest.fixture
def databases(
    database_url: str, bundled_queries: Registry
) -> Iterator[RoleDatabases]:
    """Yeko's queries on this test's database, one pool per role."""
    opened = RoleDatabases(database_url, bundled_queries)
    yield opened
    opened.close()


@pytest.fixture
def app_db(databases: RoleDatabases) -> Database:
    """The application: ``yeko_app``, which sees rows only inside ``for_school``."""
    return databases[APP_ROLE]


@pytest.fixture
def platform_db(databases: RoleDatabases) -> Database:
    """The cross-school platform paths: ``yeko_platform``."""
    return databases[PLATFORM_ROLE]


class QueryCalls:
    """``db.<namespace>.<query>``: the calls of one namespace of ``ScopedDb``."""

    def __init__(self, db: ScopedDb, namespace: str) -> None:
        self._db = db
        self._namespace = namespace

    def __getattr__(self, name: str) -> Callable[..., Any]:
        qualname = f"{self._namespace}.{name}"
        if qualname not in self._db.queries:
            raise AttributeError(f"no query {qualname!r}")
        return partial(self._db.call, qualname)


class ScopedDb:
    """Yeko's queries called as the deployed application calls them.

    ``db.<namespace>.<query>(**params)`` runs the query under the role its
    header declares, one transaction per call:

    - no ``-- role:``: as ``yeko_app`` inside ``for_school`` of the call's
      ``school_id``. A query without that parameter reads only shared tables
      (the tenant lint sees to it), so it runs scoped to a school that owns no
      row, which proves it needs none;
    - ``-- role: yeko_platform`` (or another role): as that role, unscoped;
    - ``-- role: owner``: as the superuser that owns the schema.

    Several calls in one transaction: ``with db.for_school(id) as tx``.
    """

    def __init__(self, databases: RoleDatabases) -> None:
        self.databases = databases
        self.queries = databases.queries
        self.no_school = new_id()
        """The school of calls that name none: one that owns no row."""

    def __getattr__(self, namespace: str) -> QueryCalls:
        if namespace.startswith("_") or namespace not in self.queries.namespaces:
            raise AttributeError(f"no query file {namespace!r}")
        return QueryCalls(self, namespace)

    def call(self, qualname: str, /, **params: object) -> Any:
        """Run *qualname* under its role (see the class)."""
        query = self.queries[qualname]
        role = role_of(query)
        namespace, name = query.namespace, query.name
        if role != APP_ROLE:
            database = self.databases[role]
            return getattr(getattr(database, namespace), name)(**params)
        school_id = params.get("school_id", self.no_school)
        with self.for_school(str(school_id)) as tx:
            return getattr(getattr(tx, namespace), name)(**params)

    def for_school(self, school_id: str) -> AbstractContextManager[Transaction]:
        """One ``yeko_app`` transaction scoped to *school_id*."""
        return self.databases[APP_ROLE].for_school(school_id)


@pytest.fixture
def db(databases: RoleDatabases) -> ScopedDb:
    """Yeko's queries, each under its declared role (``yeko_app`` in ``for_school``).

    The superuser connection (``pg``) is for fixtures and assertions only.
    """
    return ScopedDb(databases)


AsyncScenario = Callable[[AsyncDatabase], Coroutine[Any, Any, Any]]


@pytest.fixture
def run_async(
    database_url: str, bundled_queries: Registry
) -> Callable[[AsyncScenario], Any]:
    """Run ``scenario(adb)`` under ``asyncio.run``, *adb* an ``AsyncDatabase`` as
    ``yeko_app`` (so the scenario scopes its calls with ``adb.for_school``)."""

    def run(scenario: AsyncScenario) -> Any:
        async def main() -> Any:
            async with AsyncDatabase(
                role_url(database_url, APP_ROLE),
                queries=bundled_queries,
                settings=SETTINGS,
            ) as adb:
                return await scenario(adb)

        return asyncio.run(main())

    return run
