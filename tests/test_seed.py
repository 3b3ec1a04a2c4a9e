import psycopg
import pytest
from nanoid.resources import alphabet as nanoid_alphabet
from psycopg import errors, sql

from yeko_sql.errors import YekoSqlError
from yeko_sql.ops.migrate import apply_migrations
from yeko_sql.yeko.seed.plan import AS_OF, COLUMNS, Ids, stream
from yeko_sql.yeko.seed.run import SIZES, seed_database

FOREIGN_KEYS = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
FROM pg_constraint
WHERE contype = 'f'
ORDER BY 1, 2
"""

# Rows that break an invariant; every query must find none.
INVARIANTS = {
    "a student-year without exactly one confirmed enrollment": """
        SELECT student_id, school_year_id FROM enrollments
        GROUP BY student_id, school_year_id
        HAVING count(*) FILTER (WHERE status = 'confirmed') <> 1""",
    "an active student not confirmed this year": """
        SELECT s.id FROM students AS s
        JOIN school_years AS y ON y.school_id = s.school_id AND y.status = 'active'
        WHERE s.status = 'active'
          AND NOT EXISTS (SELECT FROM enrollments AS e WHERE e.student_id = s.id
                          AND e.school_year_id = y.id AND e.status = 'confirmed')""",
    "a payment that is not positive": "SELECT id FROM payments WHERE amount <= 0",
    "an enrollment in another school than its student, class or year": """
        SELECT e.id FROM enrollments AS e
        JOIN students AS s ON s.id = e.student_id
        JOIN classes AS c ON c.id = e.class_id
        JOIN school_years AS y ON y.id = e.school_year_id
        WHERE e.school_id <> s.school_id OR e.school_id <> c.school_id
           OR e.school_id <> y.school_id OR c.school_year_id <> e.school_year_id""",
    "a payment in another school than its student, year or fee": """
        SELECT p.id FROM payments AS p
        JOIN students AS s ON s.id = p.student_id
        JOIN school_years AS y ON y.id = p.school_year_id
        LEFT JOIN fee_structures AS f ON f.id = p.fee_structure_id
        WHERE p.school_id <> s.school_id OR p.school_id <> y.school_id
           OR f.school_year_id <> p.school_year_id""",
    "a mark in another school than its student, class or term": """
        SELECT m.id FROM marks AS m
        JOIN students AS s ON s.id = m.student_id
        JOIN classes AS c ON c.id = m.class_id
        JOIN terms AS t ON t.id = m.term_id
        WHERE m.school_id <> s.school_id OR m.school_id <> c.school_id
           OR t.school_year_id <> c.school_year_id""",
    "a mark of a student not confirmed in its class": """
        SELECT m.id FROM marks AS m
        WHERE NOT EXISTS (SELECT FROM enrollments AS e WHERE e.student_id = m.student_id
                          AND e.class_id = m.class_id AND e.status = 'confirmed')""",
    "a balance below zero": """
        SELECT student_id, school_year_id FROM payments
        GROUP BY student_id, school_year_id
        HAVING sum(CASE kind WHEN 'refund' THEN -amount ELSE amount END) < 0""",
    "current-year activity after the seeded now": """
        SELECT id FROM payments WHERE paid_at > %(as_of)s
        UNION ALL SELECT id FROM enrollments WHERE updated_at > %(as_of)s
        UNION ALL SELECT id FROM marks WHERE recorded_at > %(as_of)s""",
}


def digest(url: str) -> dict[str, str]:
    """One md5 per seeded table over all its rows, in id order."""
    with psycopg.connect(url) as conn:
        return {
            table: str(
                conn.execute(
                    sql.SQL(
                        "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id),"
                        " ''))"
                        " FROM {} AS t"
                    ).format(sql.Identifier(table))
                ).fetchone()
            )
            for table in COLUMNS
        }


def test_the_tiny_seed_loads_every_table(
    database_url: str, pg: psycopg.Connection
) -> None:
    keys = pg.execute(FOREIGN_KEYS).fetchall()
    report = seed_database(database_url, size="tiny", progress=False)
    assert list(report.counts) == list(COLUMNS)
    for table, count in report.counts.items():
        found = pg.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        assert found == (count,), table
        assert count > 0, table
    assert report.counts["schools"] == 2
    assert 180 <= report.counts["students"] <= 260
    assert report.rows == sum(report.counts.values())
    assert report.seconds < 10
    assert {"plan", "foreign_keys", "analyze", "marks"} <= set(report.table_seconds)
    assert pg.execute(FOREIGN_KEYS).fetchall() == keys  # put back as they were


def test_the_seed_keeps_the_invariants(
    database_url: str, pg: psycopg.Connection
) -> None:
    seed_database(database_url, size="tiny", seed=3, progress=False)
    for invariant, query in INVARIANTS.items():
        broken = pg.execute(query, {"as_of": AS_OF}).fetchall()
        assert broken == [], invariant
    statuses: dict[str, int] = dict(
        pg.execute(
            "SELECT status, count(*) FROM enrollments GROUP BY status"
        ).fetchall()
    )
    assert set(statuses) == {"confirmed", "pending", "cancelled", "transferred"}
    years = pg.execute(
        "SELECT status, count(*) FROM school_years GROUP BY status ORDER BY status"
    ).fetchall()
    assert years == [("active", 2), ("closed", 2)]
    kinds: dict[str, int] = dict(
        pg.execute("SELECT kind, count(*) FROM payments GROUP BY kind").fetchall()
    )
    assert kinds["payment"] > 10 * kinds.get("refund", 0)


def test_the_same_seed_gives_the_same_rows(
    database_url: str, empty_database_url: str
) -> None:
    apply_migrations(empty_database_url)
    seed_database(database_url, size="tiny", seed=7, progress=False)
    seed_database(empty_database_url, size="tiny", seed=7, progress=False)
    assert digest(database_url) == digest(empty_database_url)

    seed_database(empty_database_url, size="tiny", seed=8, progress=False, reset=True)
    other = digest(empty_database_url)
    assert all(other[t] != digest(database_url)[t] for t in ("schools", "payments"))


def test_seeding_twice_is_refused_unless_reset(
    database_url: str, pg: psycopg.Connection
) -> None:
    first = seed_database(database_url, size="tiny", progress=False)
    before = digest(database_url)
    with pytest.raises(
        YekoSqlError, match="already holds 2 schools and a catalog; pass"
    ):
        seed_database(database_url, size="tiny", progress=False)

    again = seed_database(database_url, size="tiny", progress=False, reset=True)

    assert again.counts == first.counts
    assert digest(database_url) == before
    enabled = pg.execute(
        "SELECT tgenabled FROM pg_trigger WHERE tgname = 'payments_reject_change'"
    ).fetchone()
    assert enabled == ("O",)  # the ledger is append-only again
    with pytest.raises(errors.RestrictViolation):
        pg.execute("TRUNCATE payments CASCADE")


def test_seeding_an_unmigrated_database_says_to_migrate(
    empty_database_url: str,
) -> None:
    with pytest.raises(YekoSqlError, match="schema is missing; run 'yeko-sql migrate"):
        seed_database(empty_database_url, size="tiny", progress=False)


def test_an_unknown_size_lists_the_sizes(database_url: str) -> None:
    with pytest.raises(ValueError, match="expected one of tiny, demo, scale"):
        seed_database(database_url, size="huge", progress=False)  # type: ignore[arg-type]
    assert list(SIZES) == ["tiny", "demo", "scale"]


def test_progress_goes_to_stderr_on_one_line(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_database(database_url, size="tiny", progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("\rseed tiny: planning")
    assert "seed tiny: done" in err.rsplit("\r", 1)[1]


def test_seeded_ids_are_nanoid_shaped_and_repeatable() -> None:
    ids = Ids(stream(0, "s")).take(1000)
    assert {len(i) for i in ids} == {21}
    assert set("".join(ids)) <= set(nanoid_alphabet)
    assert len(set(ids)) == 1000
    assert Ids(stream(0, "s")).take(3) == ids[:3]
    one, two = Ids(stream(0, "t")), Ids(stream(0, "t"))
    drawn = [one() for _ in range(300)]
    assert drawn == [two() for _ in range(300)]
    assert len(set(drawn)) == 300
