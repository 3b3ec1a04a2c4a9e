import pickle
from collections.abc import Callable, Sequence

import msgspec
import psycopg
import pytest
from psycopg import errors, sql

from tests.fix_domain import World, new_id
from tests.fix_sqlfiles import SqlDir
from tests.steps import count_students
from yeko_sql.bulk.chunks import ChunkLoadError, ChunkReport, load_in_chunks
from yeko_sql.bulk.copy import columns_of
from yeko_sql.errors import YekoSqlError
from yeko_sql.query.loader import load_queries
from yeko_sql.runtime.database import Database, Transaction

OpenDb = Callable[..., Database]

# -- on Yeko's students table ----------------------------------------------------

STUDENTS = """
-- name: upsert_students_by_id :execrows
INSERT INTO students (id, school_id, matricule, first_name, last_name)
SELECT *
FROM unnest(
    :id::text[],
    :school_id::text[],
    :matricule::text[],
    :first_name::text[],
    :last_name::text[]
)
ON CONFLICT (id) DO UPDATE
SET matricule = excluded.matricule,
    first_name = excluded.first_name;
"""


class Student(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    school_id: str
    matricule: str
    first_name: str
    last_name: str


@pytest.fixture
def students_db(sql_dir: SqlDir, open_db: OpenDb) -> Database:
    sql_dir.write("load.sql", STUDENTS)
    return open_db(load_queries(sql_dir.path), max_size=2)


def make_students(school_id: str, count: int) -> list[Student]:
    return [
        Student(
            id=new_id(),
            school_id=school_id,
            matricule=f"CH{i:03d}",
            first_name="Fatou",
            last_name="Ouattara",
        )
        for i in range(count)
    ]


def upsert_students(tx: Transaction, chunk: Sequence[Student]) -> int:
    count: int = tx.load.upsert_students_by_id(**columns_of(chunk))
    return count


def test_a_failing_chunk_raises_with_the_report_and_nothing_after_it_is_loaded(
    students_db: Database, world: World, pg: psycopg.Connection
) -> None:
    school = world.first.school_id
    before, _ = count_students(pg, school)
    rows = make_students(school, 20)
    # Row 13 (chunk 3 of 0..4) reuses row 2's matricule: a unique violation.
    rows[13] = msgspec.structs.replace(rows[13], matricule="CH002")

    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(students_db, rows, upsert_students, size=4)

    error = raised.value
    assert isinstance(error, YekoSqlError)
    assert isinstance(error.__cause__, errors.UniqueViolation)
    report = error.report
    assert not report.ok
    assert [(c.index, c.start, c.stop, c.rows) for c in report.committed] == [
        (0, 0, 4, 4),
        (1, 4, 8, 4),
        (2, 8, 12, 4),
    ]
    assert (report.rows, report.next_start) == (12, 12)
    failed = error.failure
    assert failed is report.failed
    assert failed.error is error.__cause__
    assert (failed.index, failed.start, failed.stop) == (3, 12, 16)
    assert (failed.sqlstate, failed.constraint, failed.schema, failed.table) == (
        "23505",
        "students_school_id_matricule_key",
        "public",
        "students",
    )
    assert failed.columns == ("school_id", "matricule")
    assert failed.row == 13
    assert failed.key == {"school_id": school, "matricule": "CH002"}
    assert failed.why_no_key is None
    assert [(s.index, s.start, s.stop) for s in report.skipped] == [(4, 16, 20)]
    assert count_students(pg, school) == (before + 12, before + 12)
    assert str(error).startswith(
        "chunk 3 (rows 12-15): UniqueViolation (23505) on "
        "'students_school_id_matricule_key' of table 'public.students', at row 13, "
        f"key (school_id, matricule)=({school!r}, 'CH002'); 3 of 5 chunks (12 rows) "
        "committed, 1 not attempted; fix the rows and load again"
    )

    rows[13] = msgspec.structs.replace(rows[13], matricule="CH013")
    rerun = load_in_chunks(students_db, rows, upsert_students, size=4)

    assert rerun.ok
    rerun.raise_for_failure()
    assert [c.index for c in rerun.committed] == [0, 1, 2, 3, 4]
    assert rerun.next_start == 20
    assert count_students(pg, school) == (before + 20, before + 20)


# -- on a probe table with every kind of constraint -----------------------------

PROBE = """
CREATE TABLE chunk_parents (id text PRIMARY KEY);
INSERT INTO chunk_parents VALUES ('known');
CREATE TABLE chunk_probe (
    id text PRIMARY KEY,
    region text NOT NULL,
    code text NOT NULL,
    n integer NOT NULL CONSTRAINT chunk_probe_n_check CHECK (n >= 0),
    parent_id text REFERENCES chunk_parents (id),
    label varchar(8),
    note text,
    UNIQUE (region, code)
);
CREATE UNIQUE INDEX chunk_probe_label_idx ON chunk_probe (label)
    WHERE label IS NOT NULL;
CREATE UNIQUE INDEX chunk_probe_lower_note_idx ON chunk_probe (lower(note));
GRANT ALL ON chunk_parents, chunk_probe TO PUBLIC;
"""

PROBE_QUERIES = """
-- name: upsert_probes :execrows
INSERT INTO chunk_probe (id, region, code, n, parent_id, label, note)
SELECT *
FROM unnest(
    :id::text[],
    :region::text[],
    :code::text[],
    :n::int[],
    :parent_id::text[],
    :label::text[],
    :note::text[]
)
ON CONFLICT (id) DO UPDATE
SET region = excluded.region,
    code = excluded.code,
    n = excluded.n,
    parent_id = excluded.parent_id,
    label = excluded.label,
    note = excluded.note;

-- name: insert_probes :execrows
INSERT INTO chunk_probe (id, region, code, n, parent_id, label, note)
SELECT *
FROM unnest(
    :id::text[],
    :region::text[],
    :code::text[],
    :n::int[],
    :parent_id::text[],
    :label::text[],
    :note::text[]
);
"""


class Probe(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    code: str
    region: str = "north"
    n: int | None = 0
    parent_id: str | None = None
    label: str | None = None
    note: str | None = None


def open_probe_db(sql_dir: SqlDir, open_db: OpenDb, pg: psycopg.Connection) -> Database:
    pg.execute(PROBE)
    sql_dir.write("probe.sql", PROBE_QUERIES)
    return open_db(load_queries(sql_dir.path), max_size=2)


@pytest.fixture
def probe_db(sql_dir: SqlDir, open_db: OpenDb, pg: psycopg.Connection) -> Database:
    return open_probe_db(sql_dir, open_db, pg)


def probes(count: int) -> list[Probe]:
    return [Probe(id=f"p{i:02d}", code=f"C{i:02d}") for i in range(count)]


class Upserts:
    """``apply`` for the probe table, counting how often it runs."""

    def __init__(self, query: str = "upsert_probes") -> None:
        self.query = query
        self.calls = 0

    def __call__(self, tx: Transaction, chunk: Sequence[Probe]) -> int:
        self.calls += 1
        count: int = getattr(tx.probe, self.query)(**columns_of(chunk))
        return count


def loaded(pg: psycopg.Connection) -> list[str]:
    return [r[0] for r in pg.execute("SELECT id FROM chunk_probe ORDER BY id")]


def test_keep_going_loads_every_chunk_it_can_and_reports_the_others(
    probe_db: Database, pg: psycopg.Connection
) -> None:
    rows = probes(20)
    rows[5] = msgspec.structs.replace(rows[5], n=-1)  # chunk 1: a check
    rows[14] = msgspec.structs.replace(rows[14], parent_id="nobody")  # chunk 3: a FK

    report = load_in_chunks(probe_db, rows, Upserts(), size=4, keep_going=True)

    assert not report.ok
    assert [c.index for c in report.committed] == [0, 2, 4]
    assert report.skipped == []
    assert report.rows == 12
    assert report.next_start == 4
    check, fkey = report.failures
    assert report.failed is check
    assert (check.index, check.row, check.sqlstate, check.constraint) == (
        1,
        5,
        "23514",
        "chunk_probe_n_check",
    )
    assert (check.columns, check.key) == (("n",), {"n": -1})
    assert isinstance(check.error, errors.CheckViolation)
    assert (fkey.index, fkey.row, fkey.sqlstate, fkey.constraint) == (
        3,
        14,
        "23503",
        "chunk_probe_parent_id_fkey",
    )
    assert (fkey.columns, fkey.key) == (("parent_id",), {"parent_id": "nobody"})
    # A failed chunk rolls back whole: its good rows are not loaded either.
    ids = [f"p{i:02d}" for i in (*range(4), *range(8, 12), *range(16, 20))]
    assert loaded(pg) == ids

    with pytest.raises(ChunkLoadError) as raised:
        report.raise_for_failure()
    assert raised.value.failure is check
    assert raised.value.__cause__ is check.error
    assert "2 failed" in str(raised.value)

    rows[5] = msgspec.structs.replace(rows[5], n=5)
    rows[14] = msgspec.structs.replace(rows[14], parent_id="known")
    again = [rows[f.start : f.stop] for f in report.failures]
    for part in again:
        assert load_in_chunks(probe_db, part, Upserts(), size=4).ok
    assert loaded(pg) == [f"p{i:02d}" for i in range(20)]
    # The whole load again: committed rows are updated, never duplicated.
    assert load_in_chunks(probe_db, rows, Upserts(), size=4).rows == 20
    assert loaded(pg) == [f"p{i:02d}" for i in range(20)]


def test_keep_going_still_stops_at_an_error_that_is_not_about_the_rows(
    probe_db: Database, pg: psycopg.Connection
) -> None:
    rows = probes(10)
    rows[2] = msgspec.structs.replace(rows[2], n=None)  # chunk 1: not-null
    upsert = Upserts()

    def apply(tx: Transaction, chunk: Sequence[Probe]) -> int:
        if chunk[0].id == "p04":
            raise RuntimeError("bad row\nsecond line")
        return upsert(tx, chunk)

    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(probe_db, rows, apply, size=2, keep_going=True)

    report = raised.value.report
    assert [c.index for c in report.committed] == [0]
    notnull, python = report.failures
    assert (notnull.sqlstate, notnull.column, notnull.columns, notnull.row) == (
        "23502",
        "n",
        ("n",),
        2,
    )
    assert notnull.key == {"n": None}
    assert raised.value.failure is python
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert (python.index, python.row, python.key) == (2, None, None)
    assert python.why_no_key == "RuntimeError is not an error from PostgreSQL"
    assert [s.index for s in report.skipped] == [3, 4]
    assert str(raised.value) == (
        "chunk 2 (rows 4-5): RuntimeError: bad row; 1 of 5 chunks (2 rows) "
        "committed, 2 failed, 2 not attempted; fix the cause and load again (with "
        "an upsert apply, the committed rows are updated, not duplicated)"
    )
    assert loaded(pg) == ["p00", "p01"]


def test_keep_going_stops_at_a_server_error_that_every_chunk_would_meet(
    probe_db: Database,
) -> None:
    def apply(tx: Transaction, chunk: Sequence[Probe]) -> int:
        return tx.execute("UPDATE no_such_table SET n = 1")

    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(probe_db, probes(6), apply, size=2, keep_going=True)
    failed = raised.value.failure
    assert isinstance(raised.value.__cause__, errors.UndefinedTable)
    assert (failed.index, failed.sqlstate, failed.row, failed.key) == (
        0,
        "42P01",
        None,
        None,
    )
    assert failed.why_no_key == "UndefinedTable (42P01) is not about the rows' values"
    assert [s.index for s in raised.value.report.skipped] == [1, 2]
    assert "; fix the cause and load again" in str(raised.value)


def test_the_failing_row_is_the_later_of_two_rows_of_one_chunk_that_conflict(
    probe_db: Database,
) -> None:
    rows = probes(8)
    rows[6] = msgspec.structs.replace(rows[6], code="C05")  # clashes with row 5
    insert = Upserts("insert_probes")

    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(probe_db, rows, insert, size=8)

    failed = raised.value.failure
    assert (failed.constraint, failed.row) == ("chunk_probe_region_code_key", 6)
    assert failed.key == {"region": "north", "code": "C05"}
    # The load, then the whole chunk again, then log2(8) = 3 prefixes.
    assert insert.calls == 1 + 1 + 3


def test_a_unique_index_that_is_no_constraint_gives_its_columns(
    probe_db: Database,
) -> None:
    rows = probes(6)
    rows[1] = msgspec.structs.replace(rows[1], label="6e A")
    rows[4] = msgspec.structs.replace(rows[4], label="6e A")

    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(probe_db, rows, Upserts(), size=3)

    failed = raised.value.failure
    assert (failed.constraint, failed.columns, failed.row, failed.key) == (
        "chunk_probe_label_idx",
        ("label",),
        4,
        {"label": "6e A"},
    )


def test_a_key_that_cannot_be_known_is_reported_as_unknown_with_the_reason(
    probe_db: Database,
) -> None:
    rows = probes(4)
    rows[3] = msgspec.structs.replace(rows[3], note="Kouassi")
    rows[2] = msgspec.structs.replace(rows[2], note="KOUASSI")
    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(probe_db, rows, Upserts(), size=4)
    failed = raised.value.failure
    assert (failed.constraint, failed.row, failed.columns, failed.key) == (
        "chunk_probe_lower_note_idx",
        3,
        (),
        None,
    )
    assert failed.why_no_key == (
        "index 'chunk_probe_lower_note_idx' has expressions, not only columns"
    )

    rows = probes(4)
    rows[1] = msgspec.structs.replace(rows[1], label="too long for varchar(8)")
    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(probe_db, rows, Upserts(), size=4)
    failed = raised.value.failure
    assert (failed.sqlstate, failed.row, failed.key) == ("22001", 1, None)
    assert failed.why_no_key == "the error names no constraint or column"

    def as_tuples(tx: Transaction, chunk: Sequence[tuple[str, str]]) -> int:
        return Upserts()(tx, [Probe(id=i, code=c) for i, c in chunk])

    pairs = [("t0", "T0"), ("t1", "T0")]
    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(probe_db, pairs, as_tuples)
    failed = raised.value.failure
    assert (failed.row, failed.columns, failed.key) == (1, ("region", "code"), None)
    assert failed.why_no_key == "row 1 is a tuple with no field 'region'"


def test_a_failure_that_does_not_happen_again_is_not_pinned_on_a_row(
    probe_db: Database,
) -> None:
    upsert = Upserts()
    calls: list[int] = []

    def flaky(tx: Transaction, chunk: Sequence[Probe]) -> int:
        calls.append(len(chunk))
        if len(calls) == 1:
            tx.execute("SELECT 1 / 0")
        return upsert(tx, chunk)

    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(probe_db, probes(4), flaky)
    failed = raised.value.failure
    assert (failed.sqlstate, failed.row, failed.key) == ("22012", None, None)
    assert failed.why_no_key == "the chunk did not fail when run again"


def test_find_row_false_never_runs_apply_again(probe_db: Database) -> None:
    rows = probes(4)
    rows[2] = msgspec.structs.replace(rows[2], n=-2)
    upsert = Upserts()
    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(probe_db, rows, upsert, find_row=False)
    failed = raised.value.failure
    assert upsert.calls == 1
    assert (failed.constraint, failed.columns, failed.row, failed.key) == (
        "chunk_probe_n_check",
        ("n",),
        None,
        None,
    )
    assert failed.why_no_key == "find_row=False: the chunk was not run again"


def test_a_deferred_constraint_that_fails_at_commit_is_located(
    probe_db: Database, pg: psycopg.Connection
) -> None:
    pg.execute(
        "ALTER TABLE chunk_probe ALTER CONSTRAINT chunk_probe_parent_id_fkey"
        " DEFERRABLE INITIALLY DEFERRED"
    )
    rows = probes(6)
    rows[4] = msgspec.structs.replace(rows[4], parent_id="nobody")
    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(probe_db, rows, Upserts())
    failed = raised.value.failure
    assert (failed.constraint, failed.row, failed.key) == (
        "chunk_probe_parent_id_fkey",
        4,
        {"parent_id": "nobody"},
    )
    assert loaded(pg) == []


# -- the key comes from the error's fields, never its translated text ----------

FRENCH_UNIQUE = """
CREATE FUNCTION chunk_probe_as_in_french() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM chunk_probe
        WHERE region = NEW.region AND code = NEW.code AND id <> NEW.id
    ) THEN
        RAISE unique_violation USING
            MESSAGE = 'la valeur d''une clé dupliquée rompt la contrainte unique '
                      '« chunk_probe_region_code_key »',
            DETAIL = format('La clé « (region, code)=(%s, %s) » existe déjà.',
                            NEW.region, NEW.code),
            CONSTRAINT = 'chunk_probe_region_code_key',
            TABLE = 'chunk_probe',
            SCHEMA = 'public';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER chunk_probe_as_in_french BEFORE INSERT ON chunk_probe
    FOR EACH ROW EXECUTE FUNCTION chunk_probe_as_in_french();
"""


def test_the_key_is_found_when_the_server_speaks_french(
    probe_db: Database, pg: psycopg.Connection
) -> None:
    """A server with ``lc_messages = 'fr_FR.UTF-8'`` sends these very fields.

    A trigger raises them, since the machine may have no French locale; the
    text parser this replaced found no key in them.
    """
    pg.execute(FRENCH_UNIQUE)
    rows = probes(12)
    rows[9] = msgspec.structs.replace(rows[9], code="C01")
    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(probe_db, rows, Upserts(), size=4)
    cause = raised.value.__cause__
    assert isinstance(cause, errors.UniqueViolation)
    detail = "La clé « (region, code)=(north, C01) » existe déjà."
    assert cause.diag.message_detail == detail
    failed = raised.value.failure
    assert (failed.index, failed.row, failed.constraint) == (
        2,
        9,
        "chunk_probe_region_code_key",
    )
    assert failed.key == {"region": "north", "code": "C01"}


def test_the_key_is_found_with_the_servers_own_french_messages(
    sql_dir: SqlDir, open_db: OpenDb, pg: psycopg.Connection
) -> None:
    dbname = sql.Identifier(pg.info.dbname)
    try:
        pg.execute(
            sql.SQL("ALTER DATABASE {} SET lc_messages = 'fr_FR.UTF-8'").format(dbname)
        )
    except errors.InvalidParameterValue:
        pytest.skip("the server has no fr_FR.UTF-8 locale")
    db = open_probe_db(sql_dir, open_db, pg)  # connects after the ALTER
    rows = probes(8)
    rows[6] = msgspec.structs.replace(rows[6], code="C02")

    report = load_in_chunks(db, rows, Upserts(), size=4, keep_going=True)

    (failed,) = report.failures
    assert isinstance(failed.error, errors.UniqueViolation)
    assert "existe déjà" in (failed.error.diag.message_detail or "")
    assert (failed.row, failed.key) == (6, {"region": "north", "code": "C02"})


# -- the report and the error ---------------------------------------------------


def test_a_chunked_load_of_nothing_commits_nothing(probe_db: Database) -> None:
    report = load_in_chunks(probe_db, [], Upserts())
    assert (report.ok, report.committed, report.rows, report.next_start) == (
        True,
        [],
        0,
        0,
    )
    with pytest.raises(ValueError, match="size must be positive"):
        load_in_chunks(probe_db, [], Upserts(), size=0)


def test_the_error_pickles_with_its_report(probe_db: Database) -> None:
    rows = probes(3)
    rows[1] = msgspec.structs.replace(rows[1], n=-1)
    with pytest.raises(ChunkLoadError) as raised:
        load_in_chunks(probe_db, rows, Upserts(), size=2)
    again = pickle.loads(pickle.dumps(raised.value))  # noqa: S301  (our own bytes)
    assert isinstance(again, ChunkLoadError)
    assert isinstance(again.report, ChunkReport)
    assert again.failure.key == {"n": -1}
    assert isinstance(again.failure.error, errors.CheckViolation)
    assert again.failure.error.diag.constraint_name == "chunk_probe_n_check"
    assert str(again) == str(raised.value)
