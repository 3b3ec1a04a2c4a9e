"""The seeder's fixed frame: tables and columns, years, ids, and the catalog.

Everything random comes from ``stream(seed, ...)``: a ``random.Random`` seeded
with a string such as ``"0:school:12"``, so the same seed gives the same rows,
ids included, and no school's rows depend on another's. Rows are tuples in
``COLUMNS`` order, ready for binary COPY.
"""

from __future__ import annotations

from base64 import urlsafe_b64encode
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from random import Random
from typing import Any, NamedTuple

from yeko_sql.yeko.seed.data import (
    COEFFICIENTS,
    GRADES,
    SERIES,
    SUBJECTS,
    TRACKS,
    chapters,
)

__all__ = [
    "AS_OF",
    "COLUMNS",
    "RATES",
    "YEARS",
    "Catalog",
    "Group",
    "Ids",
    "Placement",
    "Rates",
    "Row",
    "SchoolPlan",
    "Year",
    "at",
    "money",
    "plan_catalog",
    "stream",
]

Row = tuple[Any, ...]
Group = tuple[str, str | None]  # (grade code, series code)

_TABLES = """
tracks: id name code
grades: id track_id name code sort_order
series: id track_id name code
subjects: id name short_name category
school_year_templates: id name starts_on ends_on is_active
program_templates: id school_year_template_id grade_id subject_id name status
program_template_chapters: id program_template_id title sort_order duration_hours
coefficient_templates: id school_year_template_id grade_id series_id subject_id weight
schools: id name code status city address phone email settings
users: id email full_name phone status
user_schools: id user_id school_id role
school_years: id school_id school_year_template_id name starts_on ends_on status
terms: id school_id school_year_id name sort_order starts_on ends_on
classes: id school_id school_year_id grade_id series_id name capacity status
fee_structures: id school_id school_year_id grade_id name fee_type amount currency
    due_on
students: id school_id matricule first_name last_name birth_date gender status
enrollments: id school_id student_id class_id school_year_id status enrolled_at
    confirmed_at cancelled_at
payments: id school_id student_id school_year_id fee_structure_id kind amount currency
    method reference note paid_at created_at -
marks: id school_id student_id class_id subject_id term_id kind label value recorded_at
jobs: id school_id kind payload status run_after attempts locked_by locked_at last_error
"""

COLUMNS: dict[str, tuple[str, ...]] = {
    table: (*cols.split(), "created_at", "updated_at")
    if not cols.endswith("-")
    else tuple(cols.split()[:-1])
    for table, cols in (
        line.split(":") for line in _TABLES.replace("\n    ", " ").strip().splitlines()
    )
}
"""Every seeded table, in load order (parents first), with its COPY columns.

Each ends with ``created_at, updated_at`` unless its line ends with ``-``
(payments: rows never change, so there is no ``updated_at``).
"""


class Year(NamedTuple):
    """A school year of the seeded history."""

    name: str
    starts_on: date
    ends_on: date
    status: str
    terms: tuple[tuple[date, date], ...]


def _year(y: int, start: date, end: date, status: str) -> Year:
    terms = (
        (start, date(y, 12, 19)),
        (date(y + 1, 1, 5), date(y + 1, 3, 27)),
        (date(y + 1, 4, 7), end),
    )
    return Year(f"{y}-{y + 1}", start, end, status, terms)


YEARS = (
    _year(2024, date(2024, 9, 9), date(2025, 7, 18), "closed"),
    _year(2025, date(2025, 9, 8), date(2026, 7, 17), "active"),
)
"""The previous (closed) and the current (active) year, in that order."""

AS_OF = datetime(2025, 11, 28, 17, 0, tzinfo=UTC)
"""The seeded world's "now": nothing in the current year happens after it."""


def stream(seed: int, *parts: object) -> Random:
    """The random stream for one part of the seed (``stream(0, "school", 12)``)."""
    return Random(":".join(map(str, (seed, *parts))))  # noqa: S311  (seeded on purpose)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A timestamp on *day* (Abidjan is on UTC all year)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


_MONEY: dict[int, Decimal] = {}


def money(amount: int) -> Decimal:
    """A shared ``Decimal`` for a whole XOF amount (amounts repeat a lot)."""
    value = _MONEY.get(amount)
    if value is None:
        value = _MONEY[amount] = Decimal(amount)
    return value


