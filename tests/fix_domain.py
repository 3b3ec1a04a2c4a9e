"""Fixtures for Yeko's own queries: the bundled registry and a small school world.

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
from datetime import date
from typing import Any

import msgspec
import psycopg
import pytest
from nanoid import generate

from yeko_sql.database import Database
from yeko_sql.database_async import AsyncDatabase
from yeko_sql.loader import load_queries
from yeko_sql.registry import Registry
from yeko_sql.settings import Settings

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


@pytest.fixture
def db(database_url: str, bundled_queries: Registry) -> Iterator[Database]:
    """A ``Database`` with Yeko's queries on this test's database (strict rows)."""
    settings = Settings(strict_rows=True, min_size=1, max_size=4)
    with Database(database_url, queries=bundled_queries, settings=settings) as database:
        yield database


AsyncScenario = Callable[[AsyncDatabase], Coroutine[Any, Any, Any]]


@pytest.fixture
def run_async(
    database_url: str, bundled_queries: Registry
) -> Callable[[AsyncScenario], Any]:
    """Run ``scenario(adb)`` with an ``AsyncDatabase`` under ``asyncio.run``."""

    def run(scenario: AsyncScenario) -> Any:
        async def main() -> Any:
            settings = Settings(strict_rows=True, min_size=1, max_size=4)
            async with AsyncDatabase(
                database_url, queries=bundled_queries, settings=settings
            ) as adb:
                return await scenario(adb)

        return asyncio.run(main())

    return run
