"""The benchmark's data: Yeko's real schema, filled with ``generate_series``.

One school (a large network, so that one tenant's list spans every row) with
``years`` school years of ``students`` students each: every student has one
enrollment per year, in a class of 40. Past years are confirmed; in the
current year one enrollment in ten is still pending. Ids are 21 characters,
a table letter and a zero-padded counter (``e00000000000000000042``), so rows
are generated in id order and every CHECK, unique key and foreign key holds.
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg

from yeko_sql.ops.migrate import apply_migrations

__all__ = ["SCHOOL_ID", "Sizes", "build", "student_id"]

SCHOOL_ID = "h" + "1".rjust(20, "0")
"""The school every generated row belongs to."""

CLASS_SIZE = 40


class Sizes(msgspec.Struct, frozen=True, kw_only=True):
    """How big each workload is; ``tiny()`` only proves the harness runs."""

    students: int = 200_000
    years: int = 5
    fetch: tuple[int, ...] = (10_000, 100_000)
    lookups: int = 2_000
    concurrent_calls: int = 4_000
    page_size: int = 20
    deep_page: int = 50_000
    bulk: int = 100_000
    upsert: int = 10_000
    update: int = 50_000
    rounds: int = 7

    @property
    def enrollments(self) -> int:
        """Rows in ``enrollments``: one per student and year."""
        return self.students * self.years

    @classmethod
    def tiny(cls) -> Sizes:
        """A few hundred rows, one round: proves every case runs (``make test``)."""
        return cls(
            students=200,
            years=2,
            fetch=(50, 300),
            lookups=20,
            concurrent_calls=64,
            page_size=20,
            deep_page=15,
            bulk=300,
            upsert=100,
            update=100,
            rounds=1,
        )


def student_id(number: int) -> str:
    """The id ``build`` gave the *number*-th student (1-based)."""
    return "s" + str(number).rjust(20, "0")


def _statements(sizes: Sizes) -> list[tuple[str, list[object]]]:
    students, years = sizes.students, sizes.years
    classes = -(-students // CLASS_SIZE)
    return [
        (
            "INSERT INTO schools (id, name, code, city)"
            " VALUES (%s, 'Réseau scolaire Yeko', 'YEKO-BENCH', 'Abidjan')",
            [SCHOOL_ID],
        ),
        (
            "INSERT INTO tracks (id, name, code) VALUES (%s, 'Premier cycle', 'PC')",
            ["t" + "1".rjust(20, "0")],
        ),
        (
            "INSERT INTO grades (id, track_id, name, code, sort_order)"
            " VALUES (%s, %s, 'Sixième', '6EME', 1)",
            ["g" + "1".rjust(20, "0"), "t" + "1".rjust(20, "0")],
        ),
        (
            "INSERT INTO school_year_templates (id, name, starts_on, ends_on)"
            " SELECT 'p' || lpad(y::text, 20, '0'), (2020 + y) || '-' || (2021 + y),"
            " make_date(2020 + y, 9, 1), make_date(2021 + y, 7, 15)"
            " FROM generate_series(1, %s) AS y",
            [years],
        ),
        (
            "INSERT INTO school_years (id, school_id, school_year_template_id, name,"
            " starts_on, ends_on, status)"
            " SELECT 'y' || lpad(y::text, 20, '0'), %s,"
            " 'p' || lpad(y::text, 20, '0'),"
            " (2020 + y) || '-' || (2021 + y), make_date(2020 + y, 9, 1),"
            " make_date(2021 + y, 7, 15), CASE WHEN y = %s THEN 'active' ELSE"
            " 'closed' END FROM generate_series(1, %s) AS y",
            [SCHOOL_ID, years, years],
        ),
        (
            "INSERT INTO classes (id, school_id, school_year_id, grade_id, name,"
            " capacity)"
            " SELECT 'c' || lpad(((y - 1) * %s + n)::text, 20, '0'), %s,"
            " 'y' || lpad(y::text, 20, '0'),"
            " %s, 'Classe ' || n, %s"
            " FROM generate_series(1, %s) AS y, generate_series(1, %s) AS n",
            [classes, SCHOOL_ID, "g" + "1".rjust(20, "0"), CLASS_SIZE, years, classes],
        ),
        (
            "INSERT INTO students (id, school_id, matricule, first_name, last_name,"
            " birth_date, gender)"
            " SELECT 's' || lpad(g::text, 20, '0'), %s, 'M' || lpad(g::text, 9, '0'),"
            " (ARRAY['Awa', 'Koffi', 'Aya', 'Yao', 'Mariam', 'Ibrahim'])[1 + g %% 6],"
            " (ARRAY['Kouassi', 'Traoré', 'Koné', 'Diallo', 'Bamba'])[1 + g %% 5]"
            " || ' ' || g, date '2008-01-01' + g %% 2000,"
            " (ARRAY['M', 'F'])[1 + g %% 2]"
            " FROM generate_series(1, %s) AS g",
            [SCHOOL_ID, students],
        ),
        (
            "INSERT INTO enrollments (id, school_id, student_id, class_id,"
            " school_year_id, status, enrolled_at, confirmed_at)"
            " SELECT 'e' || lpad(((y - 1) * %s + g)::text, 20, '0'), %s,"
            " 's' || lpad(g::text, 20, '0'),"
            " 'c' || lpad(((y - 1) * %s + 1 + (g - 1) / %s)::text, 20, '0'),"
            " 'y' || lpad(y::text, 20, '0'),"
            " st.status, at, CASE WHEN st.status = 'confirmed'"
            " THEN at + interval '2 days' END"
            " FROM generate_series(1, %s) AS y, generate_series(1, %s) AS g,"
            " LATERAL (SELECT make_date(2020 + y, 8, 1)::timestamptz"
            " + g * interval '7 seconds' AS at) AS t,"
            " LATERAL (SELECT CASE WHEN y = %s AND g %% 10 = 0 THEN 'pending'"
            " ELSE 'confirmed' END AS status) AS st",
            [students, SCHOOL_ID, classes, CLASS_SIZE, years, students, years],
        ),
    ]


def _check_references(conn: psycopg.Connection[Any]) -> None:
    # What the skipped triggers would have checked, in one anti-join.
    found = conn.execute(
        "SELECT count(*) FROM enrollments AS e"
        " LEFT JOIN students AS s ON s.id = e.student_id"
        " LEFT JOIN classes AS c ON c.id = e.class_id"
        " AND c.school_year_id = e.school_year_id AND c.school_id = e.school_id"
        " WHERE s.id IS NULL OR c.id IS NULL"
    ).fetchone()
    if found is None or found[0]:
        raise RuntimeError(f"generated enrollments break a foreign key: {found}")


def build(url: str, sizes: Sizes) -> None:
    """Migrate *url* and fill it; a second call on a filled database does nothing."""
    apply_migrations(url)
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT count(*) FROM schools WHERE id = %s", [SCHOOL_ID]
        ).fetchone()
        if found and found[0]:
            return
        with conn.transaction():
            *before, enrollments = _statements(sizes)
            for statement, params in before:
                conn.execute(statement, params)
            # Skip the foreign-key triggers for this one statement (the ids above
            # match by construction): they would cost 20 s of a 30 s load.
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(*enrollments)
            _check_references(conn)
        # The bulk-insert target: students' columns, CHECKs, defaults, generated
        # column and indexes, without its foreign keys and triggers.
        conn.execute("CREATE TABLE bench_students (LIKE students INCLUDING ALL)")
        conn.execute("VACUUM (ANALYZE)")