class Ids:
    """Deterministic 21-character ids over nanoid's 64-symbol alphabet.

    Base64url of seeded random bytes: 63 bytes are exactly four ids of 126
    bits, the same symbols and entropy as ``nanoid.generate()`` (which reads
    ``os.urandom`` and cannot be seeded), at a small fraction of its cost.
    """

    __slots__ = ("_pool", "_rng")

    def __init__(self, rng: Random) -> None:
        self._rng = rng
        self._pool: list[str] = []

    def take(self, count: int) -> list[str]:
        """*count* fresh ids."""
        text = urlsafe_b64encode(self._rng.randbytes(63 * ((count + 3) // 4)))
        raw = text.decode("ascii")
        return [raw[i : i + 21] for i in range(0, 21 * count, 21)]

    def __call__(self) -> str:
        """One fresh id (drawn 256 at a time)."""
        if not self._pool:
            self._pool = self.take(256)
            self._pool.reverse()
        return self._pool.pop()


class Rates(NamedTuple):
    """The odds that shape a school, in one place."""

    suspended: float = 0.02  # a school is suspended
    neighbourhood: float = 0.6  # named after a neighbourhood rather than the town
    repeat_6e: float = 0.1  # a 6e student repeats the year
    up: float = 0.8  # a student came up from last year's grade here
    repeat: float = 0.1  # ... or repeats it (the rest are new)
    graduated: float = 0.78  # share of the top grade that graduated last year
    left: float = 0.03  # share of other grades that left last year
    female: float = 0.5
    two_first_names: float = 0.1
    no_birth_date: float = 0.01
    spanish: float = 0.75  # LV2 is Espagnol, else Allemand
    female_staff: float = 0.45
    shared_teacher: float = 0.08  # a teacher also teaches at the next school
    failed_export: float = 0.1
    running_job: float = 0.02


RATES = Rates()


class Placement(NamedTuple):
    """A student confirmed in one class for one school year."""

    student_id: str
    year: int  # index into YEARS
    class_index: int  # index into SchoolPlan.classes[year]
    enrolled_on: date
    lv2: str  # "ESP" or "ALL"
    ability: float  # the student's usual mark out of 20


class SchoolPlan(NamedTuple):
    """Everything one school contributes to the seed."""

    number: int  # 0 for the first school
    school_id: str
    rows: dict[str, list[Row]]
    shared_teachers: list[tuple[str, str]]  # (membership id, user id), next school
    year_ids: tuple[str, ...]
    term_ids: tuple[tuple[str, ...], ...]
    classes: tuple[list[tuple[str, str, str | None]], ...]  # (id, grade, series)
    by_grade: tuple[dict[str, list[int]], ...]  # grade -> indexes into classes
    fees: dict[tuple[int, str], tuple[str, int, str, int, str | None, int]]
    placements: list[Placement]


class Catalog(NamedTuple):
    """The global rows and the ids schools refer to."""

    rows: dict[str, list[tuple[Any, ...]]]
    templates: tuple[str, ...]  # one per YEARS entry
    grades: dict[str, str]  # grade code -> id
    series: dict[str, str]  # series code -> id
    subjects: dict[str, str]  # short name -> id


def _programs(
    rng: Random, new: Ids, template: str, year: Year, catalog: Catalog
) -> None:
    rows, made = catalog.rows, at(date(2024, 6, 3), 8)
    status = "published" if year.status == "active" else "archived"
    offered: dict[tuple[str, str], None] = {}
    for (grade, series), weights in COEFFICIENTS.items():
        for short, weight in weights.items():
            for subject in ("ESP", "ALL") if short == "LV2" else (short,):
                series_id = catalog.series[series] if series else None
                rows["coefficient_templates"].append(
                    (new(), template, catalog.grades[grade], series_id,
                     catalog.subjects[subject], weight, made, made)
                )  # fmt: skip
                offered[grade, subject] = None
    labels = {code: label for code, label, *_ in GRADES}
    for grade, subject in offered:
        pid = new()
        name = f"{subject} {labels[grade]} {year.name}"
        rows["program_templates"].append(
            (pid, template, catalog.grades[grade], catalog.subjects[subject], name,
             status, made, made)
        )  # fmt: skip
        rows["program_template_chapters"].extend(
            (new(), pid, title, n, rng.choice((6, 8, 10, 12, None)), made, made)
            for n, title in enumerate(chapters(subject, rng.randint(4, 8)), start=1)
        )


def plan_catalog(seed: int) -> Catalog:
    """Tracks, grades, series, subjects, template years, programs, coefficients."""
    rng = stream(seed, "catalog")
    new, made = Ids(rng), at(date(2024, 6, 3), 8)
    rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
    tracks = {code: new() for code, _ in TRACKS}
    rows["tracks"] = [(tracks[c], name, c, made, made) for c, name in TRACKS]
    grades = {code: new() for code, *_ in GRADES}
    rows["grades"] = [
        (grades[c], tracks[t], name, c, order, made, made)
        for c, name, order, t, _ in GRADES
    ]
    series = {code: new() for code, _ in SERIES}
    rows["series"] = [(series[c], tracks["SC"], n, c, made, made) for c, n in SERIES]
    subjects = {short: new() for _, short, _ in SUBJECTS}
    rows["subjects"] = [
        (subjects[s], name, s, cat, made, made) for name, s, cat in SUBJECTS
    ]
    templates = tuple(new() for _ in YEARS)
    catalog = Catalog(rows, templates, grades, series, subjects)
    rows["school_year_templates"] = [
        *((tid, y.name, y.starts_on, y.ends_on, y.status == "active", made, made)
          for tid, y in zip(templates, YEARS, strict=True)),
        (new(), "2026-2027", date(2026, 9, 7), date(2027, 7, 16), False, made, made),
    ]  # fmt: skip
    for template, year in zip(templates, YEARS, strict=True):
        _programs(rng, new, template, year, catalog)
    done, queued = AS_OF - timedelta(days=2), AS_OF
    rows["jobs"] = [
        (new(), None, "catalog.refresh", {"scope": "all"}, "done", done, 1,
         "seed-worker-0", done, None, done, done),
        (new(), None, "stats.snapshot", {"scope": "all"}, "queued", queued, 0,
         None, None, None, queued, queued),
    ]  # fmt: skip
    return catalog
