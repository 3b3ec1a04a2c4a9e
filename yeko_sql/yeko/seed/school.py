"""One seeded school: its years, terms, classes, fees, staff, jobs and students.

``plan_school`` returns the rows of the small tables and the *placements*
(one per student and school year: the class the student is confirmed in) from
which ``seedrows`` derives enrollments, payments and marks. Students who
continue from last year move up a grade (or repeat one); last year's Tle (in
a collège, 3e) students graduated, and a few others left.
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from random import Random

from yeko_sql.yeko.seed.data import (
    CITIES,
    COLLEGE_NAMES,
    FEMALE_FIRST_NAMES,
    GRADES,
    LAST_NAMES,
    LYCEE_NAMES,
    MALE_FIRST_NAMES,
    SERIES_SHARE,
)
from yeko_sql.yeko.seed.plan import (
    AS_OF,
    RATES,
    YEARS,
    Catalog,
    Group,
    Ids,
    Placement,
    Row,
    SchoolPlan,
    at,
    money,
    stream,
)

__all__ = ["plan_school"]

_ORDER = {code: order for code, _, order, _, _ in GRADES}
_LABEL = {code: label for code, label, _, _, _ in GRADES}
_BEFORE = {g[0]: p[0] for g, p in zip(GRADES[1:], GRADES, strict=False)}
_CITY_WEIGHTS = [weight for _, _, weight, _ in CITIES]
_PRIVATE = ("Privé", "Saint", "Notre", "Groupe", "Institution", "Les ", "Méthodiste",
            "Protestant", "Islamique")  # fmt: skip
_STAFF = (("director", 1), ("admin", 1), ("accountant", 1), ("secretary", 1))
_DELAYS = (0, 0, 0, 0, 0, 1, 1, 1, 2, 3)  # years behind the usual age for a grade


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def _phone(rng: Random, prefix: str) -> str:
    d = f"{rng.randrange(10**8):08d}"
    return f"+225 {prefix} {d[:2]} {d[2:4]} {d[4:6]} {d[6:]}"


def _school(rng: Random, index: int, school_id: str, lycee: bool) -> tuple[Row, bool]:
    city, city_code, _, places = rng.choices(CITIES, weights=_CITY_WEIGHTS)[0]
    place = city
    if places and rng.random() < RATES.neighbourhood:
        place = rng.choice(places)
    name = rng.choice(LYCEE_NAMES if lycee else COLLEGE_NAMES).format(
        place=place, n=rng.randint(1, 3)
    )
    if place[0] in "AEIOUYÉ":
        name = name.replace(f" de {place}", f" d'{place}")
    private = any(word in name for word in _PRIVATE)
    code = f"{city_code}{index + 1:04d}"
    opened = date(2015 + rng.randrange(9), 1 + rng.randrange(12), 1 + rng.randrange(28))
    made = at(opened)
    settings = {"lang": "fr", "currency": "XOF", "grading_scale": 20, "terms": 3,
                "private": private}  # fmt: skip
    status = "suspended" if index and rng.random() < RATES.suspended else "active"
    box = f"BP {rng.randint(10, 999)} {city}"
    address = f"{place}, {city}" if place != city else box
    row = (school_id, name, code, status, city, address, _phone(rng, "27"),
           f"contact@{code.lower()}.edu.ci", settings, made, made)  # fmt: skip
    return row, private


def _groups(students: int, lycee: bool) -> dict[Group, int]:
    """This year's students per (grade, series); both years share the layout."""
    grades = [g for g in GRADES if lycee or g[3] == "PC"]
    total = sum(g[4] for g in grades)
    groups: dict[Group, int] = {}
    for code, _, _, _, share in grades:
        size = round(students * share / total)
        for series, part in SERIES_SHARE.get(code, ((None, 100),)):
            groups[code, series] = max(1, round(size * part / 100))
    return groups


def _fees(
    rng: Random, new: Ids, plan: SchoolPlan, grade_ids: dict[str, str], private: bool
) -> None:
    """Registration per school, tuition per grade (second cycle dearer), exams."""
    registration = rng.randrange(10, 26) * 1000
    base = rng.randrange(30, 51) * 5000 if private else rng.randrange(20, 29) * 5000
    rows = plan.rows["fee_structures"]
    for y, year_id in enumerate(plan.year_ids):
        year = YEARS[y]
        made = at(year.starts_on - timedelta(days=45))
        raise_ = 1.0 if year.status == "active" else 0.95
        for code, grade_id in grade_ids.items():
            second = 1.2 if code in SERIES_SHARE else 1.0
            tuition = min(300_000, round(base * raise_ * second / 5000) * 5000)
            exam = {"3EME": 10_000, "TLE": 15_000}.get(code, 0)
            reg_id, tui_id, exam_id = new(), new(), new() if exam else None
            plan.fees[y, code] = (reg_id, registration, tui_id, tuition, exam_id, exam)
            head = (plan.school_id, year_id, grade_id)
            rows += [
                (reg_id, *head, "Frais d'inscription", "registration",
                 money(registration), "XOF", year.starts_on, made, made),
                (tui_id, *head, "Scolarité", "tuition", money(tuition), "XOF",
                 year.starts_on + timedelta(days=120), made, made),
            ]  # fmt: skip
            if exam_id:
                due = date(year.starts_on.year + 1, 3, 31)
                rows.append((exam_id, *head, "Frais d'examen", "exam", money(exam),
                             "XOF", due, made, made))  # fmt: skip


def _staff(rng: Random, new: Ids, plan: SchoolPlan, code: str, teachers: int) -> None:
    """One user per office role, teachers by class count; some teach elsewhere too."""
    users, members = plan.rows["users"], plan.rows["user_schools"]
    for role, count in (*_STAFF, ("teacher", teachers)):
        for _ in range(count):
            uid, mid = new(), new()
            female = rng.random() < RATES.female_staff
            first = rng.choice(FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            email = f"{_slug(first)}.{_slug(last)}.{len(users)}@{code.lower()}.edu.ci"
            made = at(date(2024, 8, 1) + timedelta(days=rng.randrange(30)), 11)
            status = rng.choices(("active", "invited", "suspended"), (90, 6, 4))[0]
            users.append((uid, email, f"{first} {last}", _phone(rng, "07"), status,
                          made, made))  # fmt: skip
            members.append((mid, uid, plan.school_id, role, made, made))
            if role == "teacher" and rng.random() < RATES.shared_teacher:
                plan.shared_teachers.append((new(), uid))


def _jobs(rng: Random, new: Ids, plan: SchoolPlan) -> None:
    failed = rng.random() < RATES.failed_export
    running = rng.random() < RATES.running_job
    for kind, status, payload in (
        ("report_cards.generate", "done", {"term_id": plan.term_ids[0][2]}),
        ("averages.recompute", "done", {"school_year_id": plan.year_ids[0]}),
        ("fees.remind", "queued", {"school_year_id": plan.year_ids[1], "late": 30}),
        ("exports.enrollments", "failed" if failed else "done", {}),
        ("report_cards.generate", "running" if running else "queued",
         {"term_id": plan.term_ids[1][0]}),
    ):  # fmt: skip
        if status == "queued":
            run = AS_OF + timedelta(days=rng.randint(0, 3))
        else:
            run = AS_OF - timedelta(days=rng.randint(1, 60))
        attempts = {"queued": 0, "running": 1, "done": 1, "failed": 5}[status]
        error = "TimeoutError: export took longer than 300 s" if failed else None
        worker = f"seed-worker-{rng.randint(1, 4)}" if attempts else None
        plan.rows["jobs"].append(
            (new(), plan.school_id, kind, payload, status, run, attempts, worker,
             run if worker else None, error if status == "failed" else None, run, run)
        )  # fmt: skip


def _classes(new: Ids, plan: SchoolPlan, groups: dict[Group, int], size: int,
             catalog: Catalog) -> dict[Group, list[int]]:  # fmt: skip
    """The same layout both years: sections of about *size* per (grade, series)."""
    by_group: dict[Group, list[int]] = {}
    for y, year_id in enumerate(plan.year_ids):
        made = at(YEARS[y].starts_on - timedelta(days=30))
        status = "active" if YEARS[y].status == "active" else "archived"
        for (code, series), students in groups.items():
            for k in range(1, -(-students // size) + 1):  # ceil: none over size
                class_id, index = new(), len(plan.classes[y])
                if y == 0:
                    by_group.setdefault((code, series), []).append(index)
                plan.by_grade[y].setdefault(code, []).append(index)
                plan.classes[y].append((class_id, code, series))
                series_id = catalog.series[series] if series else None
                plan.rows["classes"].append(
                    (class_id, plan.school_id, year_id, catalog.grades[code], series_id,
                     f"{_LABEL[code]} {series or ''}{k}", size + 5, status, made, made)
                )  # fmt: skip
    return by_group


class _Roster:
    """Adds students and their placements (both years share the class layout)."""

    def __init__(self, rng: Random, new: Ids, plan: SchoolPlan,
                 by_group: dict[Group, list[int]]) -> None:  # fmt: skip
        self.rng, self.new, self.plan, self.by_group = rng, new, plan, by_group

    def add(self, status: str, order: int, delay: int, first_year: int) -> str:
        rng, rows = self.rng, self.plan.rows["students"]
        female = rng.random() < RATES.female
        names = FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES
        first = rng.choice(names)
        if rng.random() < RATES.two_first_names:
            first += " " + rng.choice(names)
        age = 10 + order + delay + rng.choice(_DELAYS)
        born: date | None = date(YEARS[1].starts_on.year - age, 1, 1) + timedelta(
            rng.randrange(365)
        )
        if rng.random() < RATES.no_birth_date:
            born = None
        made = at(YEARS[first_year].starts_on - timedelta(rng.randint(10, 30)), 10)
        changed = at(YEARS[0].ends_on, 16) if status != "active" else made
        n = len(rows)
        matricule = f"{self.plan.number + 1:04d}{n:05d}{chr(65 + n * 7 % 26)}"
        student_id = self.new()
        rows.append((student_id, self.plan.school_id, matricule, first,
                     rng.choice(LAST_NAMES), born, "F" if female else "M", status,
                     made, changed))  # fmt: skip
        return student_id

    def place(
        self, student_id: str, y: int, group: Group, lv2: str, ability: float
    ) -> None:
        rng = self.rng
        # Both years list their classes in the same order: one index serves both.
        options = self.by_group.get(group) or self.plan.by_grade[y][group[0]]
        day = YEARS[y].starts_on - timedelta(days=rng.randint(0, 25))
        self.plan.placements.append(
            Placement(student_id, y, rng.choice(options), day, lv2, ability)
        )

    def traits(self) -> tuple[str, float]:
        """A second language and a usual mark out of 20."""
        lv2 = "ESP" if self.rng.random() < RATES.spanish else "ALL"
        return lv2, min(18.0, max(4.0, self.rng.gauss(11.0, 2.5)))

    def enrol(self, groups: dict[Group, int], top: str) -> None:
        """This year's students (moved up, repeating or new), last year's leavers."""
        for (code, series), size in groups.items():
            for _ in range(size):
                origin = _origin(code, self.rng.random())
                lv2, ability = self.traits()
                sid = self.add("active", _ORDER[code], origin == "repeat",
                               int(origin == "new"))  # fmt: skip
                if origin == "up":
                    self.place(sid, 0, _came_from(code, series), lv2, ability)
                elif origin == "repeat":
                    self.place(sid, 0, (code, series), lv2, ability)
                self.place(sid, 1, (code, series), lv2, ability)
        for (code, series), size in groups.items():
            share = RATES.graduated if code == top else RATES.left
            for _ in range(round(size * share)):
                gone = ("withdrawn", "transferred")
                status = "graduated" if code == top else self.rng.choice(gone)
                sid = self.add(status, _ORDER[code] + 1, 0, 0)
                self.place(sid, 0, (code, series), *self.traits())


def _origin(code: str, roll: float) -> str:
    """Whether a student moved "up" from last year's grade, repeats it, or is new."""
    if code == "6EME":
        return "repeat" if roll < RATES.repeat_6e else "new"
    if roll < RATES.up:
        return "up"
    return "repeat" if roll < RATES.up + RATES.repeat else "new"


def _came_from(code: str, series: str | None) -> Group:
    """Last year's group: 2nde A to 1ere A, 2nde C to 1ere C or D, 1ere X to Tle X."""
    if code == "2NDE" or code not in SERIES_SHARE:
        return _BEFORE[code], None
    return _BEFORE[code], "A" if series == "A" else "C" if code == "1ERE" else series


def plan_school(
    seed: int, index: int, students: int, *, lycee: bool, catalog: Catalog
) -> SchoolPlan:
    """Plan school number *index* with about *students* students this year."""
    rng = stream(seed, "school", index)
    new = Ids(rng)
    school_id = new()
    school, private = _school(rng, index, school_id, lycee)
    tables = ("users", "user_schools", "school_years", "terms", "classes",
              "fee_structures", "students", "jobs")  # fmt: skip
    rows = {"schools": [school]} | {t: [] for t in tables}
    plan = SchoolPlan(
        number=index, school_id=school_id, rows=rows, shared_teachers=[],
        year_ids=tuple(new() for _ in YEARS),
        term_ids=tuple(tuple(new() for _ in y.terms) for y in YEARS),
        classes=([], []), by_grade=({}, {}), fees={}, placements=[],
    )  # fmt: skip
    for year_id, template, year, term_ids in zip(
        plan.year_ids, catalog.templates, YEARS, plan.term_ids, strict=True
    ):
        made = at(year.starts_on - timedelta(days=70))
        plan.rows["school_years"].append((year_id, school_id, template, year.name,
                                          year.starts_on, year.ends_on, year.status,
                                          made, made))  # fmt: skip
        plan.rows["terms"].extend(
            (term_id, school_id, year_id, f"Trimestre {n}", n, start, end, made, made)
            for n, (term_id, (start, end)) in enumerate(
                zip(term_ids, year.terms, strict=True), 1
            )
        )
    groups = _groups(students, lycee)
    size = rng.randint(35, 45) if private else rng.randint(50, 65)
    by_group = _classes(new, plan, groups, size, catalog)
    grades = dict.fromkeys(code for code, _ in groups)
    _fees(rng, new, plan, {g: catalog.grades[g] for g in grades}, private)
    _Roster(rng, new, plan, by_group).enrol(groups, top=list(grades)[-1])
    _staff(rng, new, plan, school[2], max(6, len(plan.classes[1]) + students // 80))
    _jobs(rng, new, plan)
    return plan
